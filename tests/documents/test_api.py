"""apps.documents.api, the same contract in-process and across a split (over HTTP)."""

import dataclasses

import pytest

from apps.documents import services
from apps.documents.api import DocumentSummary, get_document_summary
from tests.documents import samples
from tests.documents.conftest import documents_deployed_alone, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["here", "over HTTP"])
def summary_for(request, settings):
    """get_document_summary as `owner` asks it: in-process, or from a documents deployment."""
    if request.param == "here":
        yield lambda document_id, owner: get_document_summary(document_id, owner_id=owner.pk)
        return
    with documents_deployed_alone(request, settings):
        yield lambda document_id, owner: get_document_summary(document_id, owner_id=owner.pk)


def test_summary_of_a_processed_document(owner, summary_for):
    document = upload(owner, samples.pdf([["Payslip", "Net pay 2000"]]), name="pay.pdf").document
    services.document_process(document_id=document.pk)
    summary = summary_for(document.pk, owner)
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


def test_summary_of_a_pending_document_is_not_processed(owner, summary_for, broker_url):
    # Queued on a broker no worker listens to: it stays pending.
    summary = summary_for(upload(owner).document.pk, owner)
    assert (summary.status, summary.kind, summary.is_processed) == ("pending", "", False)


def test_no_summary_of_another_persons_document(owner, stranger, summary_for):
    theirs = upload(stranger).document
    assert summary_for(theirs.pk, owner) is None


def test_no_summary_for_a_document_that_does_not_exist(owner, summary_for):
    assert summary_for(123456, owner) is None
