from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.leasing.rest import views

app_name = "leasing"

router = SimpleRouter()
router.register("properties", views.PropertyViewSet, basename="property")
router.register("units", views.UnitViewSet, basename="unit")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("leases", views.LeaseViewSet, basename="lease")

urlpatterns = [
    # Before the router, whose units/<pk>/ would take it otherwise.
    path("units/available/", views.UnitsAvailableView.as_view(), name="units-available"),
    *router.urls,
]
