"""Hostile filters and searches: numbers no database column holds, searches of a thousand
words. Each is 400 naming the parameter, never an overflow or a query too large for the
database (a 500); numbers in range and bounded searches still work."""

import base64

import pytest
from django.contrib.auth import get_user_model

from apps.documents import services as documents
from apps.documents.models import Document
from apps.leasing.models import Application, Lease, Property, Unit
from tests.contract import error_of
from tests.factories import LeaseFactory, UnitFactory

pytestmark = pytest.mark.django_db

User = get_user_model()

HOSTILE_NUMBERS = [str(2**63), str(-(2**63) - 1), "1e292", "NaN", "inf", "-inf", "9" * 400, "0x10"]
HOSTILE_IDS = [*HOSTILE_NUMBERS, "0", "-1", "1.5", "1e-400"]

# (path, parameter): every id filter, then the other numeric filters.
ID_FILTERS = [
    ("/api/leasing/units/", "property"),
    ("/api/leasing/applications/", "unit"),
    ("/api/leasing/leases/", "unit"),
    ("/api/leasing/leases/", "tenant"),
]
AVAILABLE = "/api/leasing/units/available/?start=2026-01-01"
NUMBER_FILTERS = [
    ("/api/leasing/units/", "bedrooms"),
    (AVAILABLE, "bedrooms"),
    (AVAILABLE, "max_rent"),
]


@pytest.fixture
def city(api):
    """A unit with a lease on it, seen by the unit's manager."""
    lease = LeaseFactory(unit=UnitFactory(bedrooms=2))
    api.force_authenticate(lease.unit.property.manager)
    return lease


def everything_counted() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in [User, Property, Unit, Application, Lease]}


def query(path: str, parameter: str, value: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{parameter}={value}"


def assert_400_naming(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["details"]) == [parameter]
    assert error["message"].startswith(f"{parameter}: ")


@pytest.mark.parametrize("value", HOSTILE_IDS)
@pytest.mark.parametrize(("path", "parameter"), ID_FILTERS)
def test_an_id_filter_out_of_range_or_not_a_whole_number_is_400_naming_it(
    api, city, path, parameter, value
):
    before = everything_counted()
    assert_400_naming(api.get(query(path, parameter, value)), parameter)
    assert everything_counted() == before


@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
@pytest.mark.parametrize(("path", "parameter"), NUMBER_FILTERS)
def test_a_numeric_filter_out_of_range_is_400_naming_it(api, city, path, parameter, value):
    before = everything_counted()
    assert_400_naming(api.get(query(path, parameter, value)), parameter)
    assert everything_counted() == before


@pytest.mark.parametrize(("path", "parameter"), ID_FILTERS)
def test_an_id_filter_at_the_largest_id_matches_nothing_and_a_real_id_matches(
    api, city, path, parameter
):
    response = api.get(query(path, parameter, str(2**63 - 1)))
    assert response.status_code == 200
    assert response.json()["results"] == []
    real = {"property": city.unit.property_id, "unit": city.unit_id, "tenant": city.tenant_id}
    response = api.get(query(path, parameter, str(real[parameter])))
    assert response.status_code == 200
    if path != "/api/leasing/applications/":  # the lease has no application
        assert len(response.json()["results"]) == 1


def test_the_availability_filters_in_range_still_filter(api, city):
    other = UnitFactory(bedrooms=4, monthly_rent="1500.00")
    response = api.get(f"{AVAILABLE}&bedrooms=3&max_rent=9999999999")
    assert [unit["id"] for unit in response.json()["results"]] == [other.pk]
    response = api.get(f"{AVAILABLE}&bedrooms=0&max_rent=1499.99")
    assert other.pk not in [unit["id"] for unit in response.json()["results"]]


@pytest.mark.parametrize(
    "position", ["NaN", "sNaN", "Infinity", "not-a-number", "1e999999999", "-1e292", "9" * 400]
)
def test_an_availability_cursor_with_a_position_no_rent_can_have_is_404(api, city, position):
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = api.get(f"{AVAILABLE}&cursor={cursor}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- search -----------------------------------------------------------------------------

DOCUMENTS = "/api/documents/"


@pytest.fixture
def resident(api, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    user = User.objects.create_user("ada", "ada@city.example", "a-long-test-password")
    api.force_authenticate(user)
    return user


def upload(owner, title: str, text: str) -> Document:
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("note.txt", text.encode())
    return documents.document_upload(owner=owner, file=file, title=title).document


def test_a_search_of_a_thousand_words_is_400_naming_q(api, resident):
    upload(resident, "Payslip", "A payslip for March.")
    q = " ".join(f"word{n}" for n in range(1000))
    assert_400_naming(api.get(DOCUMENTS, {"q": q}), "q")
    assert Document.objects.count() == 1


def test_a_search_of_one_word_more_than_the_most_is_400_and_at_the_most_it_runs(api, resident):
    document = upload(resident, "Payslip", "A payslip for March.")
    at_most = " ".join(["payslip"] * 16)
    response = api.get(DOCUMENTS, {"q": at_most})
    assert response.status_code == 200
    assert [found["id"] for found in response.json()["results"]] == [document.pk]
    response = api.get(DOCUMENTS, {"q": at_most + " march"})
    assert_400_naming(response, "q")
    assert error_of(response)["message"] == "q: A search is at most 16 words."


def test_a_search_longer_than_the_most_characters_is_400_naming_q(api, resident):
    assert api.get(DOCUMENTS, {"q": "x" * 200}).status_code == 200
    response = api.get(DOCUMENTS, {"q": "x" * 201})
    assert_400_naming(response, "q")
    assert error_of(response)["message"] == "q: A search is at most 200 characters long."


def test_the_search_bounds_are_settings(api, resident, settings):
    settings.DOCUMENTS_SEARCH_MAX_TERMS = 2
    settings.DOCUMENTS_SEARCH_MAX_CHARS = 10
    assert api.get(DOCUMENTS, {"q": "a b"}).status_code == 200
    assert_400_naming(api.get(DOCUMENTS, {"q": "a b c"}), "q")
    assert_400_naming(api.get(DOCUMENTS, {"q": "abcdefghijk"}), "q")


@pytest.mark.parametrize(
    "q", ['"' * 200, "-" * 200, "(" * 100 + ")" * 100, "a\x00b", "& | ! : * <->"]
)
def test_a_search_of_operators_and_odd_characters_is_never_a_500(api, resident, q):
    upload(resident, "Payslip", "A payslip for March.")
    response = api.get(DOCUMENTS, {"q": q})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert_400_naming(response, "q")


def test_a_search_of_more_nots_than_words_allowed_is_400_naming_q(api, resident):
    """PostgreSQL nests "not"s in a row and fails past 32 of them ("tsquery stack too
    small"): a search holds as many as it may hold words."""
    document = upload(resident, "Payslip", "A payslip for March.")
    for q in ["-" * 40, "- " * 15 + "-.-" * 10, "-(" * 20 + "x", "a" + "-" * 40 + "b"]:
        response = api.get(DOCUMENTS, {"q": q})
        assert_400_naming(response, "q")
        assert (
            error_of(response)["message"]
            == 'q: A search has at most 16 "-" (not) before its words.'
        )
    response = api.get(DOCUMENTS, {"q": "-" * 16 + "march payslip-march"})
    assert response.status_code == 200
    response = api.get(DOCUMENTS, {"q": "payslip"})
    assert [found["id"] for found in response.json()["results"]] == [document.pk]
