"""Calls between services: in-process when the peer is installed here, over HTTP when not.

An app's api.py is the one surface other apps call. Behind it, `local_or_remote` is the
one delegation point: it gives the app's own implementation when the service is
installed in this deployment, and an HTTP client to the service (through the load
balancer at CITY_PEER_URL) when it is not. The client carries a service credential
(city.service_credentials) made for that one request and naming the user the call acts
for, so the peer applies its own permissions to that user, whether a request, a task or a
command makes the call; and the request id. It waits CITY_PEER_TIMEOUT_SECONDS at most,
and turns a peer that is down, or that refuses the credential, into a clear 503.
"""

import functools
from typing import TypeVar

import httpx
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import ValidationError

from city import service_credentials
from city.errors import CityError
from city.request_id import HEADER, current_request_id

T = TypeVar("T")


class PeerUnavailable(CityError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "peer_unavailable"
    default_detail = "A service this request needs is unavailable; try again shortly."


def local_or_remote(service: str, *, local: T, remote: T) -> T:
    """The implementation of `service` for this deployment."""
    return local if service in settings.CITY_SERVICES else remote


class PeerClient:
    """JSON over HTTP to another service, for `acting_user_id` (None: for this service)."""

    def __init__(self, service: str, *, acting_user_id: int | None):
        self.service = service
        self.acting_user_id = acting_user_id

    def get(self, path: str) -> dict | None:
        """The JSON at `path`, or None when the peer answers 404 (nothing the caller may see)."""
        return self._send("GET", path, expect=status.HTTP_200_OK)

    def post(self, path: str, data: dict, *, expect: int = status.HTTP_200_OK) -> dict | None:
        """POST `data` as JSON; the answer's JSON, or None when the peer answers 404.

        A 400 from the peer is the caller's mistake: raised as the peer's validation error."""
        return self._send("POST", path, json=data, expect=expect)

    def _send(self, method: str, path: str, *, expect: int, json: dict | None = None):
        request = _http().build_request(method, f"{settings.CITY_PEER_URL}{path}", json=json)
        try:
            # For this request as it is sent: its method, path and query, and body.
            request.headers["Authorization"] = service_credentials.authorization(
                acting_user_id=self.acting_user_id,
                method=request.method,
                path=request.url.raw_path.decode("ascii"),
                body=request.content,
            )
        except service_credentials.ServiceKeyMissing as error:
            raise self._unavailable(str(error)) from error
        if request_id := current_request_id():
            request.headers[HEADER] = request_id
        try:
            response = _http().send(request)
        except httpx.HTTPError as error:
            raise self._unavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code == status.HTTP_404_NOT_FOUND:
            return None
        if response.status_code == status.HTTP_400_BAD_REQUEST and method != "GET":
            raise ValidationError(_error_details(response))
        if response.status_code != expect:
            raise self._unavailable(f"it answered {response.status_code} to {method} {path}")
        return response.json()

    def _unavailable(self, reason: str) -> PeerUnavailable:
        return PeerUnavailable(
            f"The {self.service} service is unavailable ({reason}).",
            details={"service": self.service},
        )


def _error_details(response: httpx.Response):
    """The details of an error in City's contract, or the whole body when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {"peer": [response.text[:200]]}
    return body.get("error", {}).get("details") or body


@functools.cache
def _http() -> httpx.Client:
    """One pooled client per process: connections to the load balancer are kept alive."""
    return httpx.Client(timeout=settings.CITY_PEER_TIMEOUT_SECONDS)
