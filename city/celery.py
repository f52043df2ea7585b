"""The Celery app: configured from Django settings (CELERY_*), one queue per service.

A task named `<service>.<name>` goes to that service's queue, so a sender needs only the
name, never the receiver's code. The request id travels in a message header and is bound
to the logs of the task it caused.
"""

import os

import structlog
from celery import Celery, signals

from city.request_id import current_request_id, request_id_from
from city.services import SERVICES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city.settings.dev")

app = Celery("city")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"


def route_by_service(name, args, kwargs, options, task=None, **kw):
    service = SERVICES.get(name.partition(".")[0])
    return {"queue": service.queue} if service else None


@signals.before_task_publish.connect
def _attach_request_id(headers, **_):
    request_id = current_request_id()
    if request_id:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _bind_request_id(task, task_id, **_):
    # In-process (eager) tasks keep the request id of the request that runs them.
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or current_request_id()
    task.request.log_context_tokens = structlog.contextvars.bind_contextvars(
        request_id=request_id_from(request_id), task=task.name, task_id=task_id
    )


@signals.task_success.connect
def _mark_succeeded_event_delivered(sender, **_):
    # task_success is sent inside the task's run, where its request is the running one.
    _mark_event_delivered(sender.request.id)


@signals.task_failure.connect
def _mark_failed_event_delivered(task_id, **_):
    # Not sender.request: on a hard time limit the worker's main process sends this, where
    # the task has no request (its id is None); task_id is always given.
    _mark_event_delivered(task_id)


def _mark_event_delivered(task_id: str) -> None:
    # Imported here: the app is made before Django's models can be.
    from city.tasks import mark_delivered

    mark_delivered(task_id)


@signals.task_postrun.connect
def _unbind_request_id(task, **_):
    tokens = getattr(task.request, "log_context_tokens", None)
    if tokens:
        structlog.contextvars.reset_contextvars(**tokens)
