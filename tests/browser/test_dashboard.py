"""The city dashboard in a real browser, over both topologies: what a person sees at /."""

import os
import re
import signal
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from city.services import SERVICES
from tests import servers
from tests.browser.conftest import screenshot
from tests.deploy.clients import as_user, ok, register
from tests.documents import samples

# The page refreshes every 3 s; a change shows within a few refreshes, even on a busy machine.
CHANGE_SHOWN_MS = 30_000
GREET = "/api/greeter/greet?name=Ada&lang=fr"
STAFF, STAFF_PASSWORD = "ops", "a-long-ops-pass-phrase"
CREATE_STAFF = (
    "from django.contrib.auth.models import User; "
    f"User.objects.create_superuser({STAFF!r}, 'ops@city.example', {STAFF_PASSWORD!r})"
)


def log_in(page: Page, base_url: str) -> None:
    """The dashboard sends a visitor to the admin's login, and back once logged in."""
    page.goto(base_url)
    page.fill("#id_username", STAFF)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{base_url}/")


def panel(page: Page, name: str):
    return page.locator(f'[data-panel="{name}"]')


def replica(page: Page, name: str):
    return page.locator(f'[data-replica="{name}"]')


def expect_unavailable_without_reload(page: Page, name: str) -> None:
    page.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
    expect(panel(page, name)).to_have_attribute("data-available", "false", timeout=CHANGE_SHOWN_MS)
    expect(panel(page, name).locator(".unavailable")).to_have_text("Unavailable")
    assert page.evaluate("window.loadedOnce") is True


@dataclass
class Combined:
    url: str
    broker: ExitStack  # close() stops the broker


@pytest.fixture
def combined(tmp_path, collected_static) -> Combined:
    """Every service in one gunicorn, as `make run` serves them, with a broker and a worker.

    With a database of its own, migrated by manage.py: the test itself never touches the
    ORM while Playwright's event loop runs in its thread (Django refuses that)."""
    with ExitStack() as stack:
        database_url = stack.enter_context(servers.database_of_its_own(tmp_path, "combined"))
        broker = ExitStack()
        broker_url = broker.enter_context(servers.redis_server(tmp_path))
        stack.enter_context(broker)
        env = servers.production_env(
            DATABASE_URL=database_url,
            STATIC_ROOT=collected_static,
            CELERY_BROKER_URL=broker_url,
            DJANGO_SETTINGS_MODULE="city.settings.production",
        )
        manage = [str(servers.BIN / "python"), "manage.py"]
        servers.run_checked([*manage, "migrate", "-v0"], env=env)
        servers.run_checked([*manage, "shell", "--no-imports", "-c", CREATE_STAFF], env=env)
        stack.enter_context(
            servers.celery_worker(queues=list(SERVICES), env=env, log=tmp_path / "worker.log")
        )
        url = stack.enter_context(
            servers.gunicorn("city.settings.production", env=env, log=tmp_path / "web.log")
        )
        yield Combined(url, broker)


def test_the_combined_dashboard_shows_this_process_queues_and_documents(page, combined):
    log_in(page, combined.url)

    expect(page).to_have_title("City")
    for name in SERVICES:
        row = page.locator(f'[data-service="{name}"]')
        expect(row).to_contain_text("installed")
        expect(row.locator(".replica.up")).to_have_count(1)
    expect(panel(page, "services")).to_contain_text("counted by this process")
    for name in SERVICES:
        expect(panel(page, "queues").locator(f'[data-queue="{name}"]')).to_be_visible()
    workers = panel(page, "queues").locator("[data-worker]")
    expect(workers).to_contain_text("test-", timeout=CHANGE_SHOWN_MS)
    expect(panel(page, "documents").locator("[data-count]")).to_have_count(4)
    for link in ("API docs", "Browsable API", "Admin"):
        assert page.get_by_role("link", name=link).is_visible()


def test_a_stopped_broker_turns_the_queues_panel_unavailable(page, combined):
    log_in(page, combined.url)
    expect(panel(page, "queues")).to_have_attribute("data-available", "true")

    combined.broker.close()

    expect_unavailable_without_reload(page, "queues")
    expect(panel(page, "queues").locator(".reason")).to_contain_text("broker")
    expect(panel(page, "services")).to_have_attribute("data-available", "true")
    expect(panel(page, "documents")).to_have_attribute("data-available", "true")


def test_the_links_lead_to_the_api_docs_and_the_browsable_api(page, combined):
    log_in(page, combined.url)
    page.get_by_role("link", name="Browsable API").click()
    expect(page.locator("body")).to_contain_text("generated_at")
    page.go_back()
    page.get_by_role("link", name="API docs").click()
    expect(page.locator(".swagger-ui")).to_be_visible()


# --- the split topology: 2 replicas of each service behind HAProxy --------------------


@pytest.fixture(scope="module")
def split(topology):
    """The split topology, with a staff account in its database."""
    topology.manage("shell", "--no-imports", "-c", CREATE_STAFF)
    return topology


def test_the_split_dashboard_shows_every_replica_and_the_traffic_from_haproxy(page, split):
    resident = register(split, "dora")
    with as_user(split, resident["token"]) as dora:
        for title, content in (("pay.pdf", samples.pdf([["Payslip"]])), ("note.txt", b"Hi")):
            ok(dora.post("/api/documents/", files={"file": (title, content)}), 202)
    log_in(page, split.url)

    for replica_name in (replica.name for replica in split.replicas()):
        expect(replica(page, replica_name)).to_have_class("replica up")
    expect(panel(page, "services")).to_contain_text("counted by HAProxy")
    workers = panel(page, "queues").locator("[data-worker]")
    expect(workers).to_have_count(1, timeout=CHANGE_SHOWN_MS)
    processed = panel(page, "documents").locator('[data-count="processed"] dd')
    expect(processed).to_have_text("2", timeout=CHANGE_SHOWN_MS)

    with httpx.Client(base_url=split.url) as client:
        for _ in range(300):
            client.get(GREET)
    greeter_rate = page.locator('[data-service="greeter"] td.number').first
    expect(greeter_rate).not_to_have_text("0.0", timeout=CHANGE_SHOWN_MS)
    expect(greeter_rate).not_to_have_text("—")
    # The split topology's processes, drawn again by the page's script (which went on to
    # say when it updated: no panel failed to draw).
    greeter_1 = panel(page, "processes").locator('[data-process="greeter-1"]')
    expect(greeter_1).to_contain_text("running")
    expect(page.locator("#updated")).to_have_text(re.compile(r"^Updated "))
    screenshot(page, "dashboard-split")  # the README's picture


def test_a_killed_replica_turns_down_on_the_page_and_up_again(page, split):
    log_in(page, split.url)
    expect(replica(page, "greeter-1")).to_have_class("replica up")

    os.killpg(split.processes["greeter-1"].popen.pid, signal.SIGKILL)
    expect(replica(page, "greeter-1")).to_have_class("replica down", timeout=CHANGE_SHOWN_MS)
    expect(replica(page, "greeter-2")).to_have_class("replica up")

    split.revive("greeter-1")
    expect(replica(page, "greeter-1")).to_have_class("replica up", timeout=CHANGE_SHOWN_MS)


def test_a_stopped_broker_turns_the_split_queues_panel_unavailable(page, split):
    log_in(page, split.url)
    expect(panel(page, "queues")).to_have_attribute("data-available", "true")

    split.processes["redis"].stop()
    try:
        expect_unavailable_without_reload(page, "queues")
        expect(panel(page, "services")).to_have_attribute("data-available", "true")
        expect(panel(page, "documents")).to_have_attribute("data-available", "true")
    finally:
        split.revive("redis")
    queues = panel(page, "queues")
    expect(queues).to_have_attribute("data-available", "true", timeout=CHANGE_SHOWN_MS)


def test_the_page_keeps_its_figures_and_says_so_when_the_city_stops_answering(page, split):
    log_in(page, split.url)
    expect(page.locator("#updated")).not_to_have_class("stale")

    split.processes["haproxy"].stop()
    try:
        expect(page.locator("#updated")).to_have_class("stale", timeout=CHANGE_SHOWN_MS)
        expect(page.locator("#updated")).to_contain_text("Not updated since")
        expect(replica(page, "leasing-2")).to_be_visible()
    finally:
        split.revive("haproxy")
    expect(page.locator("#updated")).not_to_have_class("stale", timeout=CHANGE_SHOWN_MS)
