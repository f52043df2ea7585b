"""DRF's content negotiation with the common cases decided without parsing Accept."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings

# What API clients send (curl, requests, httpx, load balancers' checks): answered as DRF
# would, by the first renderer (JSON) or the renderer of exactly that type.
_COMMON_ACCEPTS = frozenset({"*/*", "application/json"})


def accepted_common_type(request) -> str | None:
    """The Accept value when it is a common one and no ?format= overrides it, else None.

    `request` is Django's or DRF's (which passes META and GET through).
    """
    accept = request.META.get("HTTP_ACCEPT", "*/*")
    if accept in _COMMON_ACCEPTS and api_settings.URL_FORMAT_OVERRIDE not in request.GET:
        return accept
    return None


class FastContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        accept = None if format_suffix else accepted_common_type(request)
        if accept:
            for renderer in renderers:
                if accept == "*/*" or renderer.media_type == accept:
                    return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
