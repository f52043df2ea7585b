from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.dashboard.serializers import CityStatusSerializer
from apps.dashboard.status import city_status

REFRESH_SECONDS = 3


class DashboardPage(TemplateView):
    """The page renders the status it is served with, then refreshes it from the API."""

    template_name = "dashboard/index.html"

    def get_context_data(self, **kwargs):
        status = CityStatusSerializer(city_status()).data
        return {**super().get_context_data(**kwargs), "status": status, "refresh": REFRESH_SECONDS}


class CityStatusView(APIView):
    authentication_classes = ()  # the same for everyone: nobody's own data
    permission_classes = ()

    @extend_schema(
        summary="The running city: services, replicas, traffic, queues, documents",
        tags=["city"],
        responses=CityStatusSerializer,
    )
    def get(self, request):
        return Response(CityStatusSerializer(city_status()).data)
