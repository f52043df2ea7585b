"""Files built to exhaust the process that reads them: each fails with a clear reason,
the process that read it stays within the memory budget, and the next file is processed.

Every bomb is built here, small on disk (about a megabyte at most): deflate streams are
made of one compressed block repeated, so a gigabyte of inflated content costs a second
of checksumming, not a minute of compressing. They are processed in this process (the
embedded default, where tasks run in-process) and by a real Celery worker process.
"""

import functools
import json
import struct
import time
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from structlog.testing import capture_logs

from apps.documents import services
from apps.documents.models import Document
from tests import servers
from tests.documents import samples
from tests.factories import UserFactory

MB = 1024 * 1024
GB = 1024 * MB
WAIT_SECONDS = 90  # a bound so a broken run fails instead of hanging; never a measure
CHUNK = 1 * MB


# --- the bombs --------------------------------------------------------------------------


def _deflated(size: int, byte: bytes, *, raw: bool) -> tuple[bytes, int]:
    """`size` bytes of `byte`, deflated (zlib-wrapped unless `raw`), and their CRC-32."""
    chunk = byte * CHUNK
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush a block depends on nothing before it, so it can be repeated.
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler, crc = 1, 0
    for _ in range(size // CHUNK):
        crc = zlib.crc32(chunk, crc)
        if not raw:
            adler = zlib.adler32(chunk, adler)
    final = b"\x03\x00"  # an empty last block, fixed Huffman codes
    body = block * (size // CHUNK) + final
    if raw:
        return body, crc
    return b"\x78\xda" + body + adler.to_bytes(4, "big"), crc


def _pdf(objects: dict[int, bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)


def _one_page(page: bytes, *more: bytes) -> dict[int, bytes]:
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R " + page + b" >>",
    }
    return objects | {4 + index: obj for index, obj in enumerate(more)}


@functools.cache
def pdf_whose_page_inflates() -> bytes:
    """The attack as reported: one page whose content stream inflates to 1 GiB."""
    content, _ = _deflated(GB, b" ", raw=False)
    return _pdf(
        _one_page(
            b"/MediaBox [0 0 612 792] /Contents 4 0 R",
            _stream(content, b"/Filter /FlateDecode"),
        )
    )


@functools.cache
def pdf_drawing_a_form_that_inflates() -> bytes:
    """A page that draws a form XObject of 1 GiB: the page's own content is tiny, so only
    the memory limit of the process that renders it stops it."""
    form, _ = _deflated(GB, b" ", raw=False)
    return _pdf(
        _one_page(
            b"/MediaBox [0 0 612 792] /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R",
            _stream(b"/X Do"),
            _stream(
                form, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Filter /FlateDecode"
            ),
        )
    )


def pdf_of_forms_drawing_forms(depth: int = 9, fan_out: int = 10) -> bytes:
    """2 KB whose page draws a form that draws another ten times, nine deep: a billion
    squares to render, in little memory (a bomb of time)."""
    forms = []
    for level in range(depth):
        if level == depth - 1:
            forms.append(_stream(b"0 0 1 1 re f", b"/Type /XObject /Subtype /Form /BBox [0 0 9 9]"))
            continue
        draws = b" ".join([b"/X Do"] * fan_out)
        resources = b"/Resources << /XObject << /X %d 0 R >> >>" % (6 + level)
        forms.append(_stream(draws, b"/Type /XObject /Subtype /Form /BBox [0 0 9 9] " + resources))
    return _pdf(
        _one_page(
            b"/MediaBox [0 0 612 792] /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R",
            _stream(b"/X Do"),
            *forms,
        )
    )


def pdf_with_a_huge_page() -> bytes:
    """A page declared ten million points (3.5 km) a side."""
    return _pdf(_one_page(b"/MediaBox [0 0 10000000 10000000] /Contents 4 0 R", _stream(b"")))


@functools.cache
def docx_whose_document_inflates() -> bytes:
    """A DOCX whose word/document.xml inflates to 2 GiB (a zip bomb), written by hand."""
    members = [
        (b"[Content_Types].xml", *_stored(b"<Types/>")),
        (b"word/document.xml", *_deflated(2 * GB, b"<", raw=True), 2 * GB),
    ]
    out, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        method = 0 if len(data) == size else 8
        header = struct.pack("<HHHHHIII", 20, 0, method, 0, 0, crc, len(data), size)
        central += struct.pack("<IH", 0x02014B50, 20) + header
        central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, len(out)) + name
        out += struct.pack("<I", 0x04034B50) + header + struct.pack("<HH", len(name), 0) + name
        out += data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(central), len(out), 0)
    return bytes(out + central + end)


def _stored(data: bytes) -> tuple[bytes, int, int]:
    return data, zlib.crc32(data), len(data)


def png_claiming_100k_by_100k() -> bytes:
    return samples.png_claiming(100_000, 100_000)


TOO_LARGE = "too_large_to_render: "
BOMBS = [
    pytest.param(pdf_whose_page_inflates, "bomb.pdf", "thumbnail", TOO_LARGE, id="pdf-content"),
    pytest.param(
        pdf_drawing_a_form_that_inflates, "form.pdf", "thumbnail", TOO_LARGE, id="pdf-form"
    ),
    pytest.param(pdf_with_a_huge_page, "huge.pdf", "thumbnail", TOO_LARGE, id="pdf-page-size"),
    pytest.param(docx_whose_document_inflates, "bomb.docx", "extract", TOO_LARGE, id="docx-zip"),
    pytest.param(png_claiming_100k_by_100k, "bomb.png", "extract", TOO_LARGE, id="png-pixels"),
]


def test_the_bombs_are_small_on_disk_and_what_they_claim():
    assert all(len(make()) < 2.5 * MB for make in (param.values[0] for param in BOMBS))
    assert len(pdf_of_forms_drawing_forms()) < 4096
    assert b"/Length 1073741824" not in pdf_whose_page_inflates()  # the length is the packed one
    inflated = zlib.decompressobj()
    stream = pdf_whose_page_inflates().split(b"stream\n", 1)[1]
    assert len(inflated.decompress(stream, 64 * MB)) == 64 * MB  # and it keeps going


# --- in this process (the embedded default) ---------------------------------------------


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def process_here(owner, data: bytes, name: str) -> tuple[Document, list[dict]]:
    upload = services.document_upload(owner=owner, file=SimpleUploadedFile(name, data))
    with capture_logs() as logs:
        document = services.document_process(document_id=upload.document.pk)
    return document, [log for log in logs if log["event"] == "document_read"]


def peak_of_this_process_mb() -> float:
    return _status_mb(Path("/proc/self/status"), "VmHWM")


def _status_mb(status: Path, field: str) -> float:
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    pytest.fail(f"no {field} in {status}")


@pytest.mark.parametrize(("make", "name", "step", "reason"), BOMBS)
def test_a_bomb_processed_in_process_fails_clearly_within_the_budget_and_the_next_file_is_processed(
    owner, settings, make, name, step, reason
):
    data = make()
    before = peak_of_this_process_mb()
    failed, [read] = process_here(owner, data, name)
    assert (failed.status, failed.failure_step) == ("failed", step)
    assert failed.failure_reason.startswith(reason), failed.failure_reason
    assert (failed.kind, failed.text, failed.thumbnail.name) == ("", "", "")
    # This process did not grow; the child that read the file stayed within its budget
    # over what it started from (this process, copied on write).
    assert peak_of_this_process_mb() - before < 64
    assert read["peak_mb"] <= before + settings.DOCUMENTS_PROCESSING_MEMORY_MB
    good, _ = process_here(owner, samples.pdf([["Lease agreement"]]), "lease.pdf")
    assert (good.status, good.kind) == ("processed", "lease")
    assert good.thumbnail.name


def test_a_pdf_that_takes_too_long_fails_clearly_and_the_next_file_is_processed(owner, settings):
    settings.DOCUMENTS_PROCESSING_TIMEOUT_SECONDS = 2
    # Rendering it grows slowly as well: with room to spare, time is what runs out first.
    settings.DOCUMENTS_PROCESSING_MEMORY_MB = 8192
    started = time.monotonic()
    failed, [read] = process_here(owner, pdf_of_forms_drawing_forms(), "forms.pdf")
    assert time.monotonic() - started < WAIT_SECONDS
    assert (failed.status, failed.failure_step) == ("failed", "thumbnail")
    assert failed.failure_reason.startswith("too_slow_to_render: ")
    assert "longer than 2 seconds" in failed.failure_reason
    assert read["exit"] == "SIGKILL"
    good, _ = process_here(owner, samples.docx_file(["Payslip", "Net pay 2000"]), "pay.docx")
    assert (good.status, good.kind) == ("processed", "payslip")


def test_a_budget_too_small_for_a_real_file_says_so_and_a_larger_one_processes_it(owner, settings):
    settings.DOCUMENTS_PROCESSING_MEMORY_MB = 1
    # 36 megapixels, 108 MB decoded: more than a long test run's process has free to reuse
    # within what it has mapped already (the budget counts new address space).
    image = samples.image("PNG", size=(6000, 6000))
    failed, [_] = process_here(owner, image, "scan.png")
    assert failed.status == "failed"
    assert failed.failure_reason.startswith(TOO_LARGE)
    assert "more than the 1 MB of memory" in failed.failure_reason
    settings.DOCUMENTS_PROCESSING_MEMORY_MB = 512
    services.document_reprocess(document=failed)
    assert services.document_process(document_id=failed.pk).status == "processed"


# --- by a Celery worker process ---------------------------------------------------------

BUDGET_MB = 256  # a worker's setting, not the default: the budget is configurable


def pool_children(worker) -> list[int]:
    """The worker's pool processes (the ones that run tasks)."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def wait_until_done(document_id: int, worker) -> Document:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        document = Document.objects.get(pk=document_id)
        if document.status in ("processed", "failed"):
            return document
        assert worker.poll() is None, "the worker died"
        time.sleep(0.1)
    pytest.fail(f"document {document_id} not done after {WAIT_SECONDS}s")


def test_every_bomb_fails_clearly_in_a_worker_that_stays_within_its_budget_and_goes_on(
    api, worker_env, media_root, tmp_path, transactional_db
):
    owner = UserFactory()
    log = tmp_path / "worker.log"
    env = {
        **worker_env,
        "MEDIA_ROOT": str(media_root),
        "DOCUMENTS_PROCESSING_MEMORY_MB": str(BUDGET_MB),
        "DOCUMENTS_PROCESSING_TIMEOUT_SECONDS": "3",
    }
    bombs = [(param.values[0](), param.values[1], param.values[2]) for param in BOMBS]
    bombs.append((pdf_of_forms_drawing_forms(), "forms.pdf", "thumbnail"))
    with servers.celery_worker(queues=["documents"], env=env, log=log) as worker:
        [pool] = pool_children(worker)
        for data, name, step in bombs:
            upload = services.document_upload(owner=owner, file=SimpleUploadedFile(name, data))
            failed = wait_until_done(upload.document.pk, worker)
            assert (failed.status, failed.failure_step) == ("failed", step), name
            assert failed.failure_reason.startswith(
                ("too_large_to_render: ", "too_slow_to_render: ")
            )
            good = services.document_upload(
                owner=owner, file=SimpleUploadedFile("lease.pdf", samples.pdf([[f"Lease {name}"]]))
            )
            assert wait_until_done(good.document.pk, worker).status == "processed", name
        # The same pool process ran every task, and never grew past the budget.
        assert pool_children(worker) == [pool]
        pool_peak_mb = _status_mb(Path(f"/proc/{pool}/status"), "VmHWM")
        pool_mapped_peak_mb = _status_mb(Path(f"/proc/{pool}/status"), "VmPeak")
        assert worker.poll() is None
    assert pool_peak_mb < BUDGET_MB
    reads = [json.loads(line) for line in log.read_text().splitlines() if '"document_read"' in line]
    assert len(reads) == 2 * len(bombs)
    assert all(read["budget_mb"] == BUDGET_MB for read in reads)
    # Each child that read a file stayed within the budget over the address space of the pool
    # process it came from (what its limit is set from; the log rounds to the MB).
    assert max(read["peak_mb"] for read in reads) <= pool_mapped_peak_mb + BUDGET_MB + 0.5
    assert {read["outcome"] for read in reads} >= {"stopped", "unreadable", "results"}
