"""Platform routes, then each installed service under /api/<service>/.

A service that this deployment does not install has no routes here, so it answers 404.
`/api/` is the API root (city/api_root.py), linking the services and the platform's
endpoints; `/api/auth/` signs people in (city/auth.py).
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from city import auth, health
from city.api_root import ApiRoot
from city.services import services_named

# The namespace the browsable API's "Log in" link and "Log out" form reverse; ours, not
# rest_framework.urls, so that logging out is a POST answered in JSON.
session_urls = (
    [
        path("login/", auth.login_view(), name="login"),
        path("logout/", auth.LogoutView.as_view(), name="logout"),
    ],
    "rest_framework",
)

urlpatterns = [
    path("healthz", health.Liveness.as_view(), name="healthz"),
    path("readyz", health.Readiness.as_view(), name="readyz"),
    path("api/", ApiRoot.as_view(), name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script is a file of its own (?script), not inline: the page's
    # Content-Security-Policy allows no inline script (city/csp.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/auth/", include(session_urls)),
    path("api/auth/token/", auth.TokenView.as_view(), name="auth-token"),
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
