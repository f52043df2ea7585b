"""City's URLs plus one view that fails, to see how failures are answered."""

from django.urls import path

from city.urls import handler400, handler403, handler404, handler500, urlpatterns


def fail(request):
    raise RuntimeError("a bug")


urlpatterns = [*urlpatterns, path("fail", fail)]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
