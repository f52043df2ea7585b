import threading

import pytest
from django.db import connection, transaction

from apps.greeter.models import Newcomer, Welcome
from apps.greeter.services import newcomer_register, welcome_record_for_tenant
from city.errors import Conflict
from city.tasks import send_task_on_commit
from tests.factories import NewcomerFactory, UserFactory


@pytest.mark.django_db
def test_tenant_welcome_is_recorded_once_per_lease_in_their_language():
    newcomer = NewcomerFactory(language="pt")
    first = welcome_record_for_tenant(user_id=newcomer.user_id, lease_id=7)
    again = welcome_record_for_tenant(user_id=newcomer.user_id, lease_id=7)
    assert first == again
    assert Welcome.objects.filter(lease_id=7).count() == 1
    assert first.occasion == Welcome.Occasion.TENANCY
    assert first.message.startswith("Bem-vindo a casa")


@pytest.mark.django_db
def test_tenant_who_never_registered_is_welcomed_in_english():
    user = UserFactory()
    welcome = welcome_record_for_tenant(user_id=user.pk, lease_id=8)
    assert welcome.language == "en"
    assert user.username in welcome.message


@pytest.mark.django_db
def test_welcome_for_an_unknown_user_records_nothing():
    assert welcome_record_for_tenant(user_id=999_999, lease_id=9) is None
    assert not Welcome.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_username_make_exactly_one_resident():
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def register(index: int) -> None:
        start.wait()
        try:
            newcomer_register(
                username="twin",
                email=f"twin{index}@city.example",
                password="a-long-test-password",
                language="en",
            )
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
    assert Newcomer.objects.count() == 1
    assert Welcome.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_welcome_sent_by_name_without_a_broker_runs_in_process_after_commit():
    newcomer = NewcomerFactory(language="nl")
    with transaction.atomic():
        send_task_on_commit("greeter.welcome_resident", args=(newcomer.user_id, 77))
        assert not Welcome.objects.filter(lease_id=77).exists()  # not before the commit
    assert Welcome.objects.get(lease_id=77).message.startswith("Welkom thuis")
