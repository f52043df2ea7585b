"""The split topology as containers (deploy/Dockerfile, deploy/compose.yaml): the image is
built, the project started, and every request goes through the HAProxy container.

One project for the module (starting it is the slow part); the tests run in file order and
the last one takes it down and checks that nothing of it is left. Select them with
`pytest -m containers`, leave them out with `-m "not containers"`.
"""

import re
import secrets
import time

import httpx
import pytest

from tests.containers.compose import Stack, answered, compose_command, image_build

pytestmark = pytest.mark.containers

START_SECONDS = 180  # bounds, so a broken start fails instead of hanging; never measures
PROCESS_SECONDS = 60
SCALE_SECONDS = 90


@pytest.fixture(scope="module")
def stack():
    command, engine = compose_command()
    stack = Stack(compose=command, engine=engine)
    try:
        image_build(stack)
        stack.start()
        # Every service has a replica up in HAProxy (no 503) and the platform is ready.
        for path, wanted in [
            ("/readyz", {200}),
            ("/api/greeter/greet?name=Ada", {200}),
            ("/api/documents/", {401}),
            ("/api/leasing/properties/", {200, 401}),
        ]:
            stack.wait_until(
                answered(stack.base_url + path, ok=lambda r, w=wanted: r.status_code in w),
                timeout=START_SECONDS,
                what=f"{path} through HAProxy",
            )
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def http(stack):
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client


def register(http: httpx.Client) -> str:
    """A new resident registered through the greeter; their API token."""
    name = f"ada-{secrets.token_hex(4)}"
    response = http.post(
        "/api/greeter/newcomers/",
        json={
            "username": name,
            "email": f"{name}@example.org",
            "password": "analytical-engine-1843",
            "language": "fr",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["user"]["username"] == name
    return response.json()["token"]


def test_probes_answer_through_haproxy(http):
    live = http.get("/healthz")
    assert live.status_code == 200
    assert live.json()["status"] == "ok"
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert set(ready.json()["outbox"]) == {
        "pending",
        "oldest_pending_age_seconds",
        "undelivered",
        "dead_lettered",
    }


def test_the_greeting_is_served_by_a_named_greeter_replica(http):
    response = http.get("/api/greeter/greet", params={"name": "Ada", "lang": "fr"})
    assert response.status_code == 200
    assert response.json() == {"message": "Bonjour, Ada ! Bienvenue dans la ville.", "lang": "fr"}
    assert response.headers["X-City-Instance"]
    assert response.headers["X-Request-ID"]  # set at the edge when the client sends none


def test_a_newcomer_registers_and_the_token_works(http):
    token = register(http)
    me = http.get("/api/greeter/newcomers/me/", headers={"Authorization": f"Token {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["language"] == "fr"
    assert me.json()["greetings"][0]["occasion"] == "registration"
    anonymous = http.get("/api/greeter/newcomers/me/")
    assert anonymous.status_code == 401


def test_the_admin_login_page_and_its_static_css(http):
    page = http.get("/admin/login/")
    assert page.status_code == 200
    assert "Django site admin" in page.text
    stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page.text)
    assert stylesheets, page.text[:2000]
    css = http.get(stylesheets[0])
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    # Collected at build time with hashed names: whitenoise serves them as immutable.
    assert "immutable" in css.headers.get("Cache-Control", "")


def test_an_uploaded_document_is_processed_by_the_worker(http):
    auth = {"Authorization": f"Token {register(http)}"}
    upload = http.post(
        "/api/documents/",
        headers=auth,
        files={"file": ("lease.txt", b"Lease agreement between City and Ada Lovelace.\n")},
    )
    assert upload.status_code == 202, upload.text
    detail = f"/api/documents/{upload.json()['id']}/"
    deadline = time.monotonic() + PROCESS_SECONDS
    while (document := http.get(detail, headers=auth).json())["status"] not in {
        "processed",
        "failed",
    }:
        assert time.monotonic() < deadline, f"not processed after {PROCESS_SECONDS}s: {document}"
        time.sleep(0.5)
    assert document["status"] == "processed", document
    assert document["mime_type"] == "text/plain"
    assert document["kind"] == "lease"


MAKE_STAFF_TOKEN = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
staff, _ = User.objects.get_or_create(username="ops", defaults={"is_staff": True})
print(Token.objects.get_or_create(user=staff)[0].key)
"""


def test_the_dashboard_reads_haproxy_the_broker_and_the_documents(stack, http):
    """Over the containers, for the staff: replicas from the HAProxy container's stats (by
    DNS name), the worker from the broker, and the document processed above."""
    assert http.get("/").headers["Location"] == "/admin/login/?next=/"
    token = stack.exec(
        stack.containers("greeter")[0],
        "python",
        "manage.py",
        "shell",
        "--no-imports",
        "-c",
        MAKE_STAFF_TOKEN,
    ).strip()
    staff = {"Authorization": f"Token {token}"}

    def seen_whole() -> bool:
        status = http.get("/api/city/status/", headers=staff).json()
        healthy = [
            [replica for replica in service["replicas"] if replica["healthy"]]
            for service in status["services"]["services"]
        ]
        return status["queues"]["workers"] != [] and all(len(up) == 2 for up in healthy)

    stack.wait_until(seen_whole, timeout=START_SECONDS, what="every replica and the worker")
    status = http.get("/api/city/status/", headers=staff).json()
    assert status["services"]["source"] == "haproxy"
    assert {"documents", "greeter", "leasing"} <= set(status["queues"]["workers"][0]["queues"])
    assert status["documents"]["counts"]["processed"] >= 1


@pytest.mark.parametrize(
    "service", ["greeter", "documents", "leasing", "worker", "postgres", "redis"]
)
def test_containers_pass_their_health_checks(stack, service):
    containers = stack.containers(service)
    assert containers
    for container in containers:
        stack.wait_until(
            lambda c=container: stack.healthy(c), timeout=START_SECONDS, what=f"{container} healthy"
        )


@pytest.mark.parametrize("service", ["greeter", "worker", "beat"])
def test_city_runs_as_a_non_root_user(stack, service):
    container = stack.containers(service)[0]
    assert stack.exec(container, "id", "-u").strip() == "10001"


def test_three_greeter_replicas_answer_after_scaling_out(stack, http):
    stack.run("up", "--detach", "--no-deps", "--scale", "greeter=3", "greeter")
    seen: set[str] = set()

    def three_replicas_answered() -> bool:
        try:
            response = http.get("/api/greeter/greet", params={"name": "Ada"})
        except httpx.TransportError:
            return False
        if response.status_code == 200:
            seen.add(response.headers["X-City-Instance"])
        return len(seen) >= 3

    # HAProxy learns the third address from DNS: no configuration changes.
    stack.wait_until(three_replicas_answered, timeout=SCALE_SECONDS, what="3 greeter replicas")
    print(f"greeter replicas that answered: {sorted(seen)}")
    assert len(seen) == 3


def test_down_leaves_nothing_behind(stack, http):
    http.close()  # HAProxy's soft stop would wait for this idle keep-alive connection
    stack.down()
    assert stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
