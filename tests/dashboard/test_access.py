"""The dashboard is for the staff: everyone else is asked to log in, or refused, in the
error contract. (The other dashboard tests ask as staff.)"""

import pytest
from rest_framework.test import APIClient

from tests.contract import error_of
from tests.factories import UserFactory

STATUS = "/api/city/status/"


@pytest.fixture
def anyone() -> APIClient:
    return APIClient()


@pytest.fixture
def resident(db) -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def test_the_status_asks_anyone_to_authenticate(anyone, db):
    response = anyone.get(STATUS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_the_status_refuses_a_resident(resident):
    response = resident.get(STATUS)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


@pytest.mark.parametrize("as_resident", [False, True])
def test_the_page_sends_everyone_but_staff_to_the_admins_login(db, as_resident):
    client = APIClient()
    if as_resident:
        client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/"
