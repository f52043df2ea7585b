"""Applications left submitted, undecided, past LEASING_APPLICATION_TTL_DAYS expire, and the
unit's manager no longer reads the applicant's documents: the daily upkeep, with nobody
behind it (a Celery task, a management command)."""

import secrets
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from apps.documents.models import DocumentGrant
from apps.documents.services import document_process, document_upload
from apps.leasing import services, tasks
from apps.leasing.models import Application
from city.errors import IllegalStateChange
from tests import servers
from tests.contract import error_of
from tests.documents.conftest import documents_deployed_alone
from tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def processed_document(owner) -> int:
    file = ContentFile(f"Payslip {secrets.token_hex(8)}".encode(), name="payslip.txt")
    document = document_upload(owner=owner, file=file).document
    document_process(document_id=document.pk)
    return document.pk


def application(*, submitted_days_ago: float | None = 31, **kwargs) -> Application:
    """An application with a processed document; submitted that many days ago (the manager
    then reads the document), or a draft with None."""
    applicant = UserFactory()
    created = services.application_create(
        applicant=applicant,
        unit=UnitFactory(),
        wished_start=date(2027, 3, 1),
        wished_end=date(2028, 3, 1),
        document_ids=[processed_document(applicant)],
        **kwargs,
    )
    if submitted_days_ago is None:
        return created
    services.application_decide(application=created, action="submit", by=applicant)
    submitted_at = timezone.now() - submitted_days_ago * DAY
    Application.objects.filter(pk=created.pk).update(submitted_at=submitted_at)
    created.refresh_from_db()
    return created


def manager_of(application: Application):
    return application.unit.property.manager


def manager_reads(application: Application) -> bool:
    return DocumentGrant.objects.filter(
        document_id__in=application.document_ids, grantee=manager_of(application)
    ).exists()


def status_of(application: Application) -> str:
    application.refresh_from_db()
    return application.status


def test_undecided_past_the_ttl_it_expires_and_its_manager_reads_no_more():
    stale = application(submitted_days_ago=31)
    assert manager_reads(stale)
    assert services.applications_expire_stale(now=timezone.now()) == 1
    assert status_of(stale) == "expired"
    assert not manager_reads(stale)
    assert stale.decided_at is None  # nobody decided it


def test_a_manager_replaced_since_the_submission_reads_no_more_once_it_expires():
    """The grant went to the manager at the submission: it ends, whoever manages now."""
    stale = application(submitted_days_ago=31)
    former = manager_of(stale)
    place = stale.unit.property
    place.manager = UserFactory()
    place.save()
    assert DocumentGrant.objects.filter(grantee=former).exists()
    assert services.applications_expire_stale(now=timezone.now()) == 1
    assert status_of(stale) == "expired"
    assert not DocumentGrant.objects.filter(grantee=former).exists()


def test_within_the_ttl_and_at_it_exactly_it_stays_submitted():
    now = timezone.now()
    recent = application(submitted_days_ago=29)
    on_the_day = application(submitted_days_ago=0)
    Application.objects.filter(pk=on_the_day.pk).update(submitted_at=now - 30 * DAY)
    assert services.applications_expire_stale(now=now) == 0
    assert (status_of(recent), status_of(on_the_day)) == ("submitted", "submitted")
    assert manager_reads(recent)
    assert manager_reads(on_the_day)


def test_the_ttl_counts_from_submission_not_from_the_draft():
    long_drafted = application(submitted_days_ago=1)
    Application.objects.filter(pk=long_drafted.pk).update(created_at=timezone.now() - 90 * DAY)
    draft = application(submitted_days_ago=None)
    Application.objects.filter(pk=draft.pk).update(created_at=timezone.now() - 90 * DAY)
    assert services.applications_expire_stale(now=timezone.now()) == 0
    assert (status_of(long_drafted), status_of(draft)) == ("submitted", "draft")


def test_decided_or_withdrawn_applications_never_expire():
    approved, rejected, withdrawn = (application(submitted_days_ago=0) for _ in range(3))
    services.application_decide(application=approved, action="approve", by=manager_of(approved))
    services.application_decide(application=rejected, action="reject", by=manager_of(rejected))
    services.application_decide(application=withdrawn, action="withdraw", by=withdrawn.applicant)
    Application.objects.update(submitted_at=timezone.now() - 90 * DAY)
    assert services.applications_expire_stale(now=timezone.now()) == 0
    assert [status_of(a) for a in (approved, rejected, withdrawn)] == [
        "approved",
        "rejected",
        "withdrawn",
    ]
    assert manager_reads(approved)  # the lease is drawn up from it: still under review


def test_the_ttl_is_a_setting(settings):
    settings.LEASING_APPLICATION_TTL_DAYS = 5
    week_old = application(submitted_days_ago=7)
    assert services.applications_expire_stale(now=timezone.now()) == 1
    assert status_of(week_old) == "expired"


def test_running_again_expires_nothing_more():
    stale = application(submitted_days_ago=40)
    assert services.applications_expire_stale(now=timezone.now()) == 1
    assert services.applications_expire_stale(now=timezone.now()) == 0
    assert status_of(stale) == "expired"


def test_an_expired_application_allows_nothing(api):
    stale = application(submitted_days_ago=31)
    services.applications_expire_stale(now=timezone.now())
    with pytest.raises(IllegalStateChange) as refused:
        services.application_decide(application=stale, action="withdraw", by=stale.applicant)
    assert refused.value.details == {"current": "expired", "allowed": []}
    api.force_authenticate(manager_of(stale))
    response = api.post(f"/api/leasing/applications/{stale.pk}/approve/")
    assert response.status_code == 422
    assert error_of(response)["details"] == {"current": "expired", "allowed": []}
    assert api.get(f"/api/leasing/applications/{stale.pk}/").json()["status"] == "expired"


def test_nobody_expires_an_application_by_hand_and_it_is_never_offered():
    stale = application(submitted_days_ago=31)
    for person in (stale.applicant, manager_of(stale)):
        with pytest.raises(PermissionDenied):
            services.application_decide(application=stale, action="expire", by=person)
    with pytest.raises(IllegalStateChange) as refused:
        services.application_decide(application=stale, action="submit", by=stale.applicant)
    assert refused.value.details["allowed"] == ["approve", "reject", "withdraw"]
    assert status_of(stale) == "submitted"
    assert manager_reads(stale)


def test_the_daily_task_expires_them(settings):
    stale = application(submitted_days_ago=31)
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == tasks.expire_stale_applications.name
    ]
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {15})  # daily
    tasks.expire_stale_applications.delay()  # in-process: the test settings have no broker
    assert status_of(stale) == "expired"
    assert not manager_reads(stale)


def test_the_command_expires_them_now():
    stale = application(submitted_days_ago=31)
    out = StringIO()
    call_command("expire_stale_applications", stdout=out)
    assert out.getvalue() == "expired 1 application(s) submitted over 30 days ago\n"
    assert status_of(stale) == "expired"
    assert not manager_reads(stale)


def test_a_documents_service_that_is_down_leaves_it_submitted_for_the_next_run(settings):
    stale = application(submitted_days_ago=31)
    settings.CITY_SERVICES = ["leasing"]  # documents elsewhere, and nothing listens there
    settings.CITY_PEER_URL = f"http://127.0.0.1:{servers.free_port()}"
    assert services.applications_expire_stale(now=timezone.now()) == 0
    assert status_of(stale) == "submitted"
    assert manager_reads(stale)
    settings.CITY_SERVICES = ["greeter", "documents", "leasing"]  # back: the next run
    assert services.applications_expire_stale(now=timezone.now()) == 1
    assert status_of(stale) == "expired"
    assert not manager_reads(stale)


@pytest.mark.django_db(transaction=True)
def test_across_a_split_the_grant_is_revoked_over_http_as_the_applicant(request, settings):
    """No request is behind the upkeep: the documents service is asked with a service
    credential for the applicant, who owns the documents, and logs the call as theirs."""
    stale = application(submitted_days_ago=31)
    with documents_deployed_alone(request, settings) as log:
        assert services.applications_expire_stale(now=timezone.now()) == 1
        revoke = [line for line in log.read_text().splitlines() if "grants/revoke" in line]
    assert status_of(stale) == "expired"
    assert not manager_reads(stale)
    assert len(revoke) == 1
    assert f'"user_id":{stale.applicant_id}' in revoke[0]
