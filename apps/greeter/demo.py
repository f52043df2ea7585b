"""Demo data for development (`manage.py seed_demo`)."""

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from apps.greeter.services import newcomer_register

RESIDENT_USERNAME = "ada"
RESIDENT_PASSWORD = "city-resident-demo"  # noqa: S105 - a printed demo password, dev only
BASE_URL = "http://127.0.0.1:8000"  # where `make run` serves
ME = "/api/greeter/newcomers/me/"


def seed() -> Iterator[str]:
    """The demo resident (made once), and lines saying how to use her: her password, her
    API token (made if she has none) and a curl command that uses it."""
    users = get_user_model().objects
    if not users.filter(username=RESIDENT_USERNAME).exists():
        newcomer_register(
            username=RESIDENT_USERNAME,
            email="ada@city.example",
            password=RESIDENT_PASSWORD,
            language="fr",
        )
    token, _ = Token.objects.get_or_create(user=users.get(username=RESIDENT_USERNAME))
    yield f"{'demo resident:':<15}{RESIDENT_USERNAME} / {RESIDENT_PASSWORD}  ({ME})"
    yield f"{'her API token:':<15}{token.key}"
    yield f"{'try it:':<15}curl -H 'Authorization: Token {token.key}' {BASE_URL}{ME}"
