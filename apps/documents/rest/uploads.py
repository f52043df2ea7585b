"""Uploads over the limit are refused before their body is read into memory or to disk."""

import tempfile

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.core.handlers.wsgi import LimitedStream

from city.errors import PayloadTooLarge

# Room for the multipart framing and the small fields (title) around the file.
ENVELOPE_BYTES = 64 * 1024
_READ_BYTES = 64 * 1024


class SizeLimitedUpload(FileUploadHandler):
    """First of the upload handlers: refuses the request when its Content-Length is over
    the limit (nothing read yet), and a file part as soon as its streamed bytes pass it
    (a body whose Content-Length hides a file just over the limit in the envelope).

    A body without Content-Length (`Transfer-Encoding: chunked`) is one Django's WSGI
    request does not read at all (it sees an empty body). gunicorn hands it over whole
    (`wsgi.input_terminated`), so it is read here, when the handler is made (before
    anything reads the body), into a spool on disk past FILE_UPLOAD_MAX_MEMORY_SIZE and
    no further than the limit and its envelope: it then carries the length read, and is
    parsed, or refused with 413 as a body announced too large, as any other. The load
    balancer caps bodies in front of every replica too; this holds where one is reached
    directly.
    """

    def __init__(self, request, *, limit: int):
        super().__init__(request)
        self.limit = limit
        if request is not None:
            take_chunked_body(request, most=limit + ENVELOPE_BYTES)

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit + ENVELOPE_BYTES:
            raise _too_large(self.limit)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            raise _too_large(self.limit)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) keeps the file


def take_chunked_body(request, *, most: int) -> None:
    """Read a chunked body the server hands over whole into a spool, `most` bytes and one
    more at the most, and give the request that spool and the length read as its body (one
    byte over `most` is enough to refuse it). Any other request is left as it is."""
    meta = request.META
    if (
        meta.get("CONTENT_LENGTH")
        or not meta.get("wsgi.input_terminated")
        or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        return
    source = meta["wsgi.input"]
    # An unnamed file past the memory size: gone with the request, however it ends.
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    size = 0
    while size <= most:
        chunk = source.read(min(_READ_BYTES, most + 1 - size))
        if not chunk:
            break
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    meta["CONTENT_LENGTH"] = str(size)
    request._stream = LimitedStream(spool, size)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The upload is larger than {limit} bytes, the most accepted.",
        details={"max_bytes": limit},
    )
