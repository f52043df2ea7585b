import dataclasses

import pytest

from apps.documents import services
from apps.documents.api import DocumentSummary, get_document_summary
from tests.documents import samples
from tests.documents.conftest import upload


def test_summary_of_a_processed_document(owner):
    document = upload(owner, samples.pdf([["Payslip", "Net pay 2000"]]), name="pay.pdf").document
    services.document_process(document_id=document.pk)
    summary = get_document_summary(document.pk)
    assert summary == DocumentSummary(
        id=document.pk,
        owner_id=owner.pk,
        status="processed",
        kind="payslip",
        mime_type="application/pdf",
        title="pay",
    )
    assert summary.is_processed
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.status = "failed"


def test_summary_of_a_pending_document_is_not_processed(owner):
    summary = get_document_summary(upload(owner).document.pk)
    assert (summary.status, summary.kind, summary.is_processed) == ("pending", "", False)


@pytest.mark.django_db
def test_no_summary_for_a_document_that_does_not_exist():
    assert get_document_summary(123456) is None
