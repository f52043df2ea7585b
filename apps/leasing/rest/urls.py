from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.routers import APIRootView, DefaultRouter

from apps.leasing.rest import views

app_name = "leasing"


class LeasingRootView(APIRootView):
    """Leasing's endpoints, linked; anyone may read them (each endpoint checks its own)."""

    name = "Leasing"
    permission_classes = (AllowAny,)


class LeasingRouter(DefaultRouter):
    """The viewsets' routes and a root linking them, with `units/available/` among them.

    No format suffixes (`units.json`): `?format=` and the Accept header already choose.
    """

    APIRootView = LeasingRootView
    include_format_suffixes = False
    extra_root_links = {"units/available": "units-available"}

    def get_api_root_view(self, api_urls=None):
        list_name = self.routes[0].name  # as DefaultRouter names each viewset's list
        links = {prefix: list_name.format(basename=name) for prefix, _, name in self.registry}
        return self.APIRootView.as_view(api_root_dict={**links, **self.extra_root_links})


router = LeasingRouter()
router.register("properties", views.PropertyViewSet, basename="property")
router.register("units", views.UnitViewSet, basename="unit")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("leases", views.LeaseViewSet, basename="lease")

urlpatterns = [
    # Before the router, whose units/<pk>/ would take it otherwise.
    path("units/available/", views.UnitsAvailableView.as_view(), name="units-available"),
    *router.urls,
]
