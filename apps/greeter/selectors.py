"""The greeter's reads."""

from django.db.models import QuerySet

from apps.greeter.models import Newcomer, Welcome


def newcomer_for_user_id(*, user_id: int) -> Newcomer | None:
    return Newcomer.objects.select_related("user").filter(user_id=user_id).first()


def welcomes_for_user_id(*, user_id: int) -> QuerySet[Welcome]:
    return Welcome.objects.filter(user_id=user_id)
