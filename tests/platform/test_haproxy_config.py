"""HAProxy's configuration: rendered from the service registry, checked by HAProxy itself."""

import subprocess

import pytest

from deploy.haproxy.render import Replica, render
from tests import servers

COMMITTED = servers.REPO / "deploy" / "haproxy" / "haproxy.cfg"


def test_the_containers_configuration_is_the_rendered_one():
    rendered = render(bind="*:8080", stats_bind="*:8404")
    assert COMMITTED.read_text() == rendered, (
        "run: python -m deploy.haproxy.render > deploy/haproxy/haproxy.cfg"
    )


@pytest.mark.parametrize("topology", ["containers (DNS)", "processes"])
def test_haproxy_accepts_the_configuration(tmp_path, topology):
    replicas = None
    if topology == "processes":
        replicas = {
            name: [Replica(f"{name}-1", "127.0.0.1:8101"), Replica(f"{name}-2", "127.0.0.1:8102")]
            for name in ("greeter", "documents", "leasing")
        }
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        render(
            bind="127.0.0.1:8080",
            stats_bind="127.0.0.1:8404",
            replicas=replicas,
            admin_socket=str(tmp_path / "s"),
        )
    )
    checked = subprocess.run(
        [servers.require_program("haproxy"), "-c", "-f", str(config)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Configuration file is valid" in checked.stdout
