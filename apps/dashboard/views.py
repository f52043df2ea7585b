"""The dashboard is for the people who run the city: staff only. It names replicas, their
addresses and the queues, and each look asks HAProxy, the broker and the workers."""

from django.contrib.admin.views.decorators import staff_member_required
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.dashboard.serializers import CityStatusSerializer
from apps.dashboard.status import city_status
from city.errors import ErrorSerializer

REFRESH_SECONDS = 3
# Each panel's body is templates/dashboard/panels/<name>.html (and dashboard.js's <name>).
PANELS = [
    ("services", "Services"),
    ("queues", "Queues"),
    ("documents", "Documents"),
    ("outbox", "Events waiting"),
    ("processes", "Processes"),
]


@method_decorator(staff_member_required, name="dispatch")  # else to the admin's login
class DashboardPage(TemplateView):
    """The page renders the status it is served with, then refreshes it from the API."""

    template_name = "dashboard/index.html"

    def get_context_data(self, **kwargs):
        status = CityStatusSerializer(city_status()).data
        panels = [(name, title, status[name]) for name, title in PANELS]
        return {
            **super().get_context_data(**kwargs),
            "status": status,
            "panels": panels,
            "refresh": REFRESH_SECONDS,
        }


class CityStatusView(APIView):
    permission_classes = (IsAdminUser,)

    @extend_schema(
        summary="The running city: services, replicas, traffic, queues, documents (staff)",
        responses={200: CityStatusSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        return Response(CityStatusSerializer(city_status()).data)
