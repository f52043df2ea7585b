"""From an application to a lease: the manager reads the applicant's documents while the
application is under review, approves, and turns it into a draft lease in one action."""

import re
import secrets
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from apps.documents.models import DocumentGrant
from apps.documents.services import document_process, document_upload
from apps.leasing.models import Application, Lease
from tests.contract import error_of
from tests.factories import LeaseFactory, ManagerFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/leasing"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def processed_document(owner) -> int:
    file = ContentFile(f"Payslip {secrets.token_hex(8)}".encode(), name="payslip.txt")
    document = document_upload(owner=owner, file=file).document
    document_process(document_id=document.pk)
    return document.pk


def as_user(api, user):
    api.force_authenticate(user)
    return api


def apply(api, applicant, unit, *, documents=(), submit=True) -> dict:
    as_user(api, applicant)
    response = api.post(
        f"{API}/applications/",
        {
            "unit": unit.pk,
            "wished_start": "2027-03-01",
            "wished_end": "2028-03-01",
            "document_ids": list(documents),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    application = response.json()
    assert response["Location"] == application["url"]
    if submit:
        response = api.post(f"{API}/applications/{application['id']}/submit/")
        assert response.status_code == 200, response.content
        application = response.json()
    return application


@pytest.fixture
def reviewed(api):
    """A submitted application with one processed document, and the people around it."""
    unit = UnitFactory(monthly_rent=Decimal("870.00"), deposit=Decimal("1740.00"))
    applicant = UserFactory(username="flora")
    document = processed_document(applicant)
    application = apply(api, applicant, unit, documents=[document])
    return {
        "unit": unit,
        "manager": unit.property.manager,
        "applicant": applicant,
        "document": document,
        "application": application,
    }


def document_status(api, user, document_id: int) -> int:
    return as_user(api, user).get(f"/api/documents/{document_id}/").status_code


# --- the applicant's documents, for the manager -------------------------------------------


def test_the_manager_reads_the_documents_of_a_submitted_application(api, reviewed):
    manager, document = reviewed["manager"], reviewed["document"]
    as_user(api, manager)
    application = api.get(f"{API}/applications/{reviewed['application']['id']}/").json()
    assert application["applicant_username"] == "flora"
    assert application["documents"] == [f"http://testserver/api/documents/{document}/"]
    shown = api.get(application["documents"][0])
    assert shown.status_code == 200
    assert shown.json()["owner"] == reviewed["applicant"].pk
    assert "reprocess" not in shown.json()["links"]  # the owner's alone
    assert api.get(f"/api/documents/{document}/text/").status_code == 200
    assert api.get(f"/api/documents/{document}/download/").status_code == 200


def test_the_documents_of_a_draft_are_not_shown_to_the_manager(api):
    unit = UnitFactory()
    applicant = UserFactory()
    document = processed_document(applicant)
    apply(api, applicant, unit, documents=[document], submit=False)
    assert document_status(api, unit.property.manager, document) == 404


def test_a_manager_of_another_unit_and_a_stranger_get_404(api, reviewed):
    other_manager = UnitFactory().property.manager
    for user in (other_manager, UserFactory()):
        assert document_status(api, user, reviewed["document"]) == 404


def test_the_manager_may_not_change_or_delete_a_document_shown_to_them(api, reviewed):
    as_user(api, reviewed["manager"])
    document = reviewed["document"]
    assert api.post(f"/api/documents/{document}/reprocess/").status_code == 404
    assert api.delete(f"/api/documents/{document}/").status_code == 404
    assert document_status(api, reviewed["applicant"], document) == 200


@pytest.mark.parametrize(("who", "action"), [("applicant", "withdraw"), ("manager", "reject")])
def test_withdrawal_or_rejection_ends_the_managers_read(api, reviewed, who, action):
    url = f"{API}/applications/{reviewed['application']['id']}/{action}/"
    response = as_user(api, reviewed[who]).post(url)
    assert response.status_code == 200
    assert document_status(api, reviewed["manager"], reviewed["document"]) == 404
    assert document_status(api, reviewed["applicant"], reviewed["document"]) == 200
    assert not DocumentGrant.objects.exists()


def test_approval_keeps_the_managers_read(api, reviewed):
    as_user(api, reviewed["manager"])
    api.post(f"{API}/applications/{reviewed['application']['id']}/approve/")
    assert document_status(api, reviewed["manager"], reviewed["document"]) == 200


def test_an_illegal_decision_changes_no_grant(api, reviewed):
    as_user(api, reviewed["applicant"])
    url = f"{API}/applications/{reviewed['application']['id']}/"
    assert api.post(f"{url}submit/").status_code == 422  # submitted already
    as_user(api, reviewed["manager"])
    api.post(f"{url}approve/")
    assert api.post(f"{url}reject/").status_code == 422  # approved already
    assert document_status(api, reviewed["manager"], reviewed["document"]) == 200


# --- the lease drawn up from an application -----------------------------------------------


def test_an_approved_application_becomes_a_draft_lease_in_one_action(api, reviewed):
    manager, applicant = reviewed["manager"], reviewed["applicant"]
    url = f"{API}/applications/{reviewed['application']['id']}/"
    as_user(api, manager)
    api.post(f"{url}approve/")
    response = api.post(f"{url}create-lease/")
    assert response.status_code == 201, response.content
    lease = response.json()
    assert response["Location"] == f"http://testserver{API}/leases/{lease['id']}/"
    assert {
        key: lease[key]
        for key in (
            "unit",
            "tenant",
            "tenant_username",
            "application",
            "start_date",
            "end_date",
            "monthly_rent",
            "deposit",
            "status",
        )
    } == {
        "unit": reviewed["unit"].pk,
        "tenant": applicant.pk,
        "tenant_username": "flora",
        "application": reviewed["application"]["id"],
        "start_date": "2027-03-01",
        "end_date": "2028-03-01",
        "monthly_rent": "870.00",
        "deposit": "1740.00",
        "status": "draft",
    }
    assert api.get(url).json()["lease"] == lease["id"]
    as_user(api, applicant)
    assert api.get(f"{API}/leases/{lease['id']}/").json()["status"] == "draft"


def test_a_second_lease_from_one_application_is_409(api, reviewed):
    url = f"{API}/applications/{reviewed['application']['id']}/"
    as_user(api, reviewed["manager"])
    api.post(f"{url}approve/")
    first = api.post(f"{url}create-lease/").json()
    response = api.post(f"{url}create-lease/")
    assert response.status_code == 409
    assert error_of(response)["details"] == {"lease": first["id"]}
    assert Lease.objects.count() == 1


def test_a_lease_from_an_application_not_approved_is_422(api, reviewed):
    as_user(api, reviewed["manager"])
    response = api.post(f"{API}/applications/{reviewed['application']['id']}/create-lease/")
    assert response.status_code == 422
    assert error_of(response)["details"] == {
        "current": "submitted",
        "allowed": ["approve", "reject", "withdraw"],
    }
    assert not Lease.objects.exists()


def test_only_the_manager_draws_up_the_lease_403(api, reviewed):
    url = f"{API}/applications/{reviewed['application']['id']}/"
    as_user(api, reviewed["manager"]).post(f"{url}approve/")
    response = as_user(api, reviewed["applicant"]).post(f"{url}create-lease/")
    assert response.status_code == 403
    assert not Lease.objects.exists()


def test_a_lease_from_someone_elses_application_is_404(api, reviewed):
    as_user(api, ManagerFactory())
    response = api.post(f"{API}/applications/{reviewed['application']['id']}/create-lease/")
    assert response.status_code == 404
    assert not Lease.objects.exists()


# --- a draft lease is editable -----------------------------------------------------------


def test_the_manager_changes_a_draft_lease(api):
    lease = LeaseFactory(status=Lease.Status.DRAFT, start_date=date(2027, 1, 1), end_date=None)
    as_user(api, lease.unit.property.manager)
    response = api.patch(
        f"{API}/leases/{lease.pk}/",
        {"monthly_rent": "999.00", "end_date": "2028-01-01", "due_day": 5},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["monthly_rent"], response.json()["end_date"]) == (
        "999.00",
        "2028-01-01",
    )
    lease.refresh_from_db()
    assert (lease.monthly_rent, lease.due_day) == (Decimal("999.00"), 5)


def test_a_lease_sent_for_signature_can_no_longer_be_changed_422(api):
    lease = LeaseFactory(status=Lease.Status.PENDING_SIGNATURE)
    as_user(api, lease.unit.property.manager)
    response = api.patch(f"{API}/leases/{lease.pk}/", {"monthly_rent": "1.00"}, format="json")
    assert response.status_code == 422
    assert error_of(response)["details"]["current"] == "pending_signature"
    lease.refresh_from_db()
    assert lease.monthly_rent != Decimal("1.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"end_date": "2026-01-01"}, "end_date"),  # before the start
        ({"monthly_rent": "0"}, "monthly_rent"),
        ({"due_day": 32}, "due_day"),
        ({"start_date": "yesterday"}, "start_date"),
    ],
)
def test_a_bad_change_to_a_draft_lease_is_400_and_changes_nothing(api, body, field):
    lease = LeaseFactory(status=Lease.Status.DRAFT, start_date=date(2027, 1, 1), end_date=None)
    before = Lease.objects.values().get(pk=lease.pk)
    as_user(api, lease.unit.property.manager)
    response = api.patch(f"{API}/leases/{lease.pk}/", body, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert Lease.objects.values().get(pk=lease.pk) == before


def test_only_the_manager_changes_a_draft_lease_403(api):
    lease = LeaseFactory(status=Lease.Status.DRAFT)
    response = as_user(api, lease.tenant).patch(
        f"{API}/leases/{lease.pk}/", {"monthly_rent": "1.00"}, format="json"
    )
    assert response.status_code == 403


# --- the browsable API's forms -----------------------------------------------------------


def test_an_html_form_takes_document_ids_in_one_text_box(api):
    applicant = UserFactory()
    documents = sorted([processed_document(applicant), processed_document(applicant)])
    as_user(api, applicant)
    response = api.post(
        f"{API}/applications/",
        {
            "unit": UnitFactory().pk,
            "wished_start": "2027-03-01",
            "document_ids": f"{documents[0]}, {documents[1]}",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["document_ids"] == documents


def test_an_html_form_with_a_word_for_a_document_id_is_400(api):
    as_user(api, UserFactory())
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "2027-03-01", "document_ids": "3, three"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "document_ids" in error_of(response)["details"]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("path", "wanted", "unwanted"),
    [
        ("leases/", ['name="start_date"', 'name="tenant"'], ['name="currency"']),
        ("leases/{lease}/activate/", ['name="on"'], ['name="tenant"']),
        ("leases/{lease}/renew/", ['name="end_date"'], ['name="tenant"']),
        # PATCH has the raw-data form, filled with what a draft may change.
        ("leases/{lease}/", ["&quot;monthly_rent&quot;", "&quot;due_day&quot;"], ["tenant"]),
    ],
)
def test_each_browsable_form_shows_the_input_it_takes(api, path, wanted, unwanted):
    lease = LeaseFactory(status=Lease.Status.DRAFT)
    as_user(api, lease.unit.property.manager)
    page = api.get(f"{API}/{path.format(lease=lease.pk)}", HTTP_ACCEPT="text/html")
    # The forms only, not the answer shown above them.
    html = "".join(re.findall(r"<form.*?</form>", page.content.decode(), flags=re.DOTALL))
    assert all(field in html for field in wanted), wanted
    assert not any(field in html for field in unwanted), unwanted


def forms_of(page) -> str:
    return "".join(re.findall(r"<form.*?</form>", page.content.decode(), flags=re.DOTALL))


def test_an_action_that_takes_nothing_offers_only_its_button(api, reviewed):
    as_user(api, reviewed["manager"])
    url = f"{API}/applications/{reviewed['application']['id']}/approve/"
    forms = forms_of(api.get(url, HTTP_ACCEPT="text/html"))
    assert "POST" in forms
    assert 'name="unit"' not in forms


def test_after_an_action_the_page_offers_it_afresh_not_the_answer_as_a_form(api, reviewed):
    as_user(api, reviewed["manager"])
    url = f"{API}/applications/{reviewed['application']['id']}/approve/"
    page = api.post(url, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert "approved" in page.content.decode()  # the answer, shown
    assert 'name="wished_start"' not in forms_of(page)


def test_the_change_form_is_offered_only_to_whom_may_change(api, reviewed):
    url = f"{API}/applications/{reviewed['application']['id']}/"
    as_user(api, reviewed["manager"])
    assert 'data-method="PATCH"' not in forms_of(api.get(url, HTTP_ACCEPT="text/html"))
    draft = apply(api, reviewed["applicant"], UnitFactory(), submit=False)
    page = api.get(f"{API}/applications/{draft['id']}/", HTTP_ACCEPT="text/html")
    assert 'data-method="PATCH"' in forms_of(page)


def test_the_delete_button_is_the_owners_alone(api, reviewed):
    url = f"/api/documents/{reviewed['document']}/"
    as_user(api, reviewed["manager"])
    assert 'data-method="DELETE"' not in forms_of(api.get(url, HTTP_ACCEPT="text/html"))
    as_user(api, reviewed["applicant"])
    assert 'data-method="DELETE"' in forms_of(api.get(url, HTTP_ACCEPT="text/html"))


def test_applications_and_leases_link_to_each_other(api, reviewed):
    url = f"{API}/applications/{reviewed['application']['id']}/"
    assert reviewed["application"]["url"] == f"http://testserver{url}"
    as_user(api, reviewed["manager"])
    api.post(f"{url}approve/")
    lease = api.post(f"{url}create-lease/").json()
    assert api.get(url).json()["lease_url"] == lease["url"]
    assert api.get(lease["charges_url"]).status_code == 200
