"""`/api/`: where a person (or a program) starts, with a link to everything else.

It lists the city's services from the registry (city/services.py) and the platform's own
endpoints, by URL name: the platform imports no app. A service's link is its root, which
lists its endpoints (`<service>:api-root`); a service without one (documents, whose
`/api/documents/` is its collection, where clients upload) has its endpoints that take no
argument named here instead.

In the split topology `/api/` reaches any replica of any service (HAProxy's `platform`
backend), and each replica installs only its own service. The root still lists every
service of the registry: a deployment that lacks a service counts on the edge at
CITY_PEER_URL routing `/api/<service>/` to it (its peer calls go there), and a person who
opened `/api/` came through that edge, so each missing service is linked at its prefix on
the host the request named. Asking the peers for their own links instead would cost a call
per service on every visit, for the same prefixes. With no edge (CITY_PEER_URL empty) only
the services installed here are listed.
"""

from django.conf import settings
from django.urls import NoReverseMatch, URLPattern, get_resolver, get_script_prefix
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from city.services import SERVICES, Service

SERVICE_ROOT = "api-root"  # the URL name of a service's root, in the service's namespace

# The platform's endpoints, by URL name.
PLATFORM_LINKS = {
    "schema": "schema",
    "docs": "docs",
    "login": "rest_framework:login",
    "logout": "rest_framework:logout",
    "token": "auth-token",
    "status": "dashboard:status",
}


class ApiRoot(APIView):
    """The services of the city and the platform's endpoints: schema, docs, signing in."""

    name = "City API"
    permission_classes = (AllowAny,)

    @extend_schema(exclude=True)
    def get(self, request):
        installed = set(settings.CITY_SERVICES)
        listed = [
            service
            for service in SERVICES.values()
            if service.name in installed or settings.CITY_PEER_URL
        ]
        return Response(
            {
                "services": {
                    service.name: _service_links(
                        request, service, installed=service.name in installed
                    )
                    for service in listed
                },
                **{key: reverse(name, request=request) for key, name in PLATFORM_LINKS.items()},
            }
        )


def _service_links(request, service: Service, *, installed: bool) -> dict[str, str]:
    """`url`: where the service starts (its root, or its collection); when this process
    serves it and it has no root, its endpoints without arguments too, by name."""
    url = request.build_absolute_uri(f"{get_script_prefix()}{service.url_prefix}")
    if not installed:
        return {"url": url}
    try:
        return {"url": reverse(f"{service.name}:{SERVICE_ROOT}", request=request)}
    except NoReverseMatch:
        pass
    links = {"url": url}
    _, resolver = get_resolver().namespace_dict[service.name]
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLPattern) and pattern.name and not pattern.pattern.regex.groups:
            links[pattern.name] = reverse(f"{service.name}:{pattern.name}", request=request)
    return links
