"""Sending tasks by name, after the database commit."""

from django.db import transaction
from kombu.exceptions import KombuError

from city.celery import app
from city.logging import get_logger

logger = get_logger(__name__)


def send_task_on_commit(name: str, *, args: tuple = (), kwargs: dict | None = None) -> None:
    """Queue task `name` once the current transaction commits (at once outside one).

    The sender needs no import of the receiver: the name alone routes the task to its
    service's queue. The send waits on the broker for CELERY_BROKER_SEND_TIMEOUT_SECONDS
    at most (settings: the transport's socket timeouts, one attempt), so a broker that
    stalls delays the request that sends by that much and no more. A send that fails is
    logged (`task_not_sent`, with the task and its arguments), not raised: the data is
    committed, and the receiving service's sweep (where it has one) picks up what was not
    queued.
    """
    transaction.on_commit(lambda: _send(name, args, kwargs or {}), robust=True)


def _send(name: str, args: tuple, kwargs: dict) -> None:
    if app.conf.task_always_eager:
        # No broker (the embedded default): every service is in this process, but web
        # processes do not import the apps' tasks modules until asked to.
        app.loader.import_default_modules()
        app.tasks[name].apply(args=args, kwargs=kwargs)
    else:
        try:
            app.send_task(name, args=args, kwargs=kwargs)
        except (KombuError, OSError) as error:  # refused, timed out, closed, out of memory
            logger.error(
                "task_not_sent", task=name, args=list(args), kwargs=kwargs, error=str(error)
            )
            return
    logger.info("task_sent", task=name)
