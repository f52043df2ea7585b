"""Processing, step by step, from the bytes of a file to what we know about it.

The steps are pure (bytes in, values out: no database, no storage) so each is tested
alone on files the tests make: sniff the type, checksum, extract (pages, text, metadata),
classify the kind, render a thumbnail. Only pip-installed libraries read the files
(pypdf, python-docx, Pillow, pypdfium2), never a system program.

A file a step cannot read raises `Unreadable(step, reason)` with a reason a person can
act on; whatever a parsing library raises on a malformed file becomes one too, so a bad
file ends as a clear failure and never reaches the worker as a crash.

Memory and time: what a file declares is checked before it is decoded, so the usual
bombs are refused early with a precise reason that begins `too_large_to_render:` (an
image over MAX_IMAGE_PIXELS, a DOCX whose zip parts or XML are too big or too
compressed, a PDF stream past pypdf's decompression limits, a PDF page larger than the
format allows or whose content inflates past MAX_PDF_PAGE_CONTENT_BYTES before PDFium
renders it). Those checks cannot foresee everything a C library does, so
`sandbox.run` runs this pipeline in a child process with a memory and a time budget;
`run` tells it, through `on_step`, which step it has reached.
"""

import hashlib
import io
import re
import warnings
import xml.parsers.expat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import docx
import pypdf
import pypdfium2
from celery.exceptions import SoftTimeLimitExceeded
from PIL import Image

from apps.documents import kinds
from city.logging import get_logger

logger = get_logger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = "text/plain"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
IMAGE_TYPES = (PNG, JPEG, TIFF)
ACCEPTED_TYPES = (PDF, DOCX, TEXT, PNG, JPEG, TIFF)
ACCEPTED_NAMES = "PDF, DOCX, plain text (UTF-8), PNG, JPEG, TIFF"

SNIFF_BYTES = 8192
# Larger images are refused before they are decoded (a small file can claim a huge
# canvas: a decompression bomb). 40 million pixels is a 40-megapixel photo.
MAX_IMAGE_PIXELS = 40_000_000
# A DOCX is a zip, and python-docx reads every part into memory and parses its XML into
# a tree tens of times its size (6.8 MB of empty paragraphs take over 300 MB). Refused
# before unpacking: a part or a whole larger than these, or compressed more than this.
MAX_DOCX_PART_BYTES = 10 * 1024 * 1024
MAX_DOCX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_DOCX_COMPRESSION_RATIO = 100
# Small parts compress as they please: the ratio is checked above this size only.
DOCX_RATIO_CHECKED_FROM_BYTES = 1024 * 1024
# What the tree costs is its elements (about 300 bytes each, read by python-docx), and
# 10 MB of XML can hold 1.7 million: counted while streaming, before python-docx parses.
# A 300-page report has about 200,000.
MAX_DOCX_XML_ELEMENTS = 500_000
DOCX_XML_SUFFIXES = (".xml", ".rels")
MAX_TEXT_CHARS = 1_000_000
THUMBNAIL_PIXELS = 256
# A PDF page is at most 14,400 units a side (PDF 1.7, annex C), times its /UserUnit;
# larger is no real page. Its content is inflated (with pypdf's limit, as it streams)
# and measured before PDFium renders it: a page's drawing is rarely above a few MB, and
# PDFium holds several times the inflated size while it parses.
MAX_PDF_PAGE_UNITS = 14_400
MAX_PDF_PAGE_CONTENT_BYTES = 64 * 1024 * 1024
TOO_LARGE = "too_large_to_render"

# Magic numbers of common types we do not accept, so a refusal can say what the file is.
_OTHER_MAGIC = (
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!", "application/vnd.rar"),
    (b"{\\rtf", "application/rtf"),
    (b"%!PS", "application/postscript"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
)
_TEXT_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


class Unreadable(Exception):
    """The file cannot be processed; `reason` tells its owner why (and what to do)."""

    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class Extraction:
    page_count: int | None
    text: str
    title: str = ""
    author: str = ""
    created: datetime | None = None


@dataclass(frozen=True)
class Results:
    mime_type: str
    size: int
    sha256: str
    extraction: Extraction
    kind: str
    thumbnail_png: bytes | None


@contextmanager
def step(name: str, what: str = "The file") -> Iterator[None]:
    """Turn whatever a library raises on a malformed file into `Unreadable(name, ...)`.

    A soft time limit goes through: the caller reports it as the time limit it is.
    """
    try:
        yield
    except (Unreadable, SoftTimeLimitExceeded, MemoryError):
        raise  # out of memory is the sandbox's to report, with its budget
    except pypdf.errors.LimitReachedError as error:
        raise Unreadable(
            name, f"{TOO_LARGE}: {what} inflates past what we read ({error})."[:1000]
        ) from error
    except Exception as error:
        raise Unreadable(
            name, f"{what} could not be read ({type(error).__name__}: {error})."[:1000]
        ) from error


# --- sniff ------------------------------------------------------------------------------


def sniff(stream: BinaryIO) -> str:
    """The MIME type of the bytes in `stream`, whatever the file is called or claims."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    # PDF readers accept a little junk before the header, and so do we.
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        return DOCX if _is_docx(stream) else "application/zip"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime_type in _OTHER_MAGIC:
        if head.startswith(magic):
            return mime_type
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text/plain; charset=utf-16"
    if _looks_like_text(head):
        return TEXT
    return "application/octet-stream"


def _is_docx(stream: BinaryIO) -> bool:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        stream.seek(0)
    return {"[Content_Types].xml", "word/document.xml"} <= names


def _looks_like_text(head: bytes) -> bool:
    """No NUL and almost no control characters: text, in some encoding (extract checks it
    is UTF-8 and says so when it is not)."""
    if not head or b"\x00" in head:
        return False
    return len(_TEXT_CONTROL.findall(head)) <= len(head) // 100


# --- checksum ---------------------------------------------------------------------------


def checksum(chunks: Iterable[bytes]) -> str:
    """SHA-256 in hex, fed chunk by chunk so an upload is never read into memory whole."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


# --- extract ----------------------------------------------------------------------------


def extract(data: bytes, mime_type: str) -> Extraction:
    """Page count, text and metadata, by type."""
    if mime_type == PDF:
        with step("extract", "The PDF"):
            return _extract_pdf(data)
    if mime_type == DOCX:
        with step("extract", "The DOCX"):
            return _extract_docx(data)
    if mime_type == TEXT:
        return _extract_text(data)
    if mime_type in IMAGE_TYPES:
        with step("extract", "The image"):
            return _extract_image(data)
    raise Unreadable("extract", f"Files of type {mime_type} are not processed.")


def _extract_pdf(data: bytes) -> Extraction:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        # Many PDFs are encrypted with an empty user password (only editing is locked).
        try:
            opened = reader.decrypt("")
        except pypdf.errors.DependencyError:
            opened = pypdf.PasswordType.NOT_DECRYPTED
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            raise Unreadable(
                "extract", "The PDF is password-protected; upload a copy without a password."
            )
    page_count = len(reader.pages)
    if page_count == 0:
        raise Unreadable("extract", "The PDF has no pages.")
    texts, length = [], 0
    for page in reader.pages:
        texts.append(page.extract_text() or "")
        length += len(texts[-1])
        if length >= MAX_TEXT_CHARS:
            break
    meta = reader.metadata
    return Extraction(
        page_count=page_count,
        text=_clean_text("\n".join(texts)),
        title=_clean_text(meta.title if meta else ""),
        author=_clean_text(meta.author if meta else ""),
        created=_pdf_created(meta),
    )


def _pdf_created(meta: pypdf.DocumentInformation | None) -> datetime | None:
    try:
        created = meta.creation_date if meta else None
    except ValueError:  # a malformed date in the file: not worth failing the document for
        return None
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created


def _extract_docx(data: bytes) -> Extraction:
    _check_docx_sizes(data)
    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    properties = document.core_properties
    created = properties.created
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    # A DOCX has no fixed pages: they depend on the program that lays it out.
    return Extraction(
        page_count=None,
        text=_clean_text("\n".join(parts)),
        title=_clean_text(properties.title),
        author=_clean_text(properties.author),
        created=created,
    )


def _check_docx_sizes(data: bytes) -> None:
    """Refuse a DOCX that would take too much memory to read: from the sizes its zip
    declares (zipfile unpacks no more than a part declares, so they are a bound), then
    from the elements of its XML, counted as it streams."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        _check_part_sizes(parts, size=len(data))
        _check_xml_elements(archive, parts)


def _check_part_sizes(parts: list[zipfile.ZipInfo], *, size: int) -> None:
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise Unreadable(
            "extract",
            f"{TOO_LARGE}: The DOCX would unpack to {_megabytes(unpacked)}, more than the "
            f"{_megabytes(MAX_DOCX_UNPACKED_BYTES)} we read; save it smaller (fewer or "
            "smaller pictures) or as PDF.",
        )
    for part in parts:
        if part.file_size > MAX_DOCX_PART_BYTES:
            raise Unreadable(
                "extract",
                f"{TOO_LARGE}: The DOCX part {part.filename} would unpack to "
                f"{_megabytes(part.file_size)}, "
                f"more than the {_megabytes(MAX_DOCX_PART_BYTES)} we read of one part; "
                "split the document or save it as PDF.",
            )
    # A declared compressed size cannot be larger than the file it is in.
    for name, unpacked_size, compressed in [
        *((part.filename, part.file_size, part.compress_size) for part in parts),
        ("as a whole", unpacked, size),
    ]:
        ratio = unpacked_size / max(min(compressed, size), 1)
        if unpacked_size > DOCX_RATIO_CHECKED_FROM_BYTES and ratio > MAX_DOCX_COMPRESSION_RATIO:
            raise Unreadable(
                "extract",
                f"{TOO_LARGE}: The DOCX ({name}) is compressed {ratio:.0f} to 1, more than the "
                f"{MAX_DOCX_COMPRESSION_RATIO} to 1 of real documents; it looks like a "
                "zip bomb.",
            )


def _check_xml_elements(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo]) -> None:
    elements = 0

    def count(name, attributes) -> None:
        nonlocal elements
        elements += 1

    for part in parts:
        if not part.filename.endswith(DOCX_XML_SUFFIXES):
            continue
        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler = count
        with archive.open(part) as stream:
            try:
                while chunk := stream.read(64 * 1024):
                    parser.Parse(chunk, False)
                    if elements > MAX_DOCX_XML_ELEMENTS:
                        raise Unreadable(
                            "extract",
                            f"{TOO_LARGE}: The DOCX has more than {MAX_DOCX_XML_ELEMENTS:,} "
                            "XML elements "
                            f"(in {part.filename}), more than we read; split the document "
                            "or save it as PDF.",
                        )
            except xml.parsers.expat.ExpatError:
                continue  # python-docx says what is wrong, if it reads that part at all


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _extract_text(data: bytes) -> Extraction:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Unreadable(
            "extract",
            f"The text is not UTF-8 (byte 0x{data[error.start]:02X} at position {error.start}); "
            "save it as UTF-8 and upload it again.",
        ) from error
    return Extraction(page_count=None, text=_clean_text(text))


def _extract_image(data: bytes) -> Extraction:
    image = open_image(data)
    image.load()  # decode it all: a truncated or corrupt image fails here
    exif = image.getexif()
    return Extraction(
        page_count=getattr(image, "n_frames", 1),
        text="",  # reading text in images (OCR) needs a system program; not done
        title=_clean_text(exif.get(270, "")),  # ImageDescription
        author=_clean_text(exif.get(315, "")),  # Artist
        created=_exif_datetime(exif.get(306)),  # DateTime
    )


def open_image(data: bytes) -> Image.Image:
    """The image, opened lazily, once its size says decoding it is safe."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise Unreadable("extract", _too_many_pixels()) from error
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise Unreadable("extract", _too_many_pixels(f"{width}×{height}"))
    return image


def _too_many_pixels(size: str = "") -> str:
    return (
        f"{TOO_LARGE}: The image is too large{f' ({size} pixels)' if size else ''}: at most "
        f"{MAX_IMAGE_PIXELS:,} pixels are processed, to keep decompression bombs out."
    )


def _exif_datetime(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _clean_text(value: str | None) -> str:
    # PostgreSQL text cannot hold NUL; some PDFs' text and metadata have it.
    return (value or "").replace("\x00", "")[:MAX_TEXT_CHARS]


# --- classify ---------------------------------------------------------------------------


def classify(extraction: Extraction, *, name: str, title: str) -> str:
    return kinds.classify(text=extraction.text, title=f"{title}\n{extraction.title}", name=name)


# --- thumbnail --------------------------------------------------------------------------


def thumbnail(data: bytes, mime_type: str) -> bytes | None:
    """A PNG at most THUMBNAIL_PIXELS on a side: of an image, or of a PDF's first page."""
    if mime_type in IMAGE_TYPES:
        with step("thumbnail", "The image"):
            return _png(open_image(data))
    if mime_type == PDF:
        with step("thumbnail", "The PDF's first page"):
            return _pdf_thumbnail(data)
    return None


def _pdf_thumbnail(data: bytes) -> bytes:
    _check_first_page(data)
    pdf = pypdfium2.PdfDocument(data)
    try:
        page = pdf[0]
        width, height = page.get_size()
        scale = THUMBNAIL_PIXELS / max(width, height, 1)
        return _png(page.render(scale=scale).to_pil())
    finally:
        pdf.close()


def _check_first_page(data: bytes) -> None:
    """Refuse to render a first page larger than a page can be, or whose content
    inflates past MAX_PDF_PAGE_CONTENT_BYTES (measured with pypdf, which stops inflating
    at its own limit), before PDFium holds it all."""
    page = pypdf.PdfReader(io.BytesIO(data), strict=False).pages[0]
    box = page.mediabox
    unit = float(page.get("/UserUnit", 1) or 1)
    width, height = abs(float(box.width)), abs(float(box.height))
    if max(width, height) > MAX_PDF_PAGE_UNITS * max(unit, 1):
        raise Unreadable(
            "thumbnail",
            f"{TOO_LARGE}: The PDF's first page is {width:,.0f}×{height:,.0f} points, larger "
            f"than a page can be ({MAX_PDF_PAGE_UNITS:,} a side); it is not rendered.",
        )
    contents = page.get_contents()
    length = len(contents.get_data()) if contents is not None else 0
    if length > MAX_PDF_PAGE_CONTENT_BYTES:
        raise Unreadable(
            "thumbnail",
            f"{TOO_LARGE}: The PDF's first page draws {_megabytes(length)} of content, more "
            f"than the {_megabytes(MAX_PDF_PAGE_CONTENT_BYTES)} we render.",
        )


def _png(image: Image.Image) -> bytes:
    image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- all of it --------------------------------------------------------------------------


def run(
    data: bytes, *, name: str, title: str, on_step: Callable[[str], None] | None = None
) -> Results:
    """Every step in order; the first that cannot read the file raises `Unreadable`,
    except the thumbnail, which is left out when it cannot be rendered (unless it is too
    large to render: that fails the file, as it would anywhere else). `on_step` is told
    each step's name as it starts."""
    on_step = on_step or (lambda name: None)
    on_step("sniff")
    mime_type = sniff(io.BytesIO(data))
    if mime_type not in ACCEPTED_TYPES:
        raise Unreadable("sniff", f"The file is {mime_type}; accepted: {ACCEPTED_NAMES}.")
    on_step("checksum")
    sha256 = checksum([data])
    on_step("extract")
    extraction = extract(data, mime_type)
    on_step("classify")
    kind = classify(extraction, name=name, title=title)
    on_step("thumbnail")
    return Results(
        mime_type=mime_type,
        size=len(data),
        sha256=sha256,
        extraction=extraction,
        kind=kind,
        thumbnail_png=_thumbnail_if_possible(data, mime_type),
    )


def _thumbnail_if_possible(data: bytes, mime_type: str) -> bytes | None:
    # The text and facts are read by then: a page that will not render costs the picture
    # only. A file built to exhaust the renderer is refused like any other bomb.
    try:
        return thumbnail(data, mime_type)
    except Unreadable as error:
        if error.reason.startswith(TOO_LARGE):
            raise
        logger.warning("thumbnail_skipped", reason=error.reason)
        return None
