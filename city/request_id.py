"""The request id: taken from X-Request-ID when it is well-formed, made up otherwise."""

import re
import uuid

import structlog

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"  # the header as WSGI names it
# What load balancers and tracing tools send: UUIDs, hex, and similar tokens.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")


def request_id_from(header_value: str | None) -> str:
    if header_value and _WELL_FORMED.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")
