"""Password guessing: every way to sign in locks out a username, and a client, after
LOGIN_FAILURE_LIMIT failures, for LOGIN_LOCKOUT_MINUTES, even with the right password.

The three ways in: the token endpoint (JSON), the browsable API's session login (Django's
LoginView; JSON for a client that asks for it, a page for a person) and the admin's login
page. The count lives in the shared database: two servers see one count.
"""

from datetime import timedelta

import httpx
import pytest
from axes.models import AccessAttempt
from django.db.models import F
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from structlog.testing import capture_logs

from city.client_address import client_address
from deploy.haproxy.render import Replica
from tests import servers
from tests.contract import error_of
from tests.factories import PASSWORD, StaffFactory, UserFactory

TOKEN = "/api/auth/token/"
LOGIN = "/api/auth/login/"
ADMIN_LOGIN = "/admin/login/"
LIMIT = 4
MINUTES = 15
WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def lockout(settings):
    settings.LOGIN_FAILURE_LIMIT = LIMIT
    settings.LOGIN_LOCKOUT_MINUTES = MINUTES


def client_at(address: str) -> APIClient:
    return APIClient(REMOTE_ADDR=address)


# --- the three ways in ----------------------------------------------------------------------


def token(client, username, password):
    return client.post(TOKEN, {"username": username, "password": password}, format="json")


def session_json(client, username, password):
    form = {"username": username, "password": password}
    return client.post(LOGIN, form, HTTP_ACCEPT="application/json")


def session_page(client, username, password):
    form = {"username": username, "password": password}
    return client.post(LOGIN, form, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")


def admin(client, username, password):
    form = {"username": username, "password": password, "next": "/admin/"}
    return client.post(ADMIN_LOGIN, form, HTTP_ACCEPT="text/html,*/*;q=0.8")


def refused_normally(way, response) -> bool:
    """The answer to one wrong password before any lockout."""
    if way is token:
        return response.status_code == 401 and error_of(response)["code"] == "invalid_credentials"
    return response.status_code == 200 and b"password" in response.content  # the form again


def signed_in(way, response) -> bool:
    if way is token:
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302


def assert_locked_out_in_the_contract(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    error = error_of(response)
    assert error["code"] == "locked_out"
    assert f"wait {MINUTES} minutes" in error["message"]
    assert error["details"] == {
        "retry_after": MINUTES * 60,
        "failure_limit": LIMIT,
        "lockout_minutes": MINUTES,
    }
    assert response["Retry-After"] == str(MINUTES * 60)


def assert_locked_out_page(response):
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<h1>Too many failed sign-ins</h1>" in page
    assert f"wait {MINUTES} minutes, then try again" in page
    assert response["Retry-After"] == str(MINUTES * 60)


WAYS = {
    "token endpoint": (token, assert_locked_out_in_the_contract),
    "session login asking for JSON": (session_json, assert_locked_out_in_the_contract),
    "session login form": (session_page, assert_locked_out_page),
    "admin login": (admin, assert_locked_out_page),
}


@pytest.fixture(params=list(WAYS), ids=list(WAYS))
def way(request):
    return WAYS[request.param]


def user_for(way):
    return StaffFactory() if way is admin else UserFactory()


@pytest.mark.django_db
def test_wrong_passwords_up_to_the_limit_lock_the_username_out_even_with_the_right_one(way):
    sign_in, assert_locked_out = way
    user, guesser = user_for(sign_in), client_at("203.0.113.10")
    for _ in range(LIMIT - 1):
        assert refused_normally(sign_in, sign_in(guesser, user.username, WRONG))
    assert_locked_out(sign_in(guesser, user.username, WRONG))  # the limit-th failure
    right = sign_in(guesser, user.username, PASSWORD)
    assert_locked_out(right)
    assert "_auth_user_id" not in guesser.session
    assert not Token.objects.exists()
    # The username is locked from everywhere, its owner's address too, for the cool-off.
    assert_locked_out(sign_in(client_at("198.51.100.20"), user.username, PASSWORD))


@pytest.mark.django_db
def test_other_accounts_from_other_clients_still_sign_in_during_a_lockout(way):
    sign_in, assert_locked_out = way
    victim = user_for(sign_in)
    for _ in range(LIMIT):
        sign_in(client_at("203.0.113.10"), victim.username, WRONG)
    assert_locked_out(sign_in(client_at("203.0.113.10"), victim.username, PASSWORD))
    other = user_for(sign_in)
    assert signed_in(sign_in, sign_in(client_at("198.51.100.20"), other.username, PASSWORD))


@pytest.mark.django_db
def test_a_client_guessing_many_usernames_is_locked_out_whichever_it_names(way):
    sign_in, assert_locked_out = way
    guesser = client_at("203.0.113.10")
    for n in range(LIMIT - 1):
        assert refused_normally(sign_in, sign_in(guesser, f"someone-{n}", WRONG))
    assert_locked_out(sign_in(guesser, "someone-else", WRONG))
    own = user_for(sign_in)  # even its own account, with its password
    assert_locked_out(sign_in(guesser, own.username, PASSWORD))
    assert signed_in(sign_in, sign_in(client_at("198.51.100.20"), own.username, PASSWORD))


@pytest.mark.django_db
def test_the_lockout_ends_when_the_cool_off_has_passed_since_the_last_failure(way):
    sign_in, assert_locked_out = way
    user, client = user_for(sign_in), client_at("203.0.113.10")
    for _ in range(LIMIT):
        sign_in(client, user.username, WRONG)
    # Attempts during the lockout neither count nor extend it.
    for _ in range(3):
        assert_locked_out(sign_in(client, user.username, WRONG))
    # The failures are moved back in time (no test waits 15 minutes): a minute short of the
    # cool-off, still locked out; past it, the right password signs in again.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=MINUTES - 1))
    assert_locked_out(sign_in(client, user.username, PASSWORD))
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=1, seconds=1))
    assert signed_in(sign_in, sign_in(client, user.username, PASSWORD))


@pytest.mark.django_db
def test_a_successful_sign_in_forgets_the_failures_before_it(way):
    sign_in, _ = way
    user, client = user_for(sign_in), client_at("203.0.113.10")
    for _ in range(2):
        for _ in range(LIMIT - 1):
            assert refused_normally(sign_in, sign_in(client, user.username, WRONG))
        assert signed_in(sign_in, sign_in(client_at("203.0.113.10"), user.username, PASSWORD))
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
def test_signing_in_to_ones_own_account_does_not_wipe_guesses_at_another(way):
    sign_in, assert_locked_out = way
    victim, own = user_for(sign_in), user_for(sign_in)
    guesser = client_at("203.0.113.10")
    for _ in range(LIMIT - 1):
        sign_in(guesser, victim.username, WRONG)
    assert signed_in(sign_in, sign_in(client_at("203.0.113.10"), own.username, PASSWORD))
    assert_locked_out(sign_in(guesser, victim.username, WRONG))


@pytest.mark.django_db
def test_a_lockout_is_logged_with_the_username_the_client_and_the_way_in(way):
    sign_in, _ = way
    user = user_for(sign_in)
    with capture_logs() as logs:
        for _ in range(LIMIT + 1):
            sign_in(client_at("203.0.113.10"), user.username, WRONG)
    lockouts = [line for line in logs if line["event"] == "sign_in_locked_out"]
    # The failure that reached the limit, and the attempt refused after it.
    assert len(lockouts) == 2
    assert lockouts[0] | {"path": None} == {
        "event": "sign_in_locked_out",
        "log_level": "warning",
        "logger": "city.auth",
        "username": user.username,
        "client": "203.0.113.10",
        "path": None,
        "failure_limit": LIMIT,
        "lockout_minutes": MINUTES,
    }
    assert lockouts[0]["path"] in {TOKEN, LOGIN, ADMIN_LOGIN}


# --- details of the ways in -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_limit_and_the_cool_off_are_settings(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_MINUTES = 1
    user, client = UserFactory(), client_at("203.0.113.10")
    assert token(client, user.username, WRONG).status_code == 401
    locked = token(client, user.username, WRONG)
    assert locked.status_code == 429
    assert error_of(locked)["details"] == {
        "retry_after": 60,
        "failure_limit": 2,
        "lockout_minutes": 1,
    }
    assert "wait 1 minute, then" in error_of(locked)["message"]


@pytest.mark.django_db
def test_a_token_endpoint_lockout_in_the_browsable_api_is_its_page_of_the_error():
    user, client = UserFactory(), client_at("203.0.113.10")
    for _ in range(LIMIT):
        client.post(TOKEN, {"username": user.username, "password": WRONG})
    page = client.post(
        TOKEN, {"username": user.username, "password": PASSWORD}, HTTP_ACCEPT="text/html"
    )
    assert page.status_code == 429
    assert page["Content-Type"].startswith("text/html")
    assert "Too many failed sign-ins" in page.content.decode()


@pytest.mark.django_db
def test_a_username_longer_than_any_is_400_and_counts_nothing(api):
    response = api.post(TOKEN, {"username": "u" * 151, "password": WRONG}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"username"}
    assert not AccessAttempt.objects.exists()


# --- the client's address -------------------------------------------------------------------


@pytest.mark.django_db
def test_without_trusted_proxies_a_forwarded_for_header_changes_nothing(settings):
    settings.CITY_TRUSTED_PROXIES = []
    user = UserFactory()
    for n in range(LIMIT):
        token(APIClient(HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"), f"someone-{n}", WRONG)
    spoofing = APIClient(HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert_locked_out_in_the_contract(token(spoofing, user.username, PASSWORD))


class Request:
    def __init__(self, remote: str, forwarded: str | None = None):
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ([], "203.0.113.5", "192.0.2.1", "203.0.113.5"),  # no proxy: the header is ignored
        (["10.0.0.0/8"], "203.0.113.5", "192.0.2.1", "203.0.113.5"),  # not from a proxy
        (["10.0.0.0/8"], "10.0.0.7", "203.0.113.5", "203.0.113.5"),  # the proxy's client
        # What the client wrote itself stands left of what the proxy appended.
        (["10.0.0.0/8"], "10.0.0.7", "192.0.2.1, 198.51.100.3, 203.0.113.5", "203.0.113.5"),
        # Two proxies of ours: the address the outer one saw.
        (["10.0.0.0/8"], "10.0.0.7", "192.0.2.1, 203.0.113.5, 10.1.2.3", "203.0.113.5"),
        (["127.0.0.1"], "127.0.0.1", "2001:db8::5", "2001:db8::5"),
        (["10.0.0.0/8"], "10.0.0.7", None, "10.0.0.7"),  # a proxy's own request
        (["10.0.0.0/8"], "10.0.0.7", "not-an-address, 10.9.9.9", "10.9.9.9"),
        ([], "", None, None),  # a Unix socket
    ],
)
def test_the_client_address_is_read_through_trusted_proxies_only(
    settings, trusted, remote, forwarded, client
):
    settings.CITY_TRUSTED_PROXIES = trusted
    assert client_address(Request(remote, forwarded)) == client


# --- real servers ---------------------------------------------------------------------------


def test_two_servers_count_the_same_failures(live_database_url, tmp_path):
    """Two gunicorn servers on one database: failures sent to either count once, together."""
    user = UserFactory()
    env = servers.subprocess_env(
        DATABASE_URL=live_database_url, LOGIN_FAILURE_LIMIT=str(LIMIT), LOG_LEVEL="WARNING"
    )
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    with (
        servers.gunicorn("city.settings.test", env=env, log=log_a) as a,
        servers.gunicorn("city.settings.test", env=env, log=log_b) as b,
    ):
        wrong = {"username": user.username, "password": WRONG}
        right = {"username": user.username, "password": PASSWORD}
        statuses = [httpx.post(url + TOKEN, json=wrong).status_code for url in (a, b, a)]
        assert statuses == [401] * (LIMIT - 1)  # each server saw fewer than the limit...
        locked = httpx.post(b + TOKEN, json=wrong)
        assert locked.status_code == 429  # ...but together they reached it
        assert error_of(locked)["code"] == "locked_out"
        assert [httpx.post(url + TOKEN, json=right).status_code for url in (a, b)] == [429, 429]
    assert "sign_in_locked_out" in log_b.read_text()


def test_behind_haproxy_the_client_is_the_one_haproxy_saw_not_one_it_names(
    live_database_url, tmp_path
):
    """gunicorn trusts HAProxy's X-Forwarded-For; a client cannot pick another address."""
    user = UserFactory()
    env = servers.subprocess_env(
        DATABASE_URL=live_database_url,
        LOGIN_FAILURE_LIMIT=str(LIMIT),
        CITY_TRUSTED_PROXIES="127.0.0.1",
    )
    with servers.gunicorn("city.settings.test", env=env, log=tmp_path / "gunicorn.log") as url:
        replica = Replica("greeter-1", url.removeprefix("http://"))
        with servers.haproxy(tmp_path, greeter=[replica]) as edge:
            guesser = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
            other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"))
            with guesser, other:
                statuses = [
                    guesser.post(
                        edge.url + TOKEN,
                        json={"username": f"someone-{n}", "password": WRONG},
                        headers={"X-Forwarded-For": f"192.0.2.{n}"},  # a new "address" each time
                    ).status_code
                    for n in range(LIMIT)
                ]
                assert statuses == [401] * (LIMIT - 1) + [429]
                mine = {"username": user.username, "password": PASSWORD}
                assert guesser.post(edge.url + TOKEN, json=mine).status_code == 429
                # HAProxy itself (every request's connection) is not what is locked out.
                assert other.post(edge.url + TOKEN, json=mine).status_code == 200
    assert AccessAttempt.objects.filter(ip_address="127.0.0.2").count() == LIMIT


def test_the_settings_come_from_the_environment():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.LOGIN_FAILURE_LIMIT, s.LOGIN_LOCKOUT_MINUTES, s.CITY_TRUSTED_PROXIES)"
    )
    command = [str(servers.BIN / "python"), "-c", script]
    env = {"DJANGO_SETTINGS_MODULE": "city.settings.production"}
    unset = {"LOGIN_FAILURE_LIMIT": None, "LOGIN_LOCKOUT_MINUTES": None}
    default = servers.run_checked(
        command, env=servers.production_env(CITY_TRUSTED_PROXIES=None, **unset, **env)
    )
    given = servers.run_checked(
        command,
        env=servers.production_env(
            LOGIN_FAILURE_LIMIT="10",
            LOGIN_LOCKOUT_MINUTES="60",
            CITY_TRUSTED_PROXIES="10.0.0.0/8,127.0.0.1",
            **env,
        ),
    )
    assert default.stdout.strip() == "5 15 []"
    assert given.stdout.strip() == "10 60 ['10.0.0.0/8', '127.0.0.1']"
