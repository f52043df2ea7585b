"""Content-Security-Policy: every HTML page City serves says where its scripts may come
from (City's origin, never inline), runs no inline script of its own, and works under the
policy in a real browser, which refuses a script injected into the page."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect, sync_playwright

from tests import servers
from tests.browser.conftest import CHROMIUM_ARGS, VIEWPORT, screenshot

STAFF, STAFF_PASSWORD = "ops", "a-long-ops-pass-phrase"
CREATE_STAFF = (
    "from django.contrib.auth.models import User; "
    f"User.objects.create_superuser({STAFF!r}, 'ops@city.example', {STAFF_PASSWORD!r})"
)
HTML = {"HTTP_ACCEPT": "text/html"}
# Pages anyone may load, and those of a signed-in member of staff.
ANONYMOUS_PAGES = ["/admin/login/", "/api/", "/api/greeter/", "/api/auth/login/", "/api/docs/"]
STAFF_PAGES = ["/", "/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/api/leasing/"]
# A <script> element with a body (not a src), other than a JSON data block.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>\s*\S", re.IGNORECASE
)

# An event handler attribute (onclick=…) or a javascript: URL: inline script too.
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def inline_scripts(html: str) -> list[str]:
    return [m.group(0) for m in (*INLINE_SCRIPT.finditer(html), *INLINE_HANDLER.finditer(html))]


def directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def staff_client(client, db):
    User.objects.create_superuser(STAFF, "ops@city.example", STAFF_PASSWORD)
    client.login(username=STAFF, password=STAFF_PASSWORD)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_an_anonymous_html_page_allows_scripts_from_city_only(client, path):
    response = client.get(path, **HTML)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert inline_scripts(response.content.decode()) == []


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_staff_html_page_allows_scripts_from_city_only(staff_client, path):
    response = staff_client.get(path, **HTML)
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]
    assert inline_scripts(response.content.decode()) == []


def test_swagger_ui_loads_its_start_up_script_as_a_file(client, db):
    page = client.get("/api/docs/", **HTML).content.decode()
    (script_url,) = re.findall(r'<script src="([^"]*\?[^"]*script=[^"]*)"', page)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_json_answers_carry_no_page_policy(client):
    response = client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_the_inline_script_patterns_find_inline_scripts_only():
    assert INLINE_SCRIPT.search("<p><script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="module">import "x"</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/a.js"></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="d">{"a": 1}</script>')
    assert inline_scripts("<a href=\"#\" onclick='f()'>") == ['<a href="#" onclick=']
    assert inline_scripts('<a href="javascript:f()">') == ["javascript:"]
    assert inline_scripts('<a href="/api/" class="on">online</a>') == []


# --- In a real browser -------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, collected_static) -> str:
    """Every service in one gunicorn with production settings, a member of staff."""
    with servers.combined_deployment(
        tmp_path, "csp", static_root=collected_static, shell=CREATE_STAFF
    ) as (url, _):
        yield url


@pytest.fixture
def watched(tmp_path) -> Page:
    """A browser page that records every policy violation and script error."""
    chromium = servers.require_program("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.violations, page.errors = [], []
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Content Security Policy" in m.text
                and page.violations.append(f"{page.url}: {m.text}")
            ),
        )
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        yield page
        browser.close()


def test_every_page_works_under_the_policy_and_an_injected_script_is_refused(watched, served):
    page = watched
    for path in ANONYMOUS_PAGES:
        page.goto(f"{served}{path}")
        page.wait_for_load_state("networkidle")
    # Swagger UI started from its script file: the services' sections are drawn.
    page.goto(f"{served}/api/docs/")
    expect(page.locator("#operations-tag-greeter")).to_be_visible()
    screenshot(page, "csp-swagger-ui")

    page.goto(f"{served}/admin/login/")
    page.fill("#id_username", STAFF)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{served}/admin/")
    for path in STAFF_PAGES:
        page.goto(f"{served}{path}")
        page.wait_for_load_state("networkidle")
    # The dashboard's own script (a file) runs: it refreshes the page's figures in place.
    page.goto(f"{served}/")
    page.evaluate("document.getElementById('updated').textContent = 'not yet'")
    expect(page.locator("#updated")).not_to_have_text("not yet", timeout=30_000)
    screenshot(page, "csp-dashboard")
    # Logging out of the browsable API, without the inline handler DRF's link has.
    page.goto(f"{served}/api/leasing/")
    page.get_by_role("link", name=STAFF).click()
    screenshot(page, "csp-browsable-api-log-out")
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("body")).to_contain_text("You are logged out.")
    assert page.violations == [], page.violations
    assert page.errors == [], page.errors

    # A script injected into a page (as a cross-site scripting flaw would) does not run,
    # and the browser reports why.
    page.goto(f"{served}/api/")
    page.evaluate(
        "const s = document.createElement('script');"
        "s.textContent = 'window.injected = true';"
        "document.body.appendChild(s)"
    )
    assert page.evaluate("window.injected") is None
    assert any("script-src" in violation for violation in page.violations), page.violations
