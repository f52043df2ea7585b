"""Swagger UI at /api/docs/ in a real browser: a person with a token uploads a PDF with
"Try it out", as the schema describes the upload (a file field, `format: binary`)."""

import hashlib
import json
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests import servers
from tests.browser.conftest import screenshot
from tests.documents import samples

USER, PASSWORD = "ada", "an-analytical-engine-1843"
# Prints the key of a token made for a new resident, as the shell's last line.
CREATE_USER_WITH_TOKEN = (
    "from django.contrib.auth.models import User; "
    "from rest_framework.authtoken.models import Token; "
    f"user = User.objects.create_user({USER!r}, 'ada@city.example', {PASSWORD!r}); "
    "print(Token.objects.create(user=user).key)"
)
TAGS = ("greeter", "documents", "leasing", "platform")  # Swagger UI's sections
UPLOAD = "#operations-documents-api_documents_create"  # Swagger UI's id: tag, operationId


@dataclass(frozen=True)
class Served:
    url: str
    token: str


@pytest.fixture
def served(tmp_path, collected_static) -> Served:
    """Every service in one gunicorn with production settings and a database of its own,
    tasks run in-process (no broker); a resident with an API token."""
    with servers.combined_deployment(
        tmp_path, "swagger", static_root=collected_static, shell=CREATE_USER_WITH_TOKEN
    ) as (url, printed):
        yield Served(url, printed.strip().splitlines()[-1])


def authorize(page: Page, token: str) -> None:
    """Swagger UI's "Authorize": the token scheme's value is the whole header value."""
    page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    expect(dialog).to_be_visible()
    token_scheme = dialog.locator(".auth-container").filter(has_text="tokenAuth")
    token_scheme.locator("input").fill(f"Token {token}")
    token_scheme.get_by_role("button", name="Apply credentials").click()
    expect(token_scheme).to_contain_text("Authorized")
    expect(token_scheme.get_by_role("button", name="Remove authorization")).to_be_visible()
    screenshot(page, "swagger-2-authorized")
    token_scheme.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_a_resident_uploads_a_pdf_through_swagger_ui_try_it_out(page, served):
    outside: list[str] = []  # the machine has no internet, and Swagger UI needs none

    def note_outside(request) -> None:
        if not request.url.startswith((f"{served.url}/", "data:", "blob:")):
            outside.append(request.url)

    page.on("request", note_outside)
    content = samples.pdf([["Payslip", "March 2026"]])

    page.goto(f"{served.url}/api/docs/")
    sections = {tag: page.locator(f'.opblock-tag[data-tag="{tag}"]') for tag in TAGS}
    for section in sections.values():
        expect(section).to_be_visible()
    expect(sections["documents"]).to_contain_text("Your documents")
    expect(page.locator(UPLOAD)).to_contain_text("Upload a document")
    screenshot(page, "swagger-1-docs")
    for tag in ("greeter", "leasing", "platform"):  # the person's eyes are on documents
        sections[tag].click()
    expect(page.locator(".opblock-tag-section.is-open")).to_have_count(1)
    authorize(page, served.token)

    upload = page.locator(UPLOAD)
    upload.locator(".opblock-summary").click()
    upload.get_by_role("button", name="Try it out").click()
    form = upload.locator(".opblock-section-request-body")  # multipart/form-data, one row a field
    form.locator('tr[data-property-name="file"] input[type="file"]').set_input_files(
        {"name": "payslip-march.pdf", "mimeType": "application/pdf", "buffer": content}
    )
    form.locator('tr[data-property-name="title"] input[type="text"]').fill("Payslip, March")
    screenshot(page, "swagger-3-upload-filled")
    with page.expect_response(
        lambda response: (
            response.url == f"{served.url}/api/documents/" and response.request.method == "POST"
        )
    ) as answered:
        upload.get_by_role("button", name="Execute").click()
    sent = answered.value
    assert sent.request.headers["authorization"] == f"Token {served.token}"
    assert sent.status == 202

    shown = upload.locator(".live-responses-table .response")
    expect(shown.locator(".response-col_status")).to_contain_text("202")
    body = shown.locator(".response-col_description .microlight").first
    expect(body).to_contain_text('"original_name": "payslip-march.pdf"')
    document = json.loads(body.inner_text())
    screenshot(page, "swagger-4-uploaded")

    headers = {"Authorization": f"Token {served.token}"}
    with httpx.Client(base_url=served.url, headers=headers) as api:
        stored = api.get(f"/api/documents/{document['id']}/")
        downloaded = api.get(f"/api/documents/{document['id']}/download/")
    assert stored.status_code == 200
    assert stored.json()["title"] == "Payslip, March"
    assert stored.json()["mime_type"] == "application/pdf"
    assert stored.json()["size"] == len(content)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert hashlib.sha256(downloaded.content).hexdigest() == stored.json()["sha256"]
    assert outside == [], f"Swagger UI fetched from outside the city: {outside}"
