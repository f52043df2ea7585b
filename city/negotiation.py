"""DRF's content negotiation with the common cases decided without parsing Accept."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings

# What API clients send (curl, requests, httpx, load balancers' checks): answered as DRF
# would, by the first renderer (JSON) or the renderer of exactly that type.
COMMON_ACCEPTS = frozenset({"*/*", "application/json"})
FORMAT_PARAMETER = api_settings.URL_FORMAT_OVERRIDE  # ?format=json|api


class FastContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if accept in COMMON_ACCEPTS and not format_suffix and FORMAT_PARAMETER not in request.GET:
            for renderer in renderers:
                if accept == "*/*" or renderer.media_type == accept:
                    return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
