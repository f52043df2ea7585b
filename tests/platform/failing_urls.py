"""City's URLs plus one view that fails, to see how failures are answered."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path
from rest_framework.decorators import api_view, permission_classes

from city.urls import handler400, handler403, handler404, handler500, urlpatterns


def fail(request):
    raise RuntimeError("a bug")


@api_view(["GET"])
@permission_classes([])
def django_exception(request, kind: str):
    """A DRF view that raises Django's own exceptions, as get_object_or_404 does."""
    raise {"missing": Http404("no such thing"), "forbidden": PermissionDenied()}[kind]


urlpatterns = [
    *urlpatterns,
    path("fail", fail),
    path("api/fail", fail),
    path("raises/<str:kind>", django_exception),
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
