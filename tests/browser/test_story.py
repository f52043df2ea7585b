"""City's leasing story in the browsable API, as two people walk it in a real browser.

A newcomer signs up, signs in, uploads her payslip and waits for it to be processed, finds
a unit, applies with the payslip and submits; the unit's manager reads the application and
the payslip, approves it, draws up the lease, changes its rent and sends it for signature;
she signs; he activates it; she finds the greeter's welcome and her rent charges. Every
step leaves a picture in test-artifacts/ (story-NN-<step>.png), and the test checks over
HTTP what the pages showed.

One deployment for the module, as `make run` serves it but with production settings:
gunicorn, a database of its own, Redis and a Celery worker consuming every service's
queue. The manager is made with `manage.py shell`, so this process never touches the ORM
while Playwright's event loop runs.
"""

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from city.services import SERVICES
from tests import servers
from tests.browser.conftest import VIEWPORT, screenshot
from tests.documents import samples

MANAGER, MANAGER_PASSWORD = "marta", "harbour-keys-1450"
RESIDENT, RESIDENT_PASSWORD = "ines", "tram-28-to-graca"
STRANGER = "tomas"
CITY, PROPERTY, UNIT_LABEL = "Lisbon", "Harbour View", "2B"
UNIT_RENT, AGREED_RENT = "1450.00", "1400.00"
LEASE_MONTHS = 6
# The worker processes a one-page PDF in well under a second; a busy machine may take long.
PROCESSED_WITHIN_S = 60
WELCOMED_WITHIN_S = 60

CREATE_MANAGER = f"""
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
manager = User.objects.create_user({MANAGER!r}, 'marta@city.example', {MANAGER_PASSWORD!r})
manager.user_permissions.add(
    Permission.objects.get(content_type__app_label='leasing', codename='manage_properties')
)
print(Token.objects.create(user=manager).key)
"""


@dataclass(frozen=True)
class Deployment:
    url: str
    manager_token: str
    unit_id: int


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def city(tmp_path_factory, collected_static) -> Iterator[Deployment]:
    """Every service in one gunicorn with production settings, a broker and a worker; the
    manager (made in the shell) owns a property with one unit (made over the API)."""
    root = tmp_path_factory.mktemp("story")
    with ExitStack() as stack:
        database_url = stack.enter_context(servers.database_of_its_own(root, "story"))
        broker_url = stack.enter_context(servers.redis_server(root))
        env = servers.production_env(
            DATABASE_URL=database_url,
            STATIC_ROOT=collected_static,
            MEDIA_ROOT=str(root / "media"),
            CELERY_BROKER_URL=broker_url,
            DJANGO_SETTINGS_MODULE="city.settings.production",
        )
        manage = [str(servers.BIN / "python"), "manage.py"]
        servers.run_checked([*manage, "migrate", "-v0"], env=env)
        shell = servers.run_checked(
            [*manage, "shell", "--no-imports", "-c", CREATE_MANAGER], env=env
        )
        manager_token = shell.stdout.strip().splitlines()[-1]
        stack.enter_context(
            servers.celery_worker(queues=list(SERVICES), env=env, log=root / "worker.log")
        )
        url = stack.enter_context(
            servers.gunicorn("city.settings.production", env=env, log=root / "web.log")
        )
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Token {manager_token}"}, timeout=30
        ) as manager:
            building = ok(
                manager.post(
                    "/api/leasing/properties/",
                    json={"name": PROPERTY, "address": "12 Quay Street", "city": CITY},
                ),
                201,
            )
            unit = ok(
                manager.post(
                    "/api/leasing/units/",
                    json={
                        "property": building["id"],
                        "label": UNIT_LABEL,
                        "bedrooms": 2,
                        "area_m2": "68.50",
                        "monthly_rent": UNIT_RENT,
                        "deposit": "2900.00",
                        "currency": "EUR",
                    },
                ),
                201,
            )
        yield Deployment(url, manager_token, unit["id"])


# --- what a person does and reads in the browsable API ---------------------------------


class Story:
    """Numbers the pictures in the order the story takes them."""

    def __init__(self) -> None:
        self.step = 0

    def shot(self, page: Page, name: str) -> None:
        self.step += 1
        # From the top: a page scrolled to a form would have its fixed navbar drawn midway.
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, f"story-{self.step:02d}-{name}")


@contextmanager
def person(browser: Browser) -> Iterator[Page]:
    """A browser context of one's own (cookies, session); its page's script errors fail."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert script_errors == [], f"the page's scripts failed: {script_errors}"


def response_info(page: Page) -> Locator:
    """The response the browsable API shows: status line, headers, then the body."""
    return page.locator(".response-info pre")


def shown(page: Page, status: str) -> Any:
    """The JSON body on the page, once the page shows `status` (e.g. "201 Created")."""
    expect(response_info(page)).to_contain_text(f"HTTP {status}")
    text = response_info(page).inner_text()
    return json.loads(text[text.index("\n\n") :])


def html_form(page: Page) -> Locator:
    """The "HTML form" tab of the POST form."""
    return page.locator("#post-object-form form")


def requested(page: Page, method: str) -> None:
    """Wait for the page of the answer to a `method` request (the request line shows it)."""
    expect(page.locator(".request-info")).to_contain_text(f"{method} ")


def post_html_form(page: Page) -> None:
    html_form(page).get_by_role("button", name="POST").click()
    requested(page, "POST")


def follow(page: Page, url: str) -> None:
    """Click the link to `url` in the response shown (the first: a Location header's)."""
    page.locator(".response-info").get_by_role("link", name=url, exact=True).first.click()
    expect(page).to_have_url(url)


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """DRF's login page; without ?next= it lands on the API root."""
    page.goto(f"{base_url}/api/auth/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/api/")


def extra_action(page: Page, name: str) -> None:
    """Open the page of one of the object's actions from the "Extra Actions" menu; a GET
    there is a 405, and the page carries the action's POST form."""
    page.get_by_role("button", name="Extra Actions").click()
    page.locator(".dropdown-menu").get_by_role("link", name=name, exact=True).click()
    expect(response_info(page)).to_contain_text("HTTP 405 Method Not Allowed")


def reload_until(page: Page, condition, *, timeout_s: float, what: str) -> Any:
    """Reload the page, as a person does, until what it shows meets `condition`."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = shown(page, "200 OK")
        if condition(body):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not shown within {timeout_s} s; the page shows {body}")
        page.wait_for_timeout(500)
        page.reload()


def months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def payslip() -> bytes:
    lines = ["Payslip - March", "Employer: Lisbon Tram Company", "Net pay: 2,310.00"]
    return samples.pdf([lines])


# --- the story --------------------------------------------------------------------------


def test_a_resident_and_a_manager_lease_a_unit_in_the_browsable_api(city, browser):
    """Every step in the HTML forms and their buttons, but the draft lease's rent: PATCH is
    only in the raw-data form."""
    story = Story()
    start = months_later(date.today().replace(day=1), 1)
    end = months_later(start, LEASE_MONTHS)
    pdf = payslip()

    with person(browser) as ines, person(browser) as marta:
        # 1. She signs up in the registration page's form.
        ines.goto(f"{city.url}/api/greeter/newcomers/")
        form = html_form(ines)
        form.locator('input[name="username"]').fill(RESIDENT)
        form.locator('input[name="email"]').fill("ines@example.org")
        form.locator('input[name="password"]').fill(RESIDENT_PASSWORD)
        form.locator('select[name="language"]').select_option("en")
        story.shot(ines, "signup-form")
        post_html_form(ines)
        registered = shown(ines, "201 Created")
        assert registered["user"]["username"] == RESIDENT
        resident_token = registered["token"]
        story.shot(ines, "signed-up")

        # ... and signs in to the browsable API, landing on the API root.
        log_in(ines, city.url, RESIDENT, RESIDENT_PASSWORD)
        expect(ines.locator(".navbar")).to_contain_text(RESIDENT)
        root = shown(ines, "200 OK")
        assert root["services"]["documents"]["url"] == f"{city.url}/api/documents/"
        story.shot(ines, "api-root")

        # 2. Her documents: the form on the page is the upload form.
        ines.goto(f"{city.url}/api/documents/")
        form = html_form(ines)
        form.locator('input[type="file"][name="file"]').set_input_files(
            {"name": "payslip-march.pdf", "mimeType": "application/pdf", "buffer": pdf}
        )
        form.locator('input[name="title"]').fill("Payslip, March")
        expect(form.locator('input[name="allow_duplicate"]')).not_to_be_checked()
        story.shot(ines, "upload-form")
        post_html_form(ines)
        uploaded = shown(ines, "202 Accepted")
        assert uploaded["title"] == "Payslip, March"
        assert uploaded["original_name"] == "payslip-march.pdf"
        assert uploaded["duplicate"] is False
        document_id = uploaded["id"]
        story.shot(ines, "uploaded")

        # 3. The upload's Location is a link to the document; she reloads it until the
        # worker has processed it.
        follow(ines, f"{city.url}/api/documents/{document_id}/")
        document = reload_until(
            ines,
            lambda body: body["status"] in ("processed", "failed"),
            timeout_s=PROCESSED_WITHIN_S,
            what=f"document {document_id} processed",
        )
        assert document["status"] == "processed", document
        assert document["kind"] == "payslip"
        assert document["page_count"] == 1
        story.shot(ines, "document-processed")

        # 4. She looks for a unit free from the start of next month in the city.
        ines.goto(f"{city.url}/api/leasing/units/available/?start={start}&city={CITY}")
        available = shown(ines, "200 OK")
        assert [unit["id"] for unit in available["results"]] == [city.unit_id]
        assert available["results"][0]["property"]["name"] == PROPERTY
        assert available["results"][0]["monthly_rent"] == UNIT_RENT
        story.shot(ines, "available-units")

        # 5. She applies for it with her payslip: the unit from the list, the dates, the
        # document's id in the text box.
        ines.goto(f"{city.url}/api/leasing/applications/")
        form = html_form(ines)
        form.locator('select[name="unit"]').select_option(
            label=f"{UNIT_LABEL} ({PROPERTY}, {CITY})"
        )
        form.locator('input[name="wished_start"]').fill(start.isoformat())
        form.locator('input[name="wished_end"]').fill(end.isoformat())
        form.locator('input[name="document_ids"]').fill(str(document_id))
        story.shot(ines, "application-form")
        post_html_form(ines)
        application = shown(ines, "201 Created")
        assert application["status"] == "draft"
        assert application["document_ids"] == [document_id]
        application_id = application["id"]
        story.shot(ines, "application-created")

        # Her application's page; "Submit" in its Extra Actions, and the POST button there
        # (which should stand alone: the next test).
        application_url = f"{city.url}/api/leasing/applications/{application_id}/"
        ines.goto(application_url)
        assert shown(ines, "200 OK")["status"] == "draft"
        extra_action(ines, "Submit")
        expect(ines).to_have_url(f"{application_url}submit/")
        story.shot(ines, "submit-page")
        post_html_form(ines)
        assert shown(ines, "200 OK")["status"] == "submitted"
        story.shot(ines, "application-submitted")

        # 6. The manager signs in and finds the application among those for his units.
        log_in(marta, city.url, MANAGER, MANAGER_PASSWORD)
        marta.goto(f"{city.url}/api/leasing/applications/")
        listed = shown(marta, "200 OK")["results"]
        assert (application_id, RESIDENT) in [(a["id"], a["applicant_username"]) for a in listed]
        story.shot(marta, "manager-applications")

        marta.goto(application_url)
        application = shown(marta, "200 OK")
        document_url = f"{city.url}/api/documents/{document_id}/"
        assert application["documents"] == [document_url]
        assert application["applicant_username"] == RESIDENT
        story.shot(marta, "manager-application")

        # The document's link: his to read while the application is under review.
        follow(marta, document_url)
        document = shown(marta, "200 OK")
        assert document["status"] == "processed"
        # Its file, text and first page's picture; not its reprocessing, which is hers.
        assert set(document["links"]) == {"detail", "download", "text", "thumbnail"}
        story.shot(marta, "manager-document")
        with marta.expect_download() as download:
            marta.locator(".response-info").get_by_role(
                "link", name=document["links"]["download"], exact=True
            ).click()
        assert download.value.suggested_filename == "payslip-march.pdf"
        with open(download.value.path(), "rb") as downloaded:
            assert downloaded.read() == pdf
        follow(marta, document["links"]["thumbnail"])
        expect(marta.locator("img")).to_be_visible()
        assert marta.locator("img").evaluate("image => image.naturalWidth") > 0
        story.shot(marta, "manager-document-thumbnail")
        marta.go_back()
        follow(marta, document["links"]["text"])
        expect(marta.locator("body")).to_contain_text("Lisbon Tram Company")
        story.shot(marta, "manager-document-text")

        # He approves it, then draws up the lease from it.
        marta.goto(application_url)
        extra_action(marta, "Approve")
        story.shot(marta, "approve-page")
        post_html_form(marta)
        assert shown(marta, "200 OK")["status"] == "approved"
        story.shot(marta, "application-approved")

        marta.goto(application_url)
        extra_action(marta, "Create lease")
        post_html_form(marta)
        lease = shown(marta, "201 Created")
        assert lease["status"] == "draft"
        assert (lease["unit"], lease["tenant_username"]) == (city.unit_id, RESIDENT)
        assert (lease["start_date"], lease["end_date"]) == (start.isoformat(), end.isoformat())
        assert lease["monthly_rent"] == UNIT_RENT
        lease_url = f"{city.url}/api/leasing/leases/{lease['id']}/"
        story.shot(marta, "lease-drafted")

        # The draft's rent, agreed lower. The lease's page has no HTML form for it (DRF's
        # is for PUT, which a lease does not take): its raw-data form holds the draft's terms
        # as JSON, and he edits the rent there before pressing PATCH.
        follow(marta, lease_url)
        content = marta.locator("#put-generic-content-form").get_by_label("Content:")
        terms = json.loads(content.input_value())
        assert terms["monthly_rent"] == UNIT_RENT
        content.fill(json.dumps({**terms, "monthly_rent": AGREED_RENT}, indent=4))
        story.shot(marta, "lease-rent-form")
        marta.locator("#put-generic-content-form").get_by_role("button", name="PATCH").click()
        requested(marta, "PATCH")
        assert shown(marta, "200 OK")["monthly_rent"] == AGREED_RENT
        story.shot(marta, "lease-rent-changed")

        extra_action(marta, "Send for signature")
        post_html_form(marta)
        assert shown(marta, "200 OK")["status"] == "pending_signature"
        story.shot(marta, "lease-sent")

        # 7. She finds the lease on her application's page, opens it and signs it.
        ines.goto(application_url)
        assert shown(ines, "200 OK")["lease"] == lease["id"]
        ines.goto(lease_url)
        offered = shown(ines, "200 OK")
        assert (offered["status"], offered["monthly_rent"]) == ("pending_signature", AGREED_RENT)
        extra_action(ines, "Sign")
        post_html_form(ines)
        assert shown(ines, "200 OK")["signed_at"] is not None
        story.shot(ines, "lease-signed")

        # 8. He activates it; the date is optional (today), so he leaves it empty.
        marta.goto(lease_url)
        extra_action(marta, "Activate")
        expect(html_form(marta).locator('input[name="on"]')).to_have_value("")
        story.shot(marta, "activate-page")
        post_html_form(marta)
        assert shown(marta, "200 OK")["status"] == "active"
        story.shot(marta, "lease-active")

        # 9. The greeter's welcome reaches her page (a task the worker ran), and the rent.
        ines.goto(f"{city.url}/api/greeter/newcomers/me/")
        profile = reload_until(
            ines,
            lambda body: any(g["lease_id"] == lease["id"] for g in body["greetings"]),
            timeout_s=WELCOMED_WITHIN_S,
            what=f"the welcome of lease {lease['id']}",
        )
        assert profile["user"]["username"] == RESIDENT
        story.shot(ines, "welcome")

        ines.goto(f"{lease_url}charges/")
        charges = shown(ines, "200 OK")["results"]
        assert [c["period_start"] for c in charges] == [
            months_later(start, n).isoformat() for n in range(LEASE_MONTHS)
        ]
        assert {c["amount"] for c in charges} == {AGREED_RENT}
        story.shot(ines, "charges")

    # 10. Over HTTP, what the pages showed; and a third person sees nothing of hers.
    with (
        httpx.Client(base_url=city.url, timeout=30) as anonymous,
        httpx.Client(
            base_url=city.url, headers={"Authorization": f"Token {resident_token}"}, timeout=30
        ) as resident,
        httpx.Client(
            base_url=city.url, headers={"Authorization": f"Token {city.manager_token}"}, timeout=30
        ) as manager,
    ):
        assert ok(resident.get(f"/api/documents/{document_id}/"))["status"] == "processed"
        assert ok(manager.get(f"/api/documents/{document_id}/"))["kind"] == "payslip"
        application = ok(manager.get(f"/api/leasing/applications/{application_id}/"))
        assert (application["status"], application["lease"]) == ("approved", lease["id"])
        active = ok(resident.get(f"/api/leasing/leases/{lease['id']}/"))
        assert (active["status"], active["monthly_rent"]) == ("active", AGREED_RENT)
        charges = ok(resident.get(f"/api/leasing/leases/{lease['id']}/charges/"))
        assert charges["count"] == LEASE_MONTHS
        greetings = ok(resident.get("/api/greeter/newcomers/me/"))["greetings"]
        welcome = next(g for g in greetings if g["lease_id"] == lease["id"])
        assert welcome["occasion"] == "tenancy"
        assert RESIDENT in welcome["message"]

        stranger = ok(
            anonymous.post(
                "/api/greeter/newcomers/",
                json={
                    "username": STRANGER,
                    "email": "tomas@example.org",
                    "password": "a-long-pass-phrase",
                },
            ),
            201,
        )
        nosy = {"Authorization": f"Token {stranger['token']}"}
        for path in ("", "download/", "text/"):
            answer = anonymous.get(f"/api/documents/{document_id}/{path}", headers=nosy)
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "not_found"


def test_an_application_action_that_takes_nothing_offers_only_its_post_button(city, browser):
    """Submit, withdraw, approve, reject and create-lease take no input: each one's page
    (a GET there is 405) shows its POST button and no fields that would seem to matter."""
    applicant, password = "joana", "a-long-pass-phrase"
    with httpx.Client(base_url=city.url, timeout=30) as anonymous:
        joana = ok(
            anonymous.post(
                "/api/greeter/newcomers/",
                json={"username": applicant, "email": "joana@example.org", "password": password},
            ),
            201,
        )
        wished_start = months_later(date.today().replace(day=1), 24)
        application = ok(
            anonymous.post(
                "/api/leasing/applications/",
                headers={"Authorization": f"Token {joana['token']}"},
                json={"unit": city.unit_id, "wished_start": wished_start.isoformat()},
            ),
            201,
        )
        ok(
            anonymous.post(
                f"/api/leasing/applications/{application['id']}/submit/",
                headers={"Authorization": f"Token {joana['token']}"},
            )
        )
    application_url = f"{city.url}/api/leasing/applications/{application['id']}/"

    for username, password_, actions in (
        (applicant, password, ("submit", "withdraw")),
        (MANAGER, MANAGER_PASSWORD, ("approve", "reject", "create-lease")),
    ):
        with person(browser) as page:
            log_in(page, city.url, username, password_)
            for action in actions:
                page.goto(f"{application_url}{action}/")
                expect(response_info(page)).to_contain_text("HTTP 405 Method Not Allowed")
                screenshot(page, f"story-action-{action}")
                form = html_form(page)
                expect(form.get_by_role("button", name="POST")).to_be_visible()
                fields = form.locator("input:not([type=hidden]), select, textarea")
                expect(fields, f"the fields of {action}'s form").to_have_count(0)
