"""Demo data for development (`manage.py seed_demo`): the demo resident's payslip.

The resident "ada" is made by the greeter's demo, which runs first; she is found here by
username. Her payslip is a one-page PDF written in code and uploaded through the service,
as the API does it. Its bytes never change, so the upload's own duplicate check makes a
second run give back the same document instead of storing another. Without a broker
(`make run`) processing runs in-process right after the commit, so the document is
processed by the time the line is printed; with one, it says what the worker has yet to do.
"""

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from apps.documents.api import document_path
from apps.documents.models import Document
from apps.documents.selectors import document_for_owner
from apps.documents.services import document_upload

RESIDENT_USERNAME = "ada"  # the greeter's demo resident
PAYSLIP_NAME = "payslip-ada-lovelace.pdf"
PAYSLIP_TITLE = "Payslip, Analytical Engines"
PAYSLIP_LINES = (
    "Analytical Engines SARL - 8 rue de la Charite, 69002 Lyon",
    "PAYSLIP",
    "Employee: Ada Lovelace, software engineer (permanent contract)",
    "Gross pay: 3 450.00 EUR",
    "Social contributions: -760.00 EUR",
    "Net pay: 2 690.00 EUR",
    "Paid by bank transfer on the last working day of the month.",
)


def seed() -> Iterator[str]:
    resident = get_user_model().objects.filter(username=RESIDENT_USERNAME).first()
    if resident is None:
        yield f"{'documents:':<15}no resident '{RESIDENT_USERNAME}' here, so no demo document"
        return
    upload = document_upload(
        owner=resident,
        file=ContentFile(payslip_pdf(), name=PAYSLIP_NAME),
        title=PAYSLIP_TITLE,
    )
    # As processing left it (in-process, right after the upload's commit, without a broker).
    document = document_for_owner(owner_id=resident.pk, document_id=upload.document.pk)
    yield f"{'her payslip:':<15}{_state(document)}  ({document_path(document.pk)})"


def _state(document: Document) -> str:
    if document.status == Document.Status.PROCESSED:
        pages = f"{document.page_count} page{'s' if document.page_count != 1 else ''}"
        return f"a PDF, processed: kind {document.kind}, {pages}"
    if document.status == Document.Status.FAILED:
        return f"a PDF, failed at {document.failure_step}: {document.failure_reason}"
    return f"a PDF, {document.status}: a Celery worker processes it"


def payslip_pdf() -> bytes:
    """A one-page PDF with the payslip's lines as text, written by hand (always the same
    bytes): the smallest file the pipeline reads as a real PDF."""
    shown = " T* ".join(f"({_pdf_string(line)}) Tj" for line in PAYSLIP_LINES)
    stream = f"BT /F1 12 Tf 16 TL 72 720 Td {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        f"<< /Title ({_pdf_string(PAYSLIP_TITLE)}) /Author (Analytical Engines SARL) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n".encode("ascii")
    out += f"startxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
