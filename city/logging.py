"""Logs on stderr, one line per event, with the request id of whatever caused them.

Two formats (LOG_FORMAT): `json`, one JSON object per line, for production, the
per-service deployments, the split topology and the tests (machines read them); and
`console`, structlog's aligned `key=value` lines for people, the default of `make run`
(city.settings.dev), in colours only when stderr is a terminal.

Our own log calls (`city.logging.get_logger`) are rendered by structlog straight to
stderr: the per-request line is on the hot path, and the stdlib's records, handlers and
formatters cost several times more. Records of the libraries (Django, Celery, gunicorn)
still go through the stdlib and are rendered by structlog in the same format. The console
format costs more per line than orjson's, which only development pays. Context bound
with `structlog.contextvars.bind_contextvars` (the request id) is merged into both.
"""

import logging
import sys
from enum import Enum

import orjson
import structlog

_TIMESTAMPER = structlog.processors.TimeStamper(fmt="iso", utc=True)
FORMATS = ("json", "console")


def get_logger(name: str):
    """A structlog logger whose lines name their origin, like the stdlib's loggers."""
    return structlog.get_logger().bind(logger=name)


def configure_structlog(*, level: str, format: str = "json") -> None:
    if format == "console":
        # ConsoleRenderer writes tracebacks itself (so no format_exc_info) and makes str.
        last = [_plain_enums, _console_renderer()]
        factory = structlog.WriteLoggerFactory(file=sys.stderr)
    else:
        # orjson renders the per-request line in half the time of the json module.
        last = [structlog.processors.format_exc_info]
        last.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _TIMESTAMPER,
            *last,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )


def _plain_enums(logger, method_name: str, event_dict: dict) -> dict:
    """`status=200`, not `status=<HTTPStatus.OK: 200>` (JSON renders an enum's value)."""
    for key, value in event_dict.items():
        if isinstance(value, Enum):
            event_dict[key] = value.value
    return event_dict


def _console_renderer() -> structlog.dev.ConsoleRenderer:
    """Aligned lines for people; colours only for a terminal (not in a file or a pipe).

    Tracebacks as Python prints them: short, and without the values of local variables
    (Rich's default), which may hold passwords or tokens.
    """
    return structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
    )


def logging_config(*, level: str, format: str = "json") -> dict:
    """Configure structlog, and return a dictConfig rendering stdlib records the same way.

    `format` is `json` or `console`; anything else is refused when the settings load.
    """
    if format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {format!r}.")
    configure_structlog(level=level, format=format)
    if format == "console":
        rendering = [_plain_enums, _console_renderer()]
    else:
        rendering = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *rendering,
                ],
                "foreign_pre_chain": [
                    structlog.contextvars.merge_contextvars,
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    _TIMESTAMPER,
                ],
            },
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "structlog"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # Replaces Django's default console handler, so nothing is printed twice.
            "django": {"handlers": ["stderr"], "level": level, "propagate": False},
            # Our request line replaces Django's own per-request warnings for 4xx/5xx.
            "django.request": {"level": logging.ERROR},
            "django.server": {"level": logging.WARNING},
            # A line per outgoing HTTP request (peer calls) would double our own logs.
            "httpx": {"level": logging.WARNING},
            # axes' lines for every attempt; a lockout is logged by city.auth.
            "axes": {"level": logging.WARNING},
        },
    }
