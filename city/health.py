"""Probes: /healthz says the process answers (no I/O); /readyz checks what it depends on."""

from dataclasses import asdict

import redis
from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from city.errors import ErrorSerializer, error_body
from city.tasks import outbox_backlog

PROBE_TIMEOUT_SECONDS = 2


class ProbeView(APIView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()


class LivenessSerializer(serializers.Serializer):
    status = serializers.CharField()
    services = serializers.ListField(child=serializers.CharField())


class OutboxBacklogSerializer(serializers.Serializer):
    pending = serializers.IntegerField(help_text="Events not yet handed to the broker.")
    oldest_pending_age_seconds = serializers.FloatField(allow_null=True)
    undelivered = serializers.IntegerField(help_text="Sent, not yet run by a worker.")
    dead_lettered = serializers.IntegerField(
        help_text="Sent OUTBOX_REDELIVERIES_MAX times more and never run: given up on."
    )


class ReadinessSerializer(serializers.Serializer):
    status = serializers.CharField()
    checks = serializers.DictField(child=serializers.CharField())
    # Events waiting, in flight and given up on: shown, never a reason to be unready.
    outbox = OutboxBacklogSerializer()


class Liveness(ProbeView):
    @extend_schema(summary="The process is alive (no I/O)", responses=LivenessSerializer)
    def get(self, request):
        return Response({"status": "ok", "services": settings.CITY_SERVICES})


class Readiness(ProbeView):
    @extend_schema(
        summary="The database (and the broker, when set) answer",
        responses={200: ReadinessSerializer, 503: ErrorSerializer},
    )
    def get(self, request):
        checks = {"database": _check_database()}
        if settings.CELERY_BROKER_URL:
            checks["broker"] = _check_redis(settings.CELERY_BROKER_URL)
        # What the outbox holds, wherever the database answers: a broker that is down
        # shows as a growing backlog.
        backlog = {"outbox": asdict(outbox_backlog())} if checks["database"] == "ok" else {}
        failed = sorted(name for name, result in checks.items() if result != "ok")
        if failed:
            message = f"Not ready: {', '.join(failed)} unavailable."
            details = {"checks": checks, **backlog}
            return Response(error_body("not_ready", message, details), status=503)
        return Response({"status": "ready", "checks": checks, **backlog})


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"error: {error}".strip()
    return "ok"


def _check_redis(url: str) -> str:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return f"error: {error}"
    finally:
        client.close()
    return "ok"
