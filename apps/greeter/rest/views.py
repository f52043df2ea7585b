from collections.abc import Mapping

from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apps.greeter import greetings, selectors, services
from apps.greeter.counters import greeting_counter
from apps.greeter.rest import serializers
from city.errors import ErrorSerializer
from city.throttles import AnonRateThrottle, ScopedRateThrottle


class GreetView(APIView):
    """The front door's greeting: the hot path, so no database, session or throttle.

    Abuse of an anonymous, read-only, cacheable endpoint is limited at the edge (the load
    balancer), where one limit covers every replica.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        summary="Greet a newcomer",
        parameters=[
            OpenApiParameter("name", str, required=True, description="Who to greet."),
            OpenApiParameter(
                "lang",
                str,
                enum=greetings.SUPPORTED_LANGUAGES,
                description="Language; without it, Accept-Language decides, else English.",
            ),
        ],
        responses={200: serializers.GreetingSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        return Response(greeting_for(request.GET, request.META))

    def finalize_response(self, request, response, *args, **kwargs):
        patch_vary_headers(response, ["Accept-Language"])  # errors too, as the hot route
        return super().finalize_response(request, response, *args, **kwargs)


def greeting_for(params: Mapping[str, str], meta: Mapping[str, str]) -> dict:
    """The greeting asked for; a ValidationError says what is wrong with the request.

    Also the hot route of GET /api/greeter/greet (city.hot_routes), registered by the app.
    """
    try:
        name = greetings.clean_name(params.get("name"))
        language = _requested_language(params.get("lang"), meta.get("HTTP_ACCEPT_LANGUAGE", ""))
    except greetings.GreetingError as error:
        raise ValidationError({error.field: [str(error)]}) from error
    greeting_counter().increment(language)
    return {"message": greetings.greeting(name, language), "lang": language}


def _requested_language(lang: str | None, accept_language: str) -> str:
    if lang is not None:
        return greetings.clean_language(lang)
    return greetings.negotiate_language(accept_language)


class GreetingCountsView(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(
        summary="Greetings served, per language",
        responses={200: serializers.GreetingCountsSerializer, 503: ErrorSerializer},
    )
    def get(self, request):
        counter = greeting_counter()
        return Response({"scope": counter.scope, "greetings_by_language": counter.counts()})


class NewcomerRegistrationView(generics.GenericAPIView):
    permission_classes = (AllowAny,)
    throttle_classes = (AnonRateThrottle, ScopedRateThrottle)
    throttle_scope = "registration"
    serializer_class = serializers.RegistrationInputSerializer  # the browsable API's form

    @extend_schema(
        summary="Register a newcomer as a resident",
        request=serializers.RegistrationInputSerializer,
        responses={201: serializers.RegistrationSerializer, 409: ErrorSerializer},
    )
    def post(self, request):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        registration = services.newcomer_register(**given.validated_data)
        return Response(
            serializers.RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED
        )


class NewcomerMeView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Your profile and greetings",
        responses={200: serializers.NewcomerProfileSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        newcomer = selectors.newcomer_for_user_id(user_id=request.user.pk)
        if newcomer is None:
            raise NotFound("You are not registered as a newcomer.")
        profile = {
            "user": newcomer.user,
            "language": newcomer.language,
            "registered_at": newcomer.registered_at,
            "greetings": selectors.welcomes_for_user_id(user_id=request.user.pk),
        }
        return Response(serializers.NewcomerProfileSerializer(profile).data)


class GreeterRootView(APIView):
    """The greeter's endpoints, linked: where a person browsing the API finds them."""

    name = "Greeter"
    permission_classes = (AllowAny,)

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(
            {
                key: reverse(f"greeter:{name}", request=request)
                for key, name in (
                    ("greet", "greet"),
                    ("greetings/counts", "greeting-counts"),
                    ("newcomers", "newcomer-register"),
                    ("newcomers/me", "newcomer-me"),
                )
            }
        )
