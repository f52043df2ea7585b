"""JSON logs, one object per line, with the request id of whatever caused them.

structlog renders every record, ours and the libraries' (Django, Celery, gunicorn through
the stdlib), so a log shipper reads one format. Context bound with
`structlog.contextvars.bind_contextvars` (the request id) is merged into every line.
"""

import logging

import structlog

SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(*, level: str) -> dict:
    """A dictConfig that renders every stdlib record as one JSON line on stderr."""
    configure_structlog()
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
                "foreign_pre_chain": SHARED_PROCESSORS,
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
        },
    }
