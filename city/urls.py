"""Platform routes, then each installed service under /api/<service>/.

A service that this deployment does not install has no routes here, so it answers 404.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from city import health
from city.services import services_named

urlpatterns = [
    path("healthz", health.Liveness.as_view(), name="healthz"),
    path("readyz", health.Readiness.as_view(), name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    path("", include("apps.dashboard.urls")),
] + [
    path(service.url_prefix, include(f"{service.app}.rest.urls"))
    for service in services_named(settings.CITY_SERVICES)
]

handler400 = "city.errors.bad_request"
handler403 = "city.errors.permission_denied"
handler404 = "city.errors.not_found"
handler500 = "city.errors.server_error"
