"""/api/ and the services' roots: a person browsing the API finds everything from there."""

import re
from urllib.parse import urlsplit

import httpx
import pytest
from django.urls import resolve

from city.services import SERVICES
from deploy.haproxy.render import Replica
from tests import servers
from tests.factories import NewcomerFactory, StaffFactory

ROOT = "/api/"


def test_the_api_root_links_every_service_and_the_platform_for_anyone(api):
    response = api.get(ROOT)
    assert response.status_code == 200
    body = response.json()
    services = body["services"]
    assert list(services) == ["greeter", "documents", "leasing"]
    assert services["greeter"] == {"url": "http://testserver/api/greeter/"}
    assert services["leasing"] == {"url": "http://testserver/api/leasing/"}
    # Its prefix is its collection (clients upload there): its endpoints are named here.
    assert services["documents"]["url"] == "http://testserver/api/documents/"
    assert services["documents"]["collection"] == "http://testserver/api/documents/"
    assert services["documents"]["counts"] == "http://testserver/api/documents/counts/"
    assert {key: body[key] for key in ("schema", "docs", "login", "logout", "token")} == {
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
        "login": "http://testserver/api/auth/login/",
        "logout": "http://testserver/api/auth/logout/",
        "token": "http://testserver/api/auth/token/",
    }


def links_of(body: dict) -> list[str]:
    found = []
    for value in body.values():
        found.extend(links_of(value) if isinstance(value, dict) else [value])
    return found


@pytest.mark.django_db
def test_every_link_of_the_api_root_leads_to_a_view(api):
    api.force_authenticate(StaffFactory())
    for link in links_of(api.get(ROOT).json()):
        path = urlsplit(link).path
        resolve(path)  # raises Resolver404 if nothing is there
        # GET answers (or says GET is the wrong method, for logout and the token).
        assert api.get(path).status_code in {200, 405}, path


def test_the_greeter_root_lists_its_endpoints_for_anyone(api):
    response = api.get("/api/greeter/")
    assert response.status_code == 200
    assert response.json() == {
        "greet": "http://testserver/api/greeter/greet",
        "greetings/counts": "http://testserver/api/greeter/greetings/counts/",
        "newcomers": "http://testserver/api/greeter/newcomers/",
        "newcomers/me": "http://testserver/api/greeter/newcomers/me/",
    }


def test_the_leasing_root_lists_its_collections_and_available_units_for_anyone(api):
    response = api.get("/api/leasing/")
    assert response.status_code == 200
    assert response.json() == {
        "properties": "http://testserver/api/leasing/properties/",
        "units": "http://testserver/api/leasing/units/",
        "applications": "http://testserver/api/leasing/applications/",
        "leases": "http://testserver/api/leasing/leases/",
        "units/available": "http://testserver/api/leasing/units/available/",
    }


def test_leasing_routes_have_no_format_suffixes(api):
    assert api.get("/api/leasing/units.json").status_code == 404


@pytest.mark.django_db
def test_the_documents_prefix_is_still_its_collection(api):
    assert api.get("/api/documents/").status_code == 401  # the collection asks who you are


def test_the_roots_are_not_operations_of_the_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert not {"/api/", "/api/greeter/", "/api/leasing/"} & set(schema["paths"])


def breadcrumbs(api, path: str, query: dict) -> list[tuple[str, str]]:
    page = api.get(path, query, HTTP_ACCEPT="text/html")
    assert page.status_code in {200, 405}, path  # 405: a page of POST forms (the token)
    trail = re.search(r'<ul class="breadcrumb">(.*?)</ul>', page.content.decode(), re.S)[1]
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', trail)


DATES = {"start": "2030-01-01", "end": "2030-02-01"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "query", "trail"),
    [
        ("/api/", {}, ["City API"]),
        ("/api/greeter/", {}, ["City API", "Greeter"]),
        (
            "/api/greeter/newcomers/me/",
            {},
            ["City API", "Greeter", "Newcomer Registration", "Newcomer Me"],
        ),
        ("/api/greeter/greetings/counts/", {}, ["City API", "Greeter", "Greeting Counts"]),
        (
            "/api/leasing/units/available/",
            DATES,
            ["City API", "Leasing", "Unit List", "Units Available"],
        ),
        ("/api/leasing/leases/", {}, ["City API", "Leasing", "Lease List"]),
        (
            "/api/documents/counts/",
            {},
            ["City API", "Document Collection", "Processing Counts"],
        ),
        ("/api/auth/token/", {}, ["City API", "API token"]),
    ],
)
def test_breadcrumbs_start_at_the_api_root_and_each_is_a_page_of_the_browsable_api(
    api, page, query, trail
):
    newcomer = NewcomerFactory(user=StaffFactory())
    api.force_authenticate(newcomer.user)
    crumbs = breadcrumbs(api, page, query)
    assert [name for _, name in crumbs] == trail
    assert crumbs[-1][0] == page
    for link, _ in crumbs[:-1]:
        # A page of the browsable API; 405 for the POST-only ones, a page with their form.
        crumb = api.get(link, HTTP_ACCEPT="text/html")
        assert crumb.status_code in {200, 405}, link
        assert crumb["Content-Type"].startswith("text/html"), link


def test_without_an_edge_the_root_lists_only_the_services_installed_here(api, settings):
    settings.CITY_SERVICES = ["greeter"]
    settings.CITY_PEER_URL = ""
    assert list(api.get(ROOT).json()["services"]) == ["greeter"]


@pytest.fixture
def greeter_behind_the_edge(tmp_path):
    """A greeter-only deployment (production settings) behind City's HAProxy, as in the
    split topology, where the edge sends /api/ to any replica of any service."""
    with (
        servers.database_of_its_own(tmp_path, "edge") as database_url,
        servers.gunicorn(
            "city.settings.greeter",
            env=servers.production_env(DATABASE_URL=database_url),
            log=tmp_path / "greeter.log",
        ) as greeter,
        servers.haproxy(
            tmp_path, greeter=[Replica("greeter-1", greeter.removeprefix("http://"))]
        ) as edge,
    ):
        yield edge.url


def test_a_replica_behind_the_edge_lists_every_service_at_the_edge(greeter_behind_the_edge):
    edge = greeter_behind_the_edge
    root = httpx.get(f"{edge}{ROOT}")
    assert root.status_code == 200
    services = root.json()["services"]
    assert list(services) == list(SERVICES)
    assert {name: links["url"] for name, links in services.items()} == {
        name: f"{edge}/api/{name}/" for name in SERVICES
    }
    # The edge routes each service's link to that service: the greeter's root answers.
    greeter_root = httpx.get(services["greeter"]["url"])
    assert greeter_root.status_code == 200
    assert greeter_root.json()["greet"] == f"{edge}/api/greeter/greet"


def test_the_browsable_api_is_citys_and_its_name_leads_to_the_root(api):
    html = api.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert "– City API</title>" in html
    assert '<a class="navbar-brand" href="/api/">City API</a>' in html
    assert "Django REST framework" not in html
