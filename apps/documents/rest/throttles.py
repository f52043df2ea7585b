"""How often one person may upload: DOCUMENTS_UPLOADS_PER_MINUTE, counted per user."""

import math

from django.conf import settings
from rest_framework import status
from rest_framework.throttling import UserRateThrottle

from city.errors import CityError
from city.throttles import FailOpen


class UploadsThrottled(CityError):
    """429 naming the limit; `wait` becomes the Retry-After header (DRF's handler)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"
    default_detail = "Too many uploads."

    def __init__(self, *, wait: float, per_minute: int):
        self.wait = max(1, math.ceil(wait))
        super().__init__(
            f"You may upload {per_minute} files a minute; try again in {self.wait} seconds.",
            details={
                "limit": "uploads_per_minute",
                "uploads_per_minute": per_minute,
                "retry_after": self.wait,
            },
        )


class UploadRateThrottle(FailOpen, UserRateThrottle):
    """Every upload request of a user counts, accepted or refused, in the default cache
    (shared where several processes serve; uncounted while it is down). The rate is read
    when the request comes, so DOCUMENTS_UPLOADS_PER_MINUTE=0 turns it off."""

    scope = "uploads"

    def get_rate(self) -> str | None:
        per_minute = settings.DOCUMENTS_UPLOADS_PER_MINUTE
        return f"{per_minute}/minute" if per_minute else None

    def allow_request(self, request, view) -> bool:
        if super().allow_request(request, view):
            return True
        raise UploadsThrottled(wait=self.wait() or 1, per_minute=self.num_requests)
