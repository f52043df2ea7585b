"""A real headless Chromium (Debian's), driven by Playwright, for pages people look at.

Every browser test leaves a screenshot of its page in test-artifacts/, passed or failed.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests import servers

ARTIFACTS = servers.REPO / "test-artifacts"
# As root Chromium runs only without its sandbox; the rest keeps it off a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 760}


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module: Playwright's event loop runs in this thread only while a
    browser module runs, so Django's async-safety checks see no loop elsewhere."""
    chromium = servers.require_program("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Page:
    """A fresh page; its script errors fail the test, and it is photographed at the end."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    yield page
    screenshot(page, request.node.name)
    context.close()
    assert script_errors == [], f"the page's scripts failed: {script_errors}"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
