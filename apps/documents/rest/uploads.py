"""Uploads over the limit are refused before their body is read into memory or to disk."""

from django.core.files.uploadhandler import FileUploadHandler

from city.errors import PayloadTooLarge

# Room for the multipart framing and the small fields (title) around the file.
ENVELOPE_BYTES = 64 * 1024


class SizeLimitedUpload(FileUploadHandler):
    """First of the upload handlers: refuses the request when its Content-Length is over
    the limit (nothing read yet), and a file part as soon as its streamed bytes pass it
    (a body whose Content-Length hides a file just over the limit in the envelope).

    A body without Content-Length (chunked) is not parsed by Django under WSGI at all;
    the load balancer caps bodies in front of every replica.
    """

    def __init__(self, request, *, limit: int):
        super().__init__(request)
        self.limit = limit

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit + ENVELOPE_BYTES:
            raise _too_large(self.limit)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            raise _too_large(self.limit)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) keeps the file


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The upload is larger than {limit} bytes, the most accepted.",
        details={"max_bytes": limit},
    )
