"""JSON logs, one object per line on stderr, with the request id of whatever caused them.

Our own log calls (`city.logging.get_logger`) are rendered by structlog straight to
stderr: the per-request line is on the hot path, and the stdlib's records, handlers and
formatters cost several times more. Records of the libraries (Django, Celery, gunicorn)
still go through the stdlib and are rendered by structlog in the same format. Context bound
with `structlog.contextvars.bind_contextvars` (the request id) is merged into both.
"""

import logging
import sys

import orjson
import structlog

_TIMESTAMPER = structlog.processors.TimeStamper(fmt="iso", utc=True)


def get_logger(name: str):
    """A structlog logger whose lines name their origin, like the stdlib's loggers."""
    return structlog.get_logger().bind(logger=name)


def configure_structlog(*, level: str) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _TIMESTAMPER,
            structlog.processors.format_exc_info,
            # orjson renders the per-request line in half the time of the json module.
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.BytesLoggerFactory(file=sys.stderr.buffer),
        cache_logger_on_first_use=True,
    )


def logging_config(*, level: str) -> dict:
    """Configure structlog, and return a dictConfig rendering stdlib records the same way."""
    configure_structlog(level=level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
                "foreign_pre_chain": [
                    structlog.contextvars.merge_contextvars,
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    _TIMESTAMPER,
                ],
            },
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # Replaces Django's default console handler, so nothing is printed twice.
            "django": {"handlers": ["stderr"], "level": level, "propagate": False},
            # Our request line replaces Django's own per-request warnings for 4xx/5xx.
            "django.request": {"level": logging.ERROR},
            "django.server": {"level": logging.WARNING},
            # A line per outgoing HTTP request (peer calls) would double our own logs.
            "httpx": {"level": logging.WARNING},
        },
    }
