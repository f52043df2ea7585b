import io
import re
import zipfile

import pytest
from PIL import Image

from apps.documents import pipeline
from tests.documents import samples

# --- sniff ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.pdf(), pipeline.PDF),
        (b"junk before the header " + samples.pdf(), pipeline.PDF),
        (samples.docx_file(), pipeline.DOCX),
        (b"A plain note.\nSecond line.\n", pipeline.TEXT),
        (samples.LATIN1_TEXT, pipeline.TEXT),  # text, in the wrong encoding: extract says so
        (samples.image("PNG"), pipeline.PNG),
        (samples.image("JPEG"), pipeline.JPEG),
        (samples.multipage_tiff(), pipeline.TIFF),
        (samples.GIF, "image/gif"),
        (samples.ELF, "application/x-executable"),
        (samples.UTF16_TEXT, "text/plain; charset=utf-16"),
        (samples.zip_file({"notes.txt": b"not a document"}), "application/zip"),
        (bytes(range(256)) * 4, "application/octet-stream"),
    ],
)
def test_sniff_decides_the_type_from_the_bytes(data, expected):
    assert pipeline.sniff(io.BytesIO(data)) == expected


def test_sniff_leaves_the_stream_at_the_start():
    stream = io.BytesIO(samples.docx_file())
    pipeline.sniff(stream)
    assert stream.tell() == 0


# --- checksum ---------------------------------------------------------------------------


def test_checksum_is_sha256_of_all_chunks():
    assert pipeline.checksum([b"ab", b"c"]) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


# --- extract ----------------------------------------------------------------------------


def test_extract_pdf_reads_pages_text_and_metadata():
    data = samples.pdf(
        [["Payslip for March", "Net pay 2000"], ["Second page"]],
        info={"Title": "March payslip", "Author": "ACME Ltd", "CreationDate": "D:20260102030405Z"},
    )
    extraction = pipeline.extract(data, pipeline.PDF)
    assert extraction.page_count == 2
    assert "Net pay 2000" in extraction.text
    assert "Second page" in extraction.text
    assert extraction.title == "March payslip"
    assert extraction.author == "ACME Ltd"
    assert extraction.created.isoformat() == "2026-01-02T03:04:05+00:00"


def test_extract_pdf_with_an_empty_user_password_is_read():
    extraction = pipeline.extract(samples.encrypted_pdf(user_password=""), pipeline.PDF)
    assert "A private letter" in extraction.text


def test_extract_docx_reads_paragraphs_tables_and_properties():
    data = samples.docx_file(["Tenancy agreement", "The tenant pays"], title="Lease", author="Ada")
    extraction = pipeline.extract(data, pipeline.DOCX)
    assert extraction.page_count is None  # a DOCX has no fixed pages
    assert "Tenancy agreement\nThe tenant pays" in extraction.text
    assert "cell one\tcell two" in extraction.text
    assert (extraction.title, extraction.author) == ("Lease", "Ada")


def test_extract_text_reads_utf8_and_drops_the_bom():
    extraction = pipeline.extract("\ufeffCafé crème".encode(), pipeline.TEXT)
    assert extraction.text == "Café crème"


def test_extract_images_counts_frames_and_reads_exif():
    jpeg = pipeline.extract(samples.jpeg_with_exif(), pipeline.JPEG)
    assert (jpeg.page_count, jpeg.title, jpeg.author) == (1, "Passport scan", "Ada Lovelace")
    assert jpeg.created.isoformat() == "2026-01-02T03:04:05+00:00"
    assert pipeline.extract(samples.multipage_tiff(3), pipeline.TIFF).page_count == 3


@pytest.mark.parametrize(
    ("data", "mime_type", "words"),
    [
        (b"%PDF-1.4\n this is not a PDF at all", pipeline.PDF, "The PDF could not be read"),
        (samples.pdf()[:150], pipeline.PDF, "The PDF could not be read"),
        (samples.encrypted_pdf(), pipeline.PDF, "password-protected"),
        (samples.pdf([]), pipeline.PDF, "no pages"),
        (
            samples.zip_file({"[Content_Types].xml": b"<x/>", "word/document.xml": b"not xml"}),
            pipeline.DOCX,
            "The DOCX could not be read",
        ),
        (samples.LATIN1_TEXT, pipeline.TEXT, "not UTF-8 (byte 0xE0 at position 31)"),
        (samples.png_claiming(50_000, 50_000), pipeline.PNG, "too large"),
        (samples.png_claiming(8000, 6000), pipeline.PNG, "8000×6000 pixels"),
        (samples.image("JPEG")[:300], pipeline.JPEG, "The image could not be read"),
    ],
)
def test_extract_of_a_bad_file_is_unreadable_with_a_reason(data, mime_type, words):
    with pytest.raises(pipeline.Unreadable, match=re.escape(words)) as refused:
        pipeline.extract(data, mime_type)
    assert refused.value.step == "extract"


def test_extract_refuses_a_small_docx_whose_xml_unpacks_to_megabytes_as_a_zip_bomb():
    # 6.8 MB of empty paragraphs in a 50 KB upload took python-docx over 300 MB to parse.
    bomb = samples.docx_with_parts({"word/document.xml": samples.empty_paragraphs(6_800_000)})
    assert len(bomb) < 100_000
    with pytest.raises(pipeline.Unreadable, match=r"compressed \d+ to 1.*zip bomb") as refused:
        pipeline.extract(bomb, pipeline.DOCX)
    assert refused.value.step == "extract"


def test_extract_refuses_a_docx_with_too_many_xml_elements_within_the_size_limits():
    # 9.7 MB of empty paragraphs padded below 100 to 1: 519 MB to parse, were it read.
    xml = samples.empty_paragraphs(9_700_000, padding=240_000)
    bomb = samples.docx_with_parts({"word/document.xml": xml})
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        part = archive.getinfo("word/document.xml")
    assert part.file_size < pipeline.MAX_DOCX_PART_BYTES
    assert part.file_size / part.compress_size < pipeline.MAX_DOCX_COMPRESSION_RATIO
    with pytest.raises(pipeline.Unreadable, match=r"more than 500,000 XML elements"):
        pipeline.extract(bomb, pipeline.DOCX)


def test_extract_refuses_a_docx_with_a_part_over_the_part_limit(monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_DOCX_PART_BYTES", 500_000)
    docx = samples.docx_with_parts({"word/media/image1.png": samples.noise(500_001)})
    with pytest.raises(pipeline.Unreadable, match=r"part word/media/image1\.png would unpack"):
        pipeline.extract(docx, pipeline.DOCX)


def test_extract_refuses_a_docx_over_the_total_limit(monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_DOCX_UNPACKED_BYTES", 1_000_000)
    pictures = {f"word/media/image{n}.png": samples.noise(100_000, seed=n) for n in range(3)}
    with pytest.raises(pipeline.Unreadable, match=r"would unpack to .* MB, more than the"):
        pipeline.extract(samples.docx_with_parts(pictures), pipeline.DOCX)


def test_extract_reads_a_long_ordinary_docx_within_the_limits():
    paragraphs = b"".join(
        b"<w:p><w:r><w:t>Clause %d: %s</w:t></w:r></w:p>"
        % (n, samples.noise(24, seed=n).hex().encode())
        for n in range(12_000)
    )
    xml = samples.empty_paragraphs(0).replace(b"<w:body>", b"<w:body>" + paragraphs)
    docx = samples.docx_with_parts({"word/document.xml": xml})
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        unpacked = archive.getinfo("word/document.xml").file_size
    assert unpacked > pipeline.DOCX_RATIO_CHECKED_FROM_BYTES
    assert "Clause 11999" in pipeline.extract(docx, pipeline.DOCX).text


# --- classify ---------------------------------------------------------------------------


def test_classify_uses_text_titles_and_the_file_name():
    text_only = pipeline.Extraction(page_count=1, text="Gross pay 3000, net pay 2100, employer")
    assert pipeline.classify(text_only, name="scan.pdf", title="") == "payslip"
    blank = pipeline.Extraction(page_count=1, text="")
    assert pipeline.classify(blank, name="my_passport-2026.jpg", title="") == "identity"
    assert pipeline.classify(blank, name="scan.pdf", title="Invoice 42") == "invoice"
    assert pipeline.classify(blank, name="scan.pdf", title="") == "other"


# --- thumbnail --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (samples.image("PNG", size=(1000, 500)), pipeline.PNG),
        (samples.image("JPEG", size=(300, 900)), pipeline.JPEG),
        (samples.image("TIFF", size=(600, 400)), pipeline.TIFF),
        (samples.pdf(), pipeline.PDF),
    ],
)
def test_thumbnail_is_a_png_fitting_the_box(data, mime_type):
    png = pipeline.thumbnail(data, mime_type)
    thumb = Image.open(io.BytesIO(png))
    assert thumb.format == "PNG"
    assert max(thumb.size) <= pipeline.THUMBNAIL_PIXELS
    assert max(thumb.size) >= pipeline.THUMBNAIL_PIXELS - 1


@pytest.mark.parametrize("mime_type", [pipeline.TEXT, pipeline.DOCX])
def test_no_thumbnail_for_text_and_docx(mime_type):
    assert pipeline.thumbnail(b"whatever", mime_type) is None


# --- all of it --------------------------------------------------------------------------


def test_run_gives_every_result():
    data = samples.pdf([["LEASE AGREEMENT", "Landlord: City", "Tenant: Ada"]])
    results = pipeline.run(data, name="contract.pdf", title="")
    assert results.mime_type == pipeline.PDF
    assert results.size == len(data)
    assert results.sha256 == pipeline.checksum([data])
    assert results.extraction.page_count == 1
    assert results.kind == "lease"
    assert results.thumbnail_png.startswith(b"\x89PNG")


def test_run_leaves_out_a_thumbnail_that_cannot_be_rendered(monkeypatch):
    def broken_renderer(data):
        raise RuntimeError("cannot render")

    monkeypatch.setattr(pipeline, "_pdf_thumbnail", broken_renderer)
    results = pipeline.run(samples.pdf([["Still readable"]]), name="odd.pdf", title="")
    assert results.thumbnail_png is None
    assert "Still readable" in results.extraction.text


def test_run_refuses_bytes_of_a_type_it_does_not_process():
    with pytest.raises(pipeline.Unreadable, match="image/gif") as refused:
        pipeline.run(samples.GIF, name="a.gif", title="")
    assert refused.value.step == "sniff"
