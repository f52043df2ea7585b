"""Limits that hold across processes: two gunicorn processes that share a Redis cache
(CACHE_URL) let exactly the anonymous rate through between them, not once per process;
production settings without a shared cache warn at `check --deploy`."""

import itertools

import environ
import httpx
import pytest
from django.core.checks import run_checks
from django.test import override_settings

from tests import servers
from tests.contract import error_of

RATE = 6  # anonymous requests per minute, the test's own
ENDPOINT = "/api/greeter/greetings/counts/"  # anonymous, throttled by the anonymous rate


def served_by_two_processes(tmp_path, **env: str):
    """Two gunicorn processes (greeter settings), one worker each, with `env`."""
    environment = servers.production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # the endpoint reads none
        CITY_REDIS_URL="",
        THROTTLE_ANON=f"{RATE}/minute",
        **env,
    )
    first = servers.gunicorn("city.settings.greeter", env=environment, log=tmp_path / "1.log")
    second = servers.gunicorn("city.settings.greeter", env=environment, log=tmp_path / "2.log")
    return first, second


def statuses_alternating(urls: tuple[str, str], count: int) -> list[httpx.Response]:
    """`count` anonymous requests, sent to each process in turn."""
    with httpx.Client(timeout=10) as client:
        return [
            client.get(f"{url}{ENDPOINT}") for url in itertools.islice(itertools.cycle(urls), count)
        ]


def test_two_processes_sharing_redis_let_exactly_the_anonymous_rate_through(tmp_path, redis_url):
    first, second = served_by_two_processes(tmp_path, CACHE_URL=redis_url)
    with first as one, second as two:
        answers = statuses_alternating((one, two), RATE * 3)

    assert [a.status_code for a in answers] == [200] * RATE + [429] * (RATE * 2)
    error = error_of(answers[-1])
    assert error["code"] == "throttled"
    assert 0 < error["details"]["retry_after"] <= 60
    assert 0 < int(answers[-1].headers["retry-after"]) <= 60


def test_without_a_shared_cache_each_process_counts_its_own(tmp_path):
    """What CACHE_URL is for: with the per-process default, two processes let twice the
    rate through."""
    first, second = served_by_two_processes(tmp_path, CACHE_URL="locmemcache://")
    with first as one, second as two:
        answers = statuses_alternating((one, two), RATE * 3)

    assert sum(a.status_code == 200 for a in answers) == RATE * 2


@pytest.mark.parametrize(
    "cache_url", ["locmemcache://", "filecache:///tmp/city-cache", "dummycache://"]
)
def test_deploy_checks_warn_when_the_default_cache_is_per_process(cache_url):
    caches = {"default": environ.Env.cache_url_config(cache_url)}
    with override_settings(CACHES=caches):
        issues = run_checks(include_deployment_checks=True, tags=["caches"])
    (warning,) = [issue for issue in issues if issue.id.startswith("city.")]
    assert warning.id == "city.W001"
    assert "CACHE_URL" in warning.hint


def test_deploy_checks_pass_with_a_redis_cache():
    caches = {"default": environ.Env.cache_url_config("redis://redis:6379/3")}
    with override_settings(CACHES=caches):
        issues = run_checks(include_deployment_checks=True, tags=["caches"])
    assert [issue.id for issue in issues if issue.id.startswith("city.")] == []


def test_production_settings_without_cache_url_warn_at_check_deploy():
    env = servers.subprocess_env(
        DJANGO_SETTINGS_MODULE="city.settings.production",
        SECRET_KEY=servers.secrets.token_urlsafe(50),
        ALLOWED_HOSTS="city.example",
        CACHE_URL=None,
    )
    result = servers.run_checked(
        [str(servers.BIN / "python"), "manage.py", "check", "--deploy"], env=env
    )
    assert "city.W001" in result.stderr + result.stdout
