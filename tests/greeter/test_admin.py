import pytest

from apps.greeter.services import welcome_record_for_tenant
from tests.factories import NewcomerFactory


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@city.example", "a-long-pass")
    client.force_login(admin)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "shows"),
    [
        ("/admin/greeter/newcomer/", "ines@city.example"),
        ("/admin/greeter/newcomer/?language__exact=pt", "ines"),
        ("/admin/greeter/welcome/", "tenancy"),
        ("/admin/greeter/welcome/?occasion__exact=tenancy", "ines"),
    ],
)
def test_staff_see_newcomers_and_welcomes_in_the_admin(staff_client, url, shows):
    newcomer = NewcomerFactory(user__username="ines", language="pt")
    welcome_record_for_tenant(user_id=newcomer.user_id, lease_id=5)
    response = staff_client.get(url)
    assert response.status_code == 200
    assert shows in response.content.decode()


@pytest.mark.django_db
def test_the_admin_is_for_staff_only(client):
    response = client.get("/admin/greeter/newcomer/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
