"""The greeter's writes."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from apps.greeter import greetings
from apps.greeter.models import Newcomer, Welcome
from city.errors import Conflict
from city.logging import get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class Registration:
    newcomer: Newcomer
    token: str
    welcome: Welcome


def newcomer_register(*, username: str, email: str, password: str, language: str) -> Registration:
    """Make a resident: a user, their newcomer record, an API token and a first welcome.

    All or nothing: a taken username or email (even one taken by a concurrent request,
    caught by the database's unique constraints) is a Conflict and leaves nothing behind.
    """
    _refuse_taken(username=username, email=email)
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=username, email=email, password=password
            )
            newcomer = Newcomer.objects.create(user=user, email=email, language=language)
            token = Token.objects.create(user=user)
            welcome = Welcome.objects.create(
                user=user,
                occasion=Welcome.Occasion.REGISTRATION,
                language=language,
                message=greetings.greeting(username, language),
            )
    except IntegrityError as error:
        _refuse_taken(username=username, email=email)
        raise Conflict("That registration conflicts with an existing resident.") from error
    logger.info("newcomer_registered", user_id=user.pk, language=language)
    return Registration(newcomer=newcomer, token=token.key, welcome=welcome)


def _refuse_taken(*, username: str, email: str) -> None:
    users = get_user_model().objects
    if users.filter(username__iexact=username).exists():
        raise Conflict(f"The username '{username}' is taken.", details={"username": ["taken"]})
    if (
        users.filter(email__iexact=email).exists()
        or Newcomer.objects.filter(email__iexact=email).exists()
    ):
        raise Conflict("That email address is already registered.", details={"email": ["taken"]})


def welcome_record_for_tenant(*, user_id: int, lease_id: int) -> Welcome | None:
    """Record the welcome of a tenant whose lease started; once per lease, however often asked.

    Returns None when the user does not exist (nobody to welcome; nothing to retry).
    """
    user: AbstractUser | None = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        logger.warning("welcome_for_unknown_user", user_id=user_id, lease_id=lease_id)
        return None
    newcomer = Newcomer.objects.filter(user=user).first()
    language = newcomer.language if newcomer else greetings.DEFAULT_LANGUAGE
    welcome, created = Welcome.objects.get_or_create(
        lease_id=lease_id,
        defaults={
            "user": user,
            "occasion": Welcome.Occasion.TENANCY,
            "language": language,
            "message": greetings.tenant_welcome(user.get_username(), language),
        },
    )
    logger.info("tenant_welcomed", user_id=user_id, lease_id=lease_id, created=created)
    return welcome
