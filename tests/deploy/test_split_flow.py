"""The whole flow across the split topology, through HAProxy, every service elsewhere."""

import os
import signal

import pytest

from tests import servers
from tests.deploy.clients import as_user, ok, register
from tests.documents import samples

MAKE_MANAGER = """
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
manager = User.objects.create_user("flow-manager", password="a-long-pass-phrase")
manager.user_permissions.add(Permission.objects.get(codename="manage_properties"))
print(Token.objects.create(user=manager).key)
"""


@pytest.fixture(scope="module")
def manager_token(topology) -> str:
    """A property manager (made with manage.py against the topology's database)."""
    return topology.manage("shell", "--no-imports", "-c", MAKE_MANAGER).strip()


@pytest.fixture(scope="module")
def unit(topology, manager_token) -> dict:
    """A unit the manager offers."""
    place = {"name": "Quai 9", "address": "9 quai Est", "city": "Lyon"}
    with as_user(topology, manager_token) as manager:
        place = ok(manager.post("/api/leasing/properties/", json=place), 201)
        offer = {
            "property": place["id"],
            "label": "2B",
            "bedrooms": 2,
            "area_m2": "54.00",
            "monthly_rent": "980.00",
            "deposit": "1960.00",
        }
        return ok(manager.post("/api/leasing/units/", json=offer), 201)


def test_register_upload_apply_lease_and_be_welcomed(topology, manager_token, unit):
    resident = register(topology, "flora", language="fr")
    with as_user(topology, resident["token"]) as flora, as_user(topology, manager_token) as manager:
        # Flora uploads a payslip; the worker processes it.
        upload = flora.post(
            "/api/documents/",
            files={"file": ("pay.pdf", samples.pdf([["Payslip", "Net pay 2400 EUR"]]))},
        )
        document = ok(upload, 202)
        servers.wait_until(
            lambda: ok(flora.get(f"/api/documents/{document['id']}/"))["status"] == "processed",
            timeout=60,
            what="the document processed by the worker",
        )
        # She applies with it: leasing asks the documents deployment, over HTTP, as Flora.
        application = ok(
            flora.post(
                "/api/leasing/applications/",
                json={
                    "unit": unit["id"],
                    "wished_start": "2027-01-01",
                    "wished_end": "2028-01-01",
                    "document_ids": [document["id"]],
                },
            ),
            201,
        )
        ok(flora.post(f"/api/leasing/applications/{application['id']}/submit/"))
        # The manager reads her payslip: submitting granted it, in the documents deployment.
        review = ok(manager.get(f"/api/leasing/applications/{application['id']}/"))
        assert review["applicant_username"] == "flora"
        [document_url] = review["documents"]
        assert ok(manager.get(document_url))["kind"] == "payslip"
        text = manager.get(f"{document_url}text/")
        assert (text.status_code, "Net pay 2400 EUR" in text.text) == (200, True)
        with as_user(topology, register(topology, "gus")["token"]) as stranger:
            assert stranger.get(document_url).status_code == 404
        ok(manager.post(f"/api/leasing/applications/{application['id']}/approve/"))
        lease = ok(
            manager.post(f"/api/leasing/applications/{application['id']}/create-lease/"), 201
        )
        assert (lease["tenant_username"], lease["start_date"], lease["monthly_rent"]) == (
            "flora",
            "2027-01-01",
            "980.00",
        )
        ok(manager.post(f"/api/leasing/leases/{lease['id']}/send-for-signature/"))
        ok(flora.post(f"/api/leasing/leases/{lease['id']}/sign/"))
        assert (
            ok(
                manager.post(
                    f"/api/leasing/leases/{lease['id']}/activate/", json={"on": "2027-01-01"}
                )
            )["status"]
            == "active"
        )

        # The greeter, told by a task sent by name, welcomes her home in French.
        def welcomed() -> list[dict]:
            greetings = ok(flora.get("/api/greeter/newcomers/me/"))["greetings"]
            return [g for g in greetings if g["occasion"] == "tenancy"]

        servers.wait_until(lambda: welcomed(), timeout=60, what="the tenant's welcome")
        [welcome] = welcomed()
        assert welcome["lease_id"] == lease["id"]
        assert welcome["message"].startswith("Bienvenue chez vous, flora")


def test_a_document_the_peer_does_not_show_cannot_be_attached(topology, unit):
    """Leasing asks the documents deployment as the applicant: another's document is refused."""
    ida, jon = register(topology, "ida"), register(topology, "jon")
    with as_user(topology, ida["token"]) as as_ida, as_user(topology, jon["token"]) as as_jon:
        document = ok(as_ida.post("/api/documents/", files={"file": ("n.txt", b"a note")}), 202)
        refused = as_jon.post(
            "/api/leasing/applications/",
            json={
                "unit": unit["id"],
                "wished_start": "2027-01-01",
                "document_ids": [document["id"]],
            },
        )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {
        "document_ids": [f"Document {document['id']} does not exist."]
    }


def test_a_worker_killed_mid_batch_loses_no_document(topology):
    resident = register(topology, "batch")
    pages = [[f"Page {page} of a long lease agreement"] * 40 for page in range(30)]
    with as_user(topology, resident["token"]) as client:
        ids = [
            ok(
                client.post(
                    "/api/documents/", files={"file": (f"{n}.pdf", samples.pdf([*pages, [str(n)]]))}
                ),
                202,
            )["id"]
            for n in range(30)
        ]

        def statuses() -> list[str]:
            return [ok(client.get(f"/api/documents/{id_}/"))["status"] for id_ in ids]

        servers.wait_until(lambda: statuses().count("processed") >= 2, what="the batch under way")
        os.killpg(topology.processes["worker"].popen.pid, signal.SIGKILL)
        unfinished_at_kill = 30 - statuses().count("processed")
        topology.revive("worker")
        servers.wait_until(
            lambda: set(statuses()) == {"processed"}, timeout=120, what="every document processed"
        )
    assert unfinished_at_kill > 0  # the kill did land mid-batch
    print(f"worker SIGKILLed, {unfinished_at_kill} of 30 unfinished; after restart 30 processed")
