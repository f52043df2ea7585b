"""The greeter's demo data (`manage.py seed_demo`): the resident ada and how to use her."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.greeter import demo
from apps.greeter.models import Newcomer

pytestmark = pytest.mark.django_db


def lines_by_label(lines: list[str]) -> dict[str, str]:
    return {line[:15].strip(): line[15:] for line in lines}


def test_the_seed_prints_adas_token_and_a_curl_line_that_works():
    printed = lines_by_label(list(demo.seed()))
    token = Token.objects.get(user__username="ada")
    assert printed["her API token:"] == token.key
    curl = printed["try it:"]
    assert curl == (
        f"curl -H 'Authorization: Token {token.key}' "
        "http://127.0.0.1:8000/api/greeter/newcomers/me/"
    )
    me = APIClient().get("/api/greeter/newcomers/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "ada"


def test_seeding_twice_changes_nothing_and_prints_the_same():
    first = list(demo.seed())
    second = list(demo.seed())
    assert first == second
    assert Newcomer.objects.filter(user__username="ada").count() == 1
    assert Token.objects.filter(user__username="ada").count() == 1


def test_a_revoked_token_is_replaced_by_the_next_seed():
    list(demo.seed())
    Token.objects.filter(user__username="ada").delete()
    printed = lines_by_label(list(demo.seed()))
    assert printed["her API token:"] == Token.objects.get(user__username="ada").key
