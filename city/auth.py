"""Signing in: a session for the browsable API, and API tokens for programs.

- `POST /api/auth/login/` (Django's LoginView, DRF's login page): a session; without
  `?next=` it lands on the API root (LOGIN_REDIRECT_URL).
- `POST /api/auth/logout/`: ends the session and answers JSON (GET is a 405).
- `POST /api/auth/token/` with a username and a password: the user's API token (made on
  first use); `DELETE /api/auth/token/`: revokes it. Requests are throttled per client
  (the `login` scope, THROTTLE_LOGIN).

Login and logout are the `rest_framework` namespace's URLs, which the browsable API's
"Log in" link and "Log out" form use.

Every way in (these two and the admin's login page) goes through django-axes: after
LOGIN_FAILURE_LIMIT failed sign-ins for one username, or from one client address, within
LOGIN_LOCKOUT_MINUTES, that username and that address are refused with a 429 until
LOGIN_LOCKOUT_MINUTES have passed since the last failure, even with the right password.
The failures are rows of axes' table in the shared database, so every replica and worker
counts the same ones. A lockout is answered in the error contract (`locked_out`) to the
API, and with a page saying to wait to a person in a browser (`lockout_response`), and is
logged (`sign_in_locked_out`). A sign-in that succeeds forgets the failures of that
username from that address (not all of the address's, which one's own account would let
a guesser wipe). The client address is `city.client_address`: the connection's, or, behind
proxies listed in CITY_TRUSTED_PROXIES, the one they saw (X-Forwarded-For).
"""

from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import authenticate, logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import LoginView
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from city.errors import CityError, ErrorSerializer, error_body
from city.logging import get_logger
from city.throttles import LoginRateThrottle

log = get_logger(__name__)


def login_view():
    return LoginView.as_view(template_name="rest_framework/login.html")


class InvalidCredentials(exceptions.AuthenticationFailed):
    # The same answer whether the user exists or not, is inactive or mistyped the password.
    default_code = "invalid_credentials"
    default_detail = "Those credentials are not valid: check the username and the password."


class LockedOut(CityError):
    """Too many failed sign-ins for the username or from the client: refused for a while."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"
    default_detail = "Too many failed sign-ins."

    def __init__(self):
        minutes = settings.LOGIN_LOCKOUT_MINUTES
        super().__init__(
            lockout_message(),
            details={
                "retry_after": minutes * 60,
                "failure_limit": settings.LOGIN_FAILURE_LIMIT,
                "lockout_minutes": minutes,
            },
        )
        self.wait = minutes * 60  # DRF's exception handler sends it as Retry-After


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A resident's credentials",
            value={"username": "grace", "password": "navy-cobol-1906"},
            request_only=True,
        )
    ]
)
class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)  # a username's longest (auth.User)
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class LoggedOutSerializer(serializers.Serializer):
    message = serializers.CharField()
    login = serializers.URLField(help_text="Where to sign in again.")


class TokenView(APIView):
    """Your API token: obtained with your username and password, revoked when you wish."""

    name = "API token"
    serializer_class = CredentialsSerializer  # the browsable API's form for POST

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_throttles(self):
        if self.request.method == "POST":
            return [LoginRateThrottle()]
        return super().get_throttles()

    def perform_authentication(self, request):
        # Credentials in the body are what a POST is about: a token sent along (perhaps
        # the revoked one it replaces) is not looked at. DELETE authenticates as usual.
        if request.method != "POST":
            super().perform_authentication(request)

    @extend_schema(
        summary="Obtain your API token",
        description=(
            "Your existing token, or a new one when you have none. The same 401 answers a "
            "wrong password and an unknown username. Throttled per client (THROTTLE_LOGIN); "
            "after LOGIN_FAILURE_LIMIT failures for a username or from a client, both are "
            "refused for LOGIN_LOCKOUT_MINUTES with a 429 `locked_out`, even the right "
            "password."
        ),
        request=CredentialsSerializer,
        responses={
            200: TokenSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            429: ErrorSerializer,
        },
        auth=[],
    )
    def post(self, request):
        given = CredentialsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = authenticate(request._request, **given.validated_data)
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise LockedOut()
            raise InvalidCredentials()
        # No session is made, so no user_logged_in signal: forget the failures here.
        forget_failures(request._request, user.get_username())
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(
        summary="Revoke your API token",
        description="The token stops working at once; POST gives you a new one.",
        request=None,
        responses={204: None, 401: ErrorSerializer},
    )
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutView(APIView):
    """Ends the session of the browsable API; a POST, so no link or image can log you out."""

    name = "Log out"
    permission_classes = (AllowAny,)

    @extend_schema(summary="Log out (end the session)", request=None, responses=LoggedOutSerializer)
    def post(self, request):
        logout(request)  # DRF's request: its user, shown on the page, becomes anonymous too
        return Response(
            {
                "message": "You are logged out.",
                "login": reverse("rest_framework:login", request=request),
            }
        )


# --- the lockout (django-axes) ------------------------------------------------------------


class LockoutBackend(AxesStandaloneBackend):
    """axes' check, first of AUTHENTICATION_BACKENDS: a locked-out username or client is
    refused before any password is hashed.

    Every sign-in City serves passes its request. A call without one (the test client's
    `login()`, a shell) is no client's sign-in, so there is nothing to count: it is left to
    the next backend, where axes' own backend would raise.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def failure_limit(request, credentials) -> int:
    """AXES_FAILURE_LIMIT: failures before a lockout (LOGIN_FAILURE_LIMIT)."""
    return settings.LOGIN_FAILURE_LIMIT


def cool_off(request) -> timedelta:
    """AXES_COOLOFF_TIME: how long a lockout lasts after the last failure."""
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def lockout_message() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return (
        "Too many failed sign-ins for this username or from this address: wait "
        f"{minutes} minute{'' if minutes == 1 else 's'}, then try again."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the 429 that replaces the answer to a locked-out sign-in.

    The token endpoint has already answered in the contract (LockedOut) and keeps its
    answer; the session login answers in the contract to a client that asks for JSON;
    a person (the browsable API's login form, the admin's) gets a page saying to wait.
    """
    if original_response is not None and original_response.status_code == 429:
        return original_response
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        exc = LockedOut()
        response = JsonResponse(error_body(exc.default_code, str(exc.detail), exc.details))
    else:
        context = {"message": lockout_message(), "minutes": minutes}
        response = render(request, "city/sign_in_locked_out.html", context)
    response.status_code = status.HTTP_429_TOO_MANY_REQUESTS
    response["Retry-After"] = str(minutes * 60)
    return response


def forget_failures(request: HttpRequest, username: str) -> None:
    """A sign-in succeeded: the failures of this username from this client are forgotten.
    Not the client's failures under other usernames, nor this username's from elsewhere:
    a guesser who owns an account could otherwise wipe its count by signing in to it."""
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.reset_attempts(ip_address=request.axes_ip_address, username=username)


@receiver(user_logged_in, dispatch_uid="city.auth.forget_failures")
def _forget_failures_on_login(sender, request, user, **kwargs):
    if request is not None:  # a session made in a test or a shell has no client
        forget_failures(request, user.get_username())


@receiver(user_locked_out, dispatch_uid="city.auth.log_lockout")
def _log_lockout(sender, request, username, ip_address, **kwargs):
    log.warning(
        "sign_in_locked_out",
        username=username,
        client=ip_address,
        path=request.path,
        failure_limit=settings.LOGIN_FAILURE_LIMIT,
        lockout_minutes=settings.LOGIN_LOCKOUT_MINUTES,
    )
