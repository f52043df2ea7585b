"""The shape of /api/city/status/, for the OpenAPI schema and the answer itself.

A panel whose source is down has only `available: false` and `reason`.
"""

from rest_framework import serializers


class PanelSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.CharField(required=False, help_text="Why the panel is unavailable.")

    def to_representation(self, panel: dict) -> dict:
        # Only what the panel has: DRF would write a nullable field the panel lacks as null.
        return {
            name: value for name, value in super().to_representation(panel).items() if name in panel
        }


class ReplicaSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField(allow_blank=True)
    status = serializers.CharField(help_text="HAProxy's status: UP, DOWN, DRAIN, MAINT...")
    healthy = serializers.BooleanField(help_text="Takes new requests.")
    check = serializers.CharField(allow_blank=True, help_text="The last health check's result.")
    since_seconds = serializers.IntegerField(allow_null=True)


class ServiceSerializer(serializers.Serializer):
    name = serializers.CharField()
    installed = serializers.BooleanField(help_text="Served by the deployment that answers.")
    replicas = ReplicaSerializer(many=True)
    requests_per_second = serializers.FloatField(allow_null=True)
    error_rate = serializers.FloatField(
        allow_null=True, help_text="Share of requests that got 5xx."
    )


class ServicesPanelSerializer(PanelSerializer):
    source = serializers.ChoiceField(["haproxy", "process"], required=False)
    window_seconds = serializers.FloatField(
        required=False, allow_null=True, help_text="The rates are over this span (a minute)."
    )
    services = ServiceSerializer(many=True, required=False)


class QueueSerializer(serializers.Serializer):
    name = serializers.CharField()
    depth = serializers.IntegerField(help_text="Messages waiting.")
    consumers = serializers.IntegerField(help_text="Live workers consuming the queue.")


class WorkerSerializer(serializers.Serializer):
    name = serializers.CharField()
    queues = serializers.ListField(child=serializers.CharField())


class QueuesPanelSerializer(PanelSerializer):
    mode = serializers.ChoiceField(["broker", "in-process"], required=False)
    queues = QueueSerializer(many=True, required=False)
    workers = WorkerSerializer(many=True, required=False)


class DocumentsPanelSerializer(PanelSerializer):
    counts = serializers.DictField(child=serializers.IntegerField(), required=False)
    total = serializers.IntegerField(required=False)


class OutboxPanelSerializer(PanelSerializer):
    pending = serializers.IntegerField(
        required=False, help_text="Events between services not yet handed to the broker."
    )
    oldest_seconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="How long the oldest of them has waited."
    )
    undelivered = serializers.IntegerField(
        required=False, help_text="Events handed to the broker that no worker has run yet."
    )
    dead_lettered = serializers.IntegerField(
        required=False,
        help_text="Events sent OUTBOX_REDELIVERIES_MAX times more and never run: given up on.",
    )


class SupervisedProcessSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.ChoiceField(["running", "backoff", "failed", "stopped"])
    restarts = serializers.IntegerField()
    last_exit_code = serializers.IntegerField(
        allow_null=True, help_text="Negative: the signal that ended it."
    )
    last_exit = serializers.CharField(
        allow_null=True, help_text='How it last ended: "exit code 1", "SIGKILL".'
    )
    since_seconds = serializers.IntegerField(allow_null=True, help_text="Started this long ago.")


class ProcessesPanelSerializer(PanelSerializer):
    supervised = serializers.BooleanField(
        required=False,
        help_text="The split topology restarts its processes (else an orchestrator does).",
    )
    processes = SupervisedProcessSerializer(many=True, required=False)


class DeploymentSerializer(serializers.Serializer):
    services = serializers.ListField(child=serializers.CharField())
    instance = serializers.CharField()
    load_balancer = serializers.BooleanField(
        help_text="Replicas and traffic are read from HAProxy (else from this process)."
    )


class CityStatusSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    deployment = DeploymentSerializer()
    services = ServicesPanelSerializer()
    queues = QueuesPanelSerializer()
    documents = DocumentsPanelSerializer()
    outbox = OutboxPanelSerializer()
    processes = ProcessesPanelSerializer()
