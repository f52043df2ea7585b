"""The service credential: how one City service calls another, for a user or for itself.

A call across a split (city.peers.PeerClient) carries `Authorization: CityService <token>`,
never a user's token or cookie. The token is signed with CITY_SERVICE_KEY, a secret every
deployment of one City shares and no user ever holds (django.core.signing, with a salt of
its own, so nothing else signed with that key passes for it). It names the calling
deployment's services and the user the call acts for (none for a call on the service's
own behalf), and the time it was issued: it is good for MAX_AGE_SECONDS. Keys listed in
CITY_SERVICE_KEY_FALLBACKS are still accepted, so the key changes without a refused call.

The peer's ServiceCredentialAuthentication (in REST_FRAMEWORK's defaults) verifies it and
authenticates the request as that user, so the peer's own permission checks apply to them
as if they had asked themselves; `request.auth` is then a ServiceCall, which says the
request came through a service and which one.

Scoped: a view opens itself to calling services per method with `service_callers`
(`{"GET": {"leasing"}}`); every other view and method refuses a service credential (403
`service_not_allowed`). A forged, expired or malformed credential, a user who does not
exist, and a deployment without CITY_SERVICE_KEY to verify with: 401
`invalid_service_credential`.

A user who is inactive is still the one the call acts for: whether they may sign in is
the calling service's business, and the upkeep must still end what they were granted
(an expired application's grant to its manager), as it does where both run in one process.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

SCHEME = "CityService"
SALT = "city.service-credential"
# Long enough for a call through the load balancer; short, so a token seen is soon useless.
MAX_AGE_SECONDS = 60


class ServiceKeyMissing(Exception):
    """This deployment has no CITY_SERVICE_KEY, so it can neither issue nor verify."""

    def __init__(self):
        super().__init__(
            "CITY_SERVICE_KEY is not set: a deployment without every service needs the "
            "secret its services share to call each other (see .env.example)."
        )


@dataclass(frozen=True)
class ServiceCall:
    """request.auth of a request a service made: who called, for whom."""

    services: tuple[str, ...]  # the calling deployment's services
    acting_user_id: int | None  # None: the service asks on its own behalf


def authorization(*, acting_user_id: int | None) -> str:
    """The Authorization header of a call by this deployment, acting for that user."""
    payload = {"services": list(settings.CITY_SERVICES), "user": acting_user_id}
    return f"{SCHEME} {signing.dumps(payload, key=_key(), salt=SALT)}"


def verify(token: str) -> ServiceCall:
    """The call a token stands for; AuthenticationFailed if it is not one this City signed
    within MAX_AGE_SECONDS."""
    try:
        payload = signing.loads(
            token,
            key=_key(),
            fallback_keys=settings.CITY_SERVICE_KEY_FALLBACKS,
            salt=SALT,
            max_age=MAX_AGE_SECONDS,
        )
    except ServiceKeyMissing as error:
        raise _invalid(f"This service cannot verify service credentials: {error}") from error
    except signing.SignatureExpired as error:
        raise _invalid("The service credential has expired.") from error
    except signing.BadSignature as error:
        raise _invalid("The service credential is not valid.") from error
    return ServiceCall(services=tuple(payload["services"]), acting_user_id=payload["user"])


def _key() -> str:
    if not settings.CITY_SERVICE_KEY:
        raise ServiceKeyMissing()
    return settings.CITY_SERVICE_KEY


def _invalid(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code="invalid_service_credential")


class ServiceCredentialAuthentication(BaseAuthentication):
    """`Authorization: CityService <token>`: the acting user, as a service asked for them."""

    def authenticate(self, request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme != SCHEME:
            return None  # someone's own credentials: the other classes look at them
        call = verify(token.strip())
        _require_open_to(request, call)
        return _acting_user(call), call

    def authenticate_header(self, request) -> str:
        return SCHEME


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
