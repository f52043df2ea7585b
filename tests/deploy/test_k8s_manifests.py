"""The Kubernetes manifests (deploy/k8s/): every overlay rendered by the pinned kustomize,
each object validated offline against the Kubernetes API's schemas, and what City needs
from them checked."""

import base64
import copy
import re
import runpy
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from city.services import SERVICES
from deploy.haproxy.render import DNS_REPLICAS_MAX, render
from deploy.processes import GUNICORN_CONFIG
from tests import servers

K8S = servers.REPO / "deploy" / "k8s"
ENSURE_KUSTOMIZE = "deploy/scripts/ensure-kustomize.sh"
# Every overlay is tested, a new one too.
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
# The oldest Kubernetes the manifests are for: a field that came later fails validation.
KUBERNETES_VERSION = "1.30.0"
# What `kubectl apply -l` takes before the rest (docs/kubernetes.md): the migration.
MIGRATION_SELECTOR = {"config", "migration"}


def cluster_config(namespace: str = "city") -> str:
    """HAProxy's configuration for services found by the cluster's DNS in `namespace`."""
    return render(bind="*:8080", stats_bind="*:8404", dns_domain=f".{namespace}.svc.cluster.local")


@pytest.fixture(scope="session")
def kustomize() -> str:
    """The pinned kustomize, installed when missing; without it the tests fail, never skip."""
    found = subprocess.run(
        [str(servers.REPO / ENSURE_KUSTOMIZE)], cwd=servers.REPO, capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.fail(f"kustomize is not installed: run `{ENSURE_KUSTOMIZE}`\n{found.stderr}")
    return found.stdout.strip()


@pytest.fixture(scope="session")
def rendered(kustomize) -> dict[str, list[dict]]:
    """Each overlay's objects, as `kustomize build` prints them."""
    return {overlay: _build(kustomize, K8S / "overlays" / overlay) for overlay in OVERLAYS}


def _build(kustomize: str, path: Path) -> list[dict]:
    built = subprocess.run([kustomize, "build", str(path)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.fail(f"kustomize build {path} failed:\n{built.stderr}")
    return [document for document in yaml.safe_load_all(built.stdout) if document]


def _named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _generated(objects: list[dict], kind: str, name: str) -> dict:
    """A generated ConfigMap or Secret, whose name ends with a hash of its content."""
    (found,) = [
        o for o in objects if o["kind"] == kind and o["metadata"]["name"].rsplit("-", 1)[0] == name
    ]
    return found


def _pod(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def _pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def _is_city(container: dict) -> bool:
    return container["image"].rsplit("/", 1)[-1].split(":")[0] == "city"


def _city_workloads(objects: list[dict]) -> dict[str, dict]:
    return {
        o["metadata"]["name"]: o
        for o in objects
        if o["kind"] in ("Deployment", "Job") and any(map(_is_city, _pod(o)["containers"]))
    }


def _environment(container: dict, objects: list[dict]) -> dict[str, str]:
    """The variables a container gets: its own, and those of the ConfigMaps and Secrets."""
    variables = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = _named(objects, "ConfigMap")[source["configMapRef"]["name"]]["data"]
        else:
            secret = _named(objects, "Secret")[source["secretRef"]["name"]]["data"]
            data = {key: base64.b64decode(value).decode() for key, value in secret.items()}
        variables.update(data)
    variables.update({env["name"]: env.get("value", "") for env in container.get("env", [])})
    return variables


def _variables_city_reads() -> set[str]:
    """The settings' variables, those .env.example documents (gunicorn's, Django's own) and
    the entrypoint's."""
    settings_source = "".join(p.read_text() for p in (servers.REPO / "city/settings").glob("*.py"))
    example = (servers.REPO / ".env.example").read_text()
    entrypoint = (servers.REPO / "deploy/docker-entrypoint.sh").read_text()
    return {
        *re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', settings_source),
        *re.findall(r"^([A-Z][A-Z0-9_]*)=", example, re.MULTILINE),
        *re.findall(r"\$\{([A-Z][A-Z0-9_]*)", entrypoint),
    }


def test_the_overlays_are_found():
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_the_kubernetes_api(rendered, overlay):
    errors = []
    for o in rendered[overlay]:
        where = f"{o['kind']}/{o['metadata']['name']}"
        try:
            kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(map(str, error.path))
            errors.append(f"{where}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{where}: {error.message}")
    assert not errors, "\n".join(errors)


def test_the_validator_rejects_an_unknown_field_and_a_wrong_type():
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "greeter"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "greeter"}},
            "template": {
                "metadata": {"labels": {"app": "greeter"}},
                "spec": {"containers": [{"name": "greeter", "image": "city"}]},
            },
        },
    }
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)

    misspelled = copy.deepcopy(deployment)
    _pod(misspelled)["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(misspelled, KUBERNETES_VERSION, strict=True)

    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError, match="not of type 'integer'"):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", list(SERVICES))
def test_a_web_service_is_probed_limited_non_root_and_headless(rendered, overlay, service):
    deployment = _named(rendered[overlay], "Deployment")[service]
    pod = _pod(deployment)
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path
        assert {"name": "Host", "value": "localhost"} in get["httpHeaders"], "ALLOWED_HOSTS"
    assert "localhost" in _environment(container, rendered[overlay])["ALLOWED_HOSTS"].split(",")
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }

    service_object = _named(rendered[overlay], "Service")[service]
    assert service_object["spec"]["clusterIP"] == "None", "headless: HAProxy sees every pod"
    assert service_object["spec"]["ports"][0]["port"] == 8000
    assert service_object["spec"]["selector"].items() <= _pod_labels(deployment).items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_runs_its_own_settings_module(rendered, overlay):
    settings_modules = {
        name: _environment(container, rendered[overlay])["DJANGO_SETTINGS_MODULE"]
        for name, workload in _city_workloads(rendered[overlay]).items()
        for container in _pod(workload)["containers"]
    }
    assert settings_modules == {
        **{service: f"city.settings.{service}" for service in SERVICES},
        "worker": "city.settings.production",
        "beat": "city.settings.production",
        "relay": "city.settings.production",
        "migrate": "city.settings.production",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_city_containers_get_only_variables_city_reads(rendered, overlay):
    known = _variables_city_reads()
    for name, workload in _city_workloads(rendered[overlay]).items():
        for container in _pod(workload)["containers"]:
            unknown = _environment(container, rendered[overlay]).keys() - known
            assert not unknown, f"{name} gets variables City never reads: {sorted(unknown)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_services_find_haproxy_its_stats_and_redis_by_the_services_rendered(rendered, overlay):
    """Every address in a web pod's environment names a Service of the overlay, and port."""
    services = _named(rendered[overlay], "Service")
    ports = {
        (name, port["port"])
        for name, service in services.items()
        for port in service["spec"]["ports"]
    }
    for service in SERVICES:
        container = _pod(_named(rendered[overlay], "Deployment")[service])["containers"][0]
        environment = _environment(container, rendered[overlay])
        for variable in (
            "CITY_PEER_URL",
            "CITY_HAPROXY_STATS_URL",
            "CELERY_BROKER_URL",
            "CITY_REDIS_URL",
            "DASHBOARD_CACHE_URL",
        ):
            host, _, port = environment[variable].split("://")[1].split("/")[0].partition(":")
            assert (host, int(port)) in ports, f"{service}: {variable}={environment[variable]}"
    assert services["haproxy-stats"]["spec"]["clusterIP"] == "None"  # every HAProxy pod


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_web_pod_stops_after_gunicorn_finished_its_requests(rendered, overlay):
    graceful_timeout = runpy.run_path(str(GUNICORN_CONFIG))["graceful_timeout"]
    for service in SERVICES:
        pod = _pod(_named(rendered[overlay], "Deployment")[service])
        pause = int(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert pod["terminationGracePeriodSeconds"] >= pause + graceful_timeout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_outlasts_the_hard_task_time_limit_and_beat_is_alone(rendered, overlay):
    deployments = _named(rendered[overlay], "Deployment")
    worker = deployments["worker"]
    assert _pod(worker)["terminationGracePeriodSeconds"] > settings.CELERY_TASK_TIME_LIMIT
    assert "worker" in _pod(worker)["containers"][0]["args"]
    beat = deployments["beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_restarted_keeps_what_it_accepted_and_every_server_is_probed(rendered, overlay):
    deployments = _named(rendered[overlay], "Deployment")
    redis = _pod(deployments["redis"])
    (container,) = redis["containers"]
    assert " --appendonly yes --appendfsync always" in " ".join(container["args"])
    (data,) = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/data"]
    (volume,) = [v for v in redis["volumes"] if v["name"] == data]
    assert "emptyDir" in volume, "lives as long as the pod, across restarts of its container"
    # A server that stops answering is restarted, not only one that exits.
    for name in ("haproxy", "redis", "worker", *SERVICES):
        assert "livenessProbe" in _pod(deployments[name])["containers"][0], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_documents_and_the_worker_share_the_uploads(rendered, overlay):
    deployments = _named(rendered[overlay], "Deployment")
    for name in ("documents", "worker"):
        pod = _pod(deployments[name])
        (claim,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        assert claim["persistentVolumeClaim"]["claimName"] == "media"
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts[claim["name"]] == "/data/media"
    assert "media" in _named(rendered[overlay], "PersistentVolumeClaim")


def test_production_scales_every_web_service_within_haproxys_slots(rendered):
    objects = rendered["production"]
    deployments = _named(objects, "Deployment")
    autoscalers = _named(objects, "HorizontalPodAutoscaler")
    budgets = _named(objects, "PodDisruptionBudget")
    for service in SERVICES:
        autoscaler = autoscalers[service]["spec"]
        assert autoscaler["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": service,
        }
        assert 1 < autoscaler["minReplicas"] <= autoscaler["maxReplicas"] <= DNS_REPLICAS_MAX
        assert [m["resource"]["name"] for m in autoscaler["metrics"]] == ["cpu"]
        assert "replicas" not in deployments[service]["spec"], "the autoscaler owns it"
    for name in (*SERVICES, "haproxy"):
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= _pod_labels(deployments[name]).items()
    assert deployments["haproxy"]["spec"]["replicas"] > 1
    (volume,) = _named(objects, "PersistentVolumeClaim").values()
    assert volume["spec"]["accessModes"] == ["ReadWriteMany"], "documents and workers on any node"


def test_dev_runs_one_replica_of_each_web_service(rendered):
    deployments = _named(rendered["dev"], "Deployment")
    replicas = {service: deployments[service]["spec"]["replicas"] for service in SERVICES}
    assert replicas == dict.fromkeys(SERVICES, 1)
    assert not _named(rendered["dev"], "HorizontalPodAutoscaler")


@pytest.mark.parametrize(("overlay", "relays"), [("dev", 1), ("production", 2)])
def test_the_outbox_relay_runs_in_every_overlay(rendered, overlay, relays):
    relay = _named(rendered[overlay], "Deployment")["relay"]
    assert relay["spec"]["replicas"] == relays
    (container,) = _pod(relay)["containers"]
    assert container["args"] == ["python", "manage.py", "relay_events"]


def test_production_ships_no_usable_secret(rendered):
    secret = _generated(rendered["production"], "Secret", "city-secrets")
    values = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert values["SECRET_KEY"] == "", "the production settings refuse to start without one"
    assert values["CITY_SERVICE_KEY"] == "", "each service's settings refuse to start without one"
    assert "@database.invalid:" in values["DATABASE_URL"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_haproxy_is_configured_by_the_rendered_configuration(rendered, overlay):
    objects = rendered[overlay]
    (namespace,) = {o["metadata"].get("namespace") for o in objects}
    config = _generated(objects, "ConfigMap", "haproxy-config")
    assert config["data"]["haproxy.cfg"] == cluster_config(namespace)
    pod = _pod(_named(objects, "Deployment")["haproxy"])
    (volume,) = pod["volumes"]
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/usr/local/etc/haproxy"


def test_the_committed_haproxy_configuration_is_the_rendered_one():
    committed = (K8S / "base" / "haproxy.cfg").read_text()
    assert committed == cluster_config(), (
        "run: python -m deploy.haproxy.render --dns-domain .city.svc.cluster.local"
        " > deploy/k8s/base/haproxy.cfg"
    )


def test_haproxy_accepts_the_cluster_configuration(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text(cluster_config())
    checked = subprocess.run(
        [servers.require_program("haproxy"), "-c", "-f", str(config)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_selector_takes_the_job_and_its_configuration(rendered, overlay):
    selected = {
        (o["kind"], o["metadata"]["labels"]["app.kubernetes.io/name"])
        for o in rendered[overlay]
        if o["metadata"]["labels"]["app.kubernetes.io/component"] in MIGRATION_SELECTOR
    }
    assert selected == {
        ("ConfigMap", "city-config"),
        ("Secret", "city-secrets"),
        ("Job", "migrate"),
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_labelled_and_in_one_namespace(rendered, overlay):
    for o in rendered[overlay]:
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "city", o["metadata"]["name"]
        assert {"app.kubernetes.io/name", "app.kubernetes.io/component"} <= labels.keys()
    namespaces = {o["metadata"].get("namespace") for o in rendered[overlay]}
    assert len(namespaces) == 1
    assert None not in namespaces, "set by the kustomization, not by kubectl's context"
