"""The service credential: how one City service calls another, for a user or for itself.

A call across a split (city.peers.PeerClient) carries `Authorization: CityService <token>`,
never a user's token or cookie. The token is signed with CITY_SERVICE_KEY, a secret every
deployment of one City shares and no user ever holds (django.core.signing, with a salt of
its own, so nothing else signed with that key passes for it). It names the calling
deployment's services, the user the call acts for (none for a call on the service's own
behalf) and the one request it was made for: its method, its path with the query string
and the SHA-256 of its body, so a token seen on one request is refused on any other. It
is good for MAX_AGE_SECONDS after it was issued, and refused when issued more than
CLOCK_SKEW_SECONDS in the future. Keys listed in CITY_SERVICE_KEY_FALLBACKS are still
accepted, so the key changes without a refused call.

The peer's ServiceCredentialAuthentication (in REST_FRAMEWORK's defaults) verifies it and
authenticates the request as that user, so the peer's own permission checks apply to them
as if they had asked themselves; `request.auth` is then a ServiceCall, which says the
request came through a service and which one.

A view opens itself to calling services per method with `service_callers`
(`{"GET": {"leasing"}}`); every other view and method refuses a service credential (403
`service_not_allowed`). That guards against mistakes — a service calling an endpoint not
meant for services, or not meant for it — and is no boundary between services: every
deployment signs with the same key and writes its own service names into the token, so a
deployment holding the key can say it is any service. A City that needs such a boundary
gives each calling service a key of its own, held only by the services it calls (or signs
with a private key per service and verifies with its public key); this module does not.

A forged, expired, future or malformed credential, one made for another request, a user
who does not exist, and a deployment without CITY_SERVICE_KEY to verify with: 401
`invalid_service_credential` (the last one logged for the operators, `service_key_missing`,
and answered as "not valid", which tells the caller nothing of the deployment).

A user who is inactive is still the one the call acts for: whether they may sign in is
the calling service's business, and the upkeep must still end what they were granted
(an expired application's grant to its manager), as it does where both run in one process.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from city.logging import get_logger

logger = get_logger(__name__)

SCHEME = "CityService"
SALT = "city.service-credential"
# A token is made for one call and verified when the peer receives it. The caller gives up
# after CITY_PEER_TIMEOUT_SECONDS (5) of each of connecting, sending and waiting, so a call
# older than this is one nobody waits for; what is left covers HAProxy's queue and the
# hosts' clocks. Shorter is better: until then a token seen can be sent again, unchanged.
MAX_AGE_SECONDS = 20
# How far ahead of this host's clock the caller's may be.
CLOCK_SKEW_SECONDS = 5


class ServiceKeyMissing(Exception):
    """This deployment has no CITY_SERVICE_KEY, so it can neither issue nor verify."""

    def __init__(self):
        super().__init__(
            "CITY_SERVICE_KEY is not set: a deployment without every service needs the "
            "secret its services share to call each other (see .env.example)."
        )


@dataclass(frozen=True)
class ServiceCall:
    """What a service credential says, and request.auth of a request a service made: who
    called, for whom, and the one request it was made for."""

    services: tuple[str, ...]  # the calling deployment's services, as it names them itself
    acting_user_id: int | None  # None: the service asks on its own behalf
    method: str
    path: str  # with its query string, as the peer receives it
    body_sha256: str  # hex; of b"" for a request without a body

    @classmethod
    def of(
        cls,
        *,
        services: tuple[str, ...],
        acting_user_id: int | None,
        method: str,
        path: str,
        body: bytes,
    ) -> "ServiceCall":
        return cls(
            services=tuple(services),
            acting_user_id=acting_user_id,
            method=method,
            path=path,
            body_sha256=body_digest(body),
        )

    def payload(self) -> dict:
        """What is signed."""
        return {
            "services": list(self.services),
            "user": self.acting_user_id,
            "method": self.method,
            "path": self.path,
            "body": self.body_sha256,
        }

    @classmethod
    def from_payload(cls, payload: dict) -> "ServiceCall":
        return cls(
            services=tuple(payload["services"]),
            acting_user_id=payload["user"],
            method=payload["method"],
            path=payload["path"],
            body_sha256=payload["body"],
        )


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def authorization(*, acting_user_id: int | None, method: str, path: str, body: bytes) -> str:
    """The Authorization header of one call by this deployment, acting for that user:
    `method` to `path` (with its query string) with `body`, exactly as they are sent."""
    call = ServiceCall.of(
        services=settings.CITY_SERVICES,
        acting_user_id=acting_user_id,
        method=method,
        path=path,
        body=body,
    )
    return f"{SCHEME} {signing.dumps(call.payload(), key=_key(), salt=SALT)}"


def verify(token: str) -> ServiceCall:
    """The call a token stands for; AuthenticationFailed if it is not one this City signed
    within MAX_AGE_SECONDS (nor later than CLOCK_SKEW_SECONDS from now)."""
    try:
        payload = signing.loads(
            token,
            key=_key(),
            fallback_keys=settings.CITY_SERVICE_KEY_FALLBACKS,
            salt=SALT,
            max_age=MAX_AGE_SECONDS,
        )
        call = ServiceCall.from_payload(payload)
    except ServiceKeyMissing as error:
        logger.error("service_key_missing", error=str(error))
        raise _not_valid() from error
    except signing.SignatureExpired as error:
        raise _invalid("The service credential has expired.") from error
    except (signing.BadSignature, KeyError, TypeError) as error:
        raise _not_valid() from error
    if _issued_at(token) > time.time() + CLOCK_SKEW_SECONDS:
        raise _invalid("The service credential is issued in the future.")
    return call


def _issued_at(token: str) -> int:
    """When a verified token was signed: TimestampSigner's field before the signature."""
    return signing.b62_decode(token.rsplit(":", 2)[1])


def _key() -> str:
    if not settings.CITY_SERVICE_KEY:
        raise ServiceKeyMissing()
    return settings.CITY_SERVICE_KEY


def _invalid(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code="invalid_service_credential")


def _not_valid() -> exceptions.AuthenticationFailed:
    return _invalid("The service credential is not valid.")


class ServiceCredentialAuthentication(BaseAuthentication):
    """`Authorization: CityService <token>`: the acting user, as a service asked for them."""

    def authenticate(self, request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme != SCHEME:
            return None  # someone's own credentials: the other classes look at them
        call = verify(token.strip())
        received = f"{request.method} {request.get_full_path()}"
        if (call.method, call.path) != (request.method, request.get_full_path()):
            raise _made_for_another(call, received)
        _require_open_to(request, call)
        # Last, so the body is read only where a service may send one.
        if call.body_sha256 != body_digest(request.body):
            raise _made_for_another(call, f"{received} with another body")
        return _acting_user(call), call

    def authenticate_header(self, request) -> str:
        return SCHEME


def _made_for_another(call: ServiceCall, received: str) -> exceptions.AuthenticationFailed:
    return _invalid(
        f"The service credential was made for {call.method} {call.path}, not {received}."
    )


def _require_open_to(request, call: ServiceCall) -> None:
    """A view is closed to service credentials unless its `service_callers` opens the
    method to one of the calling services."""
    view = request.parser_context.get("view")
    open_to = getattr(view, "service_callers", {}).get(request.method, set())
    if not open_to.intersection(call.services):
        raise exceptions.PermissionDenied(
            f"{request.method} {request.path} is not open to calls from {'+'.join(call.services)}.",
            code="service_not_allowed",
        )


def _acting_user(call: ServiceCall):
    # Imported here: DRF loads this class with its settings, before the models are ready.
    from django.contrib.auth.models import AnonymousUser

    if call.acting_user_id is None:
        return AnonymousUser()
    user = get_user_model().objects.filter(pk=call.acting_user_id).first()
    if user is None:
        raise _invalid(f"User {call.acting_user_id} does not exist.")
    return user


class IsServiceCall(BasePermission):
    """Asked by a service with a valid credential (the view opened itself to it)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ServiceCall)
