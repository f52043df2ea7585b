"""Calls to a peer service over HTTP, against a real gunicorn serving that service alone."""

import json

import pytest
import structlog
from rest_framework.authtoken.models import Token

from apps.greeter.services import newcomer_register
from city.peers import PeerClient, PeerUnavailable, local_or_remote, remember_caller
from tests import servers


@pytest.fixture
def greeter_peer(tmp_path, live_database_url, collected_static, settings):
    """The greeter deployed alone; this process reaches it as its peer."""
    env = servers.production_env(DATABASE_URL=live_database_url, STATIC_ROOT=collected_static)
    log = tmp_path / "greeter.log"
    with servers.gunicorn("city.settings.greeter", env=env, log=log) as url:
        settings.CITY_PEER_URL = url
        yield log
    remember_caller(None)
    structlog.contextvars.clear_contextvars()


def register(username: str) -> str:
    registration = newcomer_register(
        username=username,
        email=f"{username}@city.example",
        password="a-long-test-password",
        language="de",
    )
    return registration.token


def test_a_peer_call_is_made_as_the_caller_with_the_request_id(greeter_peer):
    remember_caller({"HTTP_AUTHORIZATION": f"Token {register('erika')}"})
    structlog.contextvars.bind_contextvars(request_id="peer-req-1")
    profile = PeerClient("greeter").get("/api/greeter/newcomers/me/")
    assert profile["user"]["username"] == "erika"
    assert profile["language"] == "de"
    logged = [
        json.loads(line) for line in greeter_peer.read_text().splitlines() if line.startswith("{")
    ]
    assert any(line.get("request_id") == "peer-req-1" and line["status"] == 200 for line in logged)


def test_what_the_peer_does_not_show_the_caller_is_none(greeter_peer, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="a-long-test-password")
    remember_caller({"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=staff).key}"})
    assert PeerClient("greeter").get("/api/greeter/newcomers/me/") is None  # 404: not a newcomer


def test_a_peer_refusing_the_caller_is_a_clear_503(greeter_peer):
    remember_caller({})  # nobody: the peer answers 401
    with pytest.raises(PeerUnavailable, match=r"greeter service is unavailable .*401") as refused:
        PeerClient("greeter").get("/api/greeter/newcomers/me/")
    assert refused.value.status_code == 503
    assert refused.value.details == {"service": "greeter"}


def test_a_peer_that_is_down_is_a_clear_503(settings):
    settings.CITY_PEER_URL = f"http://127.0.0.1:{servers.free_port()}"
    with pytest.raises(PeerUnavailable, match=r"greeter service is unavailable .*ConnectError"):
        PeerClient("greeter").get("/api/greeter/newcomers/me/")


@pytest.mark.parametrize(
    ("installed", "expected"), [(["documents"], "local"), (["leasing"], "remote")]
)
def test_the_implementation_follows_the_services_installed_here(settings, installed, expected):
    settings.CITY_SERVICES = installed
    assert local_or_remote("documents", local="local", remote="remote") == expected
