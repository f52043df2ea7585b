import pytest
from django.conf import settings
from django.db.models import TextChoices

from apps.documents.models import Document
from apps.leasing.models import Application, Lease


@pytest.mark.parametrize(
    ("enum", "choices"),
    [
        ("DocumentStatusEnum", Document.Status),
        ("ApplicationStatusEnum", Application.Status),
        ("LeaseStatusEnum", Lease.Status),
    ],
)
def test_schema_enum_names_are_given_for_the_models_choices(enum, choices: type[TextChoices]):
    written_out = settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"][enum]
    assert [tuple(choice) for choice in written_out] == choices.choices


def test_the_schema_documents_every_service(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/greeter/greet", "/api/documents/", "/api/leasing/units/available/"} <= set(
        schema["paths"]
    )
    assert {"DocumentStatusEnum", "LeaseStatusEnum"} <= set(schema["components"]["schemas"])
