from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.greeter.greetings import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES


class GreetingSerializer(serializers.Serializer):
    message = serializers.CharField()
    lang = serializers.ChoiceField(choices=SUPPORTED_LANGUAGES)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A newcomer",
            summary="Grace registers, greeted in Spanish",
            value={
                "username": "grace",
                "email": "grace@example.org",
                "password": "navy-cobol-1906",
                "language": "es",
            },
            request_only=True,
        )
    ]
)
class RegistrationInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField()
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    language = serializers.ChoiceField(choices=SUPPORTED_LANGUAGES, default=DEFAULT_LANGUAGE)

    def validate(self, attrs):
        # Django's validators, including similarity to the username and email.
        candidate = get_user_model()(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from error
        return attrs


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()


class WelcomeSerializer(serializers.Serializer):
    occasion = serializers.CharField()
    language = serializers.CharField()
    message = serializers.CharField()
    lease_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class RegistrationSerializer(serializers.Serializer):
    user = UserSerializer(source="newcomer.user")
    language = serializers.CharField(source="newcomer.language")
    token = serializers.CharField()
    message = serializers.CharField(source="welcome.message")


class NewcomerProfileSerializer(serializers.Serializer):
    user = UserSerializer()
    language = serializers.CharField()
    registered_at = serializers.DateTimeField()
    greetings = WelcomeSerializer(many=True)


class GreetingCountsSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=["process", "shared"], help_text="'shared' counts across every replica (Redis)."
    )
    greetings_by_language = serializers.DictField(child=serializers.IntegerField())
