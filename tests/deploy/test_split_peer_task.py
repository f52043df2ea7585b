"""A call between services with nobody behind it, across the split topology: the daily
expiry of applications, run by a Celery worker of the leasing service alone, ends the
manager's read grant in the documents deployment over HTTP (through HAProxy) with a service
credential, as the applicant; the same call without a valid one is refused there, and so is
a valid one sent again as another request."""

import json
import secrets

import httpx
import pytest
from celery import Celery
from django.core import signing

from city import service_credentials
from tests import servers
from tests.deploy.clients import as_user, ok, register
from tests.documents import samples

EXPIRE_TASK = "leasing.expire_stale_applications"
# A queue only the leasing-alone worker below consumes: the topology's own worker, which
# installs every service and so would revoke in-process, never sees the task.
LEASING_ALONE_QUEUE = "leasing-alone"

MAKE_MANAGER = """
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
manager = User.objects.create_user("expiry-manager", password="a-long-pass-phrase")
manager.user_permissions.add(Permission.objects.get(codename="manage_properties"))
print(manager.pk, Token.objects.create(user=manager).key)
"""
SUBMITTED_LONG_AGO = """
from datetime import timedelta
from django.utils import timezone
from apps.leasing.models import Application
stale = timezone.now() - timedelta(days=31)
print(Application.objects.filter(pk={pk}).update(submitted_at=stale))
"""


@pytest.fixture(scope="module")
def manager(topology) -> dict:
    user_id, token = topology.manage("shell", "--no-imports", "-c", MAKE_MANAGER).split()
    return {"id": int(user_id), "token": token}


@pytest.fixture(scope="module")
def submitted(topology, manager) -> dict:
    """An application with a processed payslip, submitted: the manager reads the payslip."""
    with as_user(topology, manager["token"]) as client:
        place = {"name": "Rua 4", "address": "4 rua Nova", "city": "Lisboa"}
        place = ok(client.post("/api/leasing/properties/", json=place), 201)
        offer = {
            "property": place["id"],
            "label": "1A",
            "bedrooms": 1,
            "area_m2": "41.00",
            "monthly_rent": "850.00",
            "deposit": "1700.00",
        }
        unit = ok(client.post("/api/leasing/units/", json=offer), 201)
    applicant = register(topology, "ines", language="pt")
    with as_user(topology, applicant["token"]) as ines:
        payslip = samples.pdf([["Payslip", "Net pay 1900 EUR"]])
        document = ok(ines.post("/api/documents/", files={"file": ("pay.pdf", payslip)}), 202)
        servers.wait_until(
            lambda: ok(ines.get(f"/api/documents/{document['id']}/"))["status"] == "processed",
            timeout=60,
            what="the payslip processed",
        )
        wished = {"wished_start": "2027-05-01", "wished_end": "2028-05-01"}
        application = ok(
            ines.post(
                "/api/leasing/applications/",
                json={"unit": unit["id"], "document_ids": [document["id"]], **wished},
            ),
            201,
        )
        ok(ines.post(f"/api/leasing/applications/{application['id']}/submit/"))
    return {
        "application": application["id"],
        "document": document["id"],
        "applicant": applicant["user"]["id"],
    }


@pytest.fixture
def leasing_alone_worker(topology, tmp_path):
    """A Celery worker with the leasing service's settings only (documents elsewhere), on
    the topology's broker and database."""
    env = {**topology.env, "DJANGO_SETTINGS_MODULE": "city.settings.leasing"}
    log = tmp_path / "leasing-worker.log"
    with servers.celery_worker(queues=[LEASING_ALONE_QUEUE], env=env, log=log):
        yield log


def send_by_name(topology, task: str) -> None:
    sender = Celery("sender", broker=topology.redis_url)
    try:
        sender.send_task(task, queue=LEASING_ALONE_QUEUE)
    finally:
        sender.close()


def revoke_lines(topology) -> list[dict]:
    """What the documents replicas logged of grant revocations."""
    lines = []
    for log in (topology.state / "logs").glob("documents-*.log"):
        for line in log.read_text().splitlines():
            if line.startswith("{") and "/api/documents/grants/revoke/" in line:
                lines.append(json.loads(line))
    return [line for line in lines if line.get("event") == "request"]


def test_the_expiry_task_revokes_the_grant_through_the_documents_service(
    topology, manager, submitted, leasing_alone_worker
):
    document_url = f"/api/documents/{submitted['document']}/"
    application_url = f"/api/leasing/applications/{submitted['application']}/"
    with as_user(topology, manager["token"]) as client:
        assert client.get(document_url).status_code == 200  # granted when submitted
        script = SUBMITTED_LONG_AGO.format(pk=submitted["application"])
        assert topology.manage("shell", "--no-imports", "-c", script).strip() == "1"
        send_by_name(topology, EXPIRE_TASK)
        servers.wait_until(
            lambda: ok(client.get(application_url))["status"] == "expired",
            timeout=60,
            what="the application expired by the leasing worker",
        )
        assert client.get(document_url).status_code == 404  # the manager reads it no more
    worker_log = leasing_alone_worker.read_text().splitlines()
    logged = [json.loads(line) for line in worker_log if line.startswith("{")]
    assert [line["expired"] for line in logged if line["event"] == "applications_expired"] == [1]
    # Asked of the documents deployment over HTTP, for the applicant, by a service.
    applicant = submitted["applicant"]
    [revoked] = [line for line in revoke_lines(topology) if line["user_id"] == applicant]
    assert revoked["status"] == 200
    assert revoked["service"] == "documents"


REVOKE_PATH = "/api/documents/grants/revoke/"
REVOKE_BODY = json.dumps({"reference": "leasing.application:1"}).encode()


def credential(
    *, key: str, services: list[str], user_id: int, method: str, path: str, body: bytes = b""
) -> str:
    """A credential for that request, as a deployment of `services` holding `key` signs it."""
    call = service_credentials.ServiceCall.of(
        services=services, acting_user_id=user_id, method=method, path=path, body=body
    )
    token = signing.dumps(call.payload(), key=key, salt=service_credentials.SALT)
    return f"{service_credentials.SCHEME} {token}"


def for_the_revoke(key: str, services: list[str], user_id: int, body: bytes = REVOKE_BODY):
    return credential(
        key=key, services=services, user_id=user_id, method="POST", path=REVOKE_PATH, body=body
    )


@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        (
            lambda topology, user_id: for_the_revoke(
                secrets.token_urlsafe(50), ["leasing"], user_id
            ),
            401,
            "invalid_service_credential",
        ),
        (
            lambda topology, user_id: for_the_revoke(
                topology.env["CITY_SERVICE_KEY"], ["greeter"], user_id
            ),
            403,
            "service_not_allowed",
        ),
        (
            lambda topology, user_id: credential(
                key=topology.env["CITY_SERVICE_KEY"],
                services=["leasing"],
                user_id=user_id,
                method="GET",
                path="/api/documents/",
            ),
            401,
            "invalid_service_credential",
        ),
        (
            lambda topology, user_id: for_the_revoke(
                topology.env["CITY_SERVICE_KEY"], ["leasing"], user_id, body=b'{"reference":"x"}'
            ),
            401,
            "invalid_service_credential",
        ),
    ],
    ids=[
        "no credential",
        "forged",
        "a service it is not open to",
        "made for another request",
        "made for another body",
    ],
)
def test_the_same_call_without_a_valid_credential_is_refused(
    topology, manager, authorization, status, code
):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization(topology, manager["id"])
    response = httpx.post(
        f"{topology.url}{REVOKE_PATH}", content=REVOKE_BODY, headers=headers, timeout=30
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_valid_credential_opens_only_what_is_open_to_its_service(topology, manager, submitted):
    """The leasing service's own credential, at an endpoint not open to it: 403."""
    path = f"/api/documents/{submitted['document']}/reprocess/"
    authorization = credential(
        key=topology.env["CITY_SERVICE_KEY"],
        services=["leasing"],
        user_id=manager["id"],
        method="POST",
        path=path,
    )
    response = httpx.post(
        f"{topology.url}{path}",
        headers={"Authorization": authorization},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "service_not_allowed"
