"""Sample files made on the fly (nothing binary is committed): good ones of every accepted
type, and the bad ones a worker must survive."""

import hashlib
import io
import struct
import zipfile
import zlib

import docx
import pypdf
from PIL import Image


def pdf(pages: list[list[str]] | None = None, *, info: dict[str, str] | None = None) -> bytes:
    """A PDF written by hand: one text line per string, on each page; `info` as metadata
    (Title, Author, CreationDate)."""
    pages = [["Hello from a PDF"]] if pages is None else pages
    objects: dict[int, str] = {
        1: "<< /Type /Catalog /Pages 2 0 R >>",
        3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    page_ids = [4 + 2 * index for index in range(len(pages))]
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>"
    for page_id, lines in zip(page_ids, pages, strict=True):
        shown = " T* ".join(f"({_pdf_string(line)}) Tj" for line in lines)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET"
        objects[page_id] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        )
        objects[page_id + 1] = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
    trailer_info = ""
    if info:
        info_id = max(objects) + 1
        entries = " ".join(f"/{key} ({_pdf_string(value)})" for key, value in info.items())
        objects[info_id] = f"<< {entries} >>"
        trailer_info = f" /Info {info_id} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for object_id in sorted(objects):
        offsets[object_id] = len(out)
        out += f"{object_id} 0 obj\n{objects[object_id]}\nendobj\n".encode("latin-1")
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for object_id in range(1, size):
        out += f"{offsets[object_id]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R{trailer_info} >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def encrypted_pdf(user_password: str = "secret") -> bytes:  # noqa: S107 - a sample file
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf([["A private letter"]])))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_file(paragraphs: list[str] | None = None, *, title: str = "", author: str = "") -> bytes:
    document = docx.Document()
    for paragraph in paragraphs or ["Hello from a DOCX"]:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "cell one"
    table.rows[0].cells[1].text = "cell two"
    document.core_properties.title = title
    document.core_properties.author = author
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_with_parts(parts: dict[str, bytes]) -> bytes:
    """A real DOCX with some of its parts replaced or added."""
    with zipfile.ZipFile(io.BytesIO(docx_file())) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return zip_file({**members, **parts})


def empty_paragraphs(size: int, *, padding: int = 0) -> bytes:
    """A word/document.xml of about `size` bytes of empty paragraphs: it compresses to
    almost nothing and costs python-docx an element per six bytes. `padding` bytes of
    hex noise in a comment bring its compression ratio down."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>"
    )
    comment = b"<!--" + noise(padding // 2).hex().encode() + b"-->" if padding else b""
    return head + comment + b"<w:p/>" * (size // 6) + b"</w:body></w:document>"


def noise(size: int, *, seed: int = 0) -> bytes:
    """Bytes that do not compress, the same every run."""
    return hashlib.shake_256(seed.to_bytes(8)).digest(size)


def zip_file(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[270] = "Passport scan"
    exif[315] = "Ada Lovelace"
    exif[306] = "2026:01:02 03:04:05"
    return image("JPEG", exif=exif)


def multipage_tiff(pages: int = 3) -> bytes:
    frames = [Image.new("L", (20, 20), shade) for shade in range(0, 250, 250 // pages)][:pages]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
LATIN1_TEXT = "Bulletin de paie : salaire net à payer, café offert.".encode("latin-1")
UTF16_TEXT = "Hello".encode("utf-16")
