"""Signing in: a session for the browsable API, and API tokens for programs.

- `POST /api/auth/login/` (Django's LoginView, DRF's login page): a session; without
  `?next=` it lands on the API root (LOGIN_REDIRECT_URL).
- `POST /api/auth/logout/`: ends the session and answers JSON (GET is a 405).
- `POST /api/auth/token/` with a username and a password: the user's API token (made on
  first use); `DELETE /api/auth/token/`: revokes it. Guesses are throttled per client
  (the `login` scope, THROTTLE_LOGIN).

Login and logout are the `rest_framework` namespace's URLs, which the browsable API's
"Log in" link and "Log out" form use.
"""

from django.contrib.auth import authenticate, logout
from django.contrib.auth.views import LoginView
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from city.errors import ErrorSerializer


def login_view():
    return LoginView.as_view(template_name="rest_framework/login.html")


class InvalidCredentials(exceptions.AuthenticationFailed):
    # The same answer whether the user exists or not, is inactive or mistyped the password.
    default_code = "invalid_credentials"
    default_detail = "Those credentials are not valid: check the username and the password."


class LoginRateThrottle(SimpleRateThrottle):
    """Token requests per client address, whoever the request claims to be: a guesser
    cannot spread guesses over many usernames, nor reset its count by naming another."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


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
    username = serializers.CharField()
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
            "wrong password and an unknown username. Throttled per client (THROTTLE_LOGIN)."
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
            raise InvalidCredentials()
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
