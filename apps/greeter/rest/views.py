from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from apps.greeter import greetings, selectors, services
from apps.greeter.counters import greeting_counter
from apps.greeter.rest import serializers
from city.errors import ErrorSerializer, error_body_for
from city.negotiation import accepted_common_type


class GreetView(APIView):
    """The front door's greeting: the hot path, so no database, session or throttle.

    Abuse of an anonymous, read-only, cacheable endpoint is limited at the edge (the load
    balancer), where one limit covers every replica.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def dispatch(self, request, *args, **kwargs):
        # API clients' plain GETs are answered by Django alone, with the bytes DRF would
        # send: DRF's request wrapping, negotiation and response rendering cost more than
        # the greeting itself (see bench/). Browsers get the browsable API through DRF.
        if request.method == "GET" and accepted_common_type(request):
            return _greet_without_drf(request)
        return super().dispatch(request, *args, **kwargs)

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
        response = Response(_greeting(request))
        patch_vary_headers(response, ["Accept-Language"])
        return response


def _greeting(request) -> dict:
    """The greeting this request asks for; a ValidationError says what is wrong with it."""
    try:
        name = greetings.clean_name(request.GET.get("name"))
        language = _requested_language(request)
    except greetings.GreetingError as error:
        raise ValidationError({error.field: [str(error)]}) from error
    greeting_counter().increment(language)
    return {"message": greetings.greeting(name, language), "lang": language}


def _requested_language(request) -> str:
    lang = request.GET.get("lang")
    if lang is not None:
        return greetings.clean_language(lang)
    return greetings.negotiate_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))


def _greet_without_drf(request) -> HttpResponse:
    try:
        body, status_code = _greeting(request), status.HTTP_200_OK
    except ValidationError as error:
        body, status_code = error_body_for(error), status.HTTP_400_BAD_REQUEST
    response = HttpResponse(JSON.render(body), status=status_code, content_type=JSON.media_type)
    patch_vary_headers(response, ["Accept-Language", "Accept"])
    return response


JSON = JSONRenderer()


class GreetingCountsView(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(
        summary="Greetings served, per language", responses=serializers.GreetingCountsSerializer
    )
    def get(self, request):
        counter = greeting_counter()
        return Response({"scope": counter.scope, "greetings_by_language": counter.counts()})


class NewcomerRegistrationView(APIView):
    permission_classes = (AllowAny,)
    throttle_classes = (AnonRateThrottle, ScopedRateThrottle)
    throttle_scope = "registration"

    @extend_schema(
        summary="Register a newcomer as a resident",
        request=serializers.RegistrationInputSerializer,
        responses={201: serializers.RegistrationSerializer},
    )
    def post(self, request):
        given = serializers.RegistrationInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        registration = services.newcomer_register(**given.validated_data)
        return Response(
            serializers.RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED
        )


class NewcomerMeView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Your profile and greetings", responses=serializers.NewcomerProfileSerializer
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
