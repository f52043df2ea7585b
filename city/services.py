"""The service registry: which services City has and how each is mounted and queued.

Everything that needs to know the set of services (settings, URLs, Celery routing, the
load balancer configuration) reads it from here, so adding a service is one line.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str

    @property
    def app(self) -> str:
        return f"apps.{self.name}"

    @property
    def url_prefix(self) -> str:
        return f"api/{self.name}/"

    @property
    def queue(self) -> str:
        return self.name


SERVICES: dict[str, Service] = {
    service.name: service
    for service in (Service("greeter"), Service("documents"), Service("leasing"))
}


def services_named(names: list[str]) -> list[Service]:
    """The services for these names, in registry order; an unknown name is a startup error."""
    unknown = sorted(set(names) - SERVICES.keys())
    if unknown:
        raise ValueError(f"Unknown service(s) {unknown}; known: {sorted(SERVICES)}")
    return [service for name, service in SERVICES.items() if name in names]
