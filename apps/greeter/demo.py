"""Demo data for development (`manage.py seed_demo`)."""

from collections.abc import Iterator

from django.contrib.auth import get_user_model

from apps.greeter.services import newcomer_register

RESIDENT_USERNAME = "ada"
RESIDENT_PASSWORD = "city-resident-demo"  # noqa: S105 - a printed demo password, dev only


def seed() -> Iterator[str]:
    if not get_user_model().objects.filter(username=RESIDENT_USERNAME).exists():
        newcomer_register(
            username=RESIDENT_USERNAME,
            email="ada@city.example",
            password=RESIDENT_PASSWORD,
            language="fr",
        )
    yield f"demo resident: {RESIDENT_USERNAME} / {RESIDENT_PASSWORD}  (/api/greeter/newcomers/me/)"
