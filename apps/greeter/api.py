"""The greeter's public interface to the other services.

Other services send the welcome by task name (WELCOME_RESIDENT_TASK, through
city.tasks.send_task_on_commit, with keyword arguments `user_id` and `lease_id`) and never
import the task itself.
"""

from dataclasses import dataclass

from apps.greeter.greetings import SUPPORTED_LANGUAGES

__all__ = [
    "SUPPORTED_LANGUAGES",
    "WELCOME_RESIDENT_TASK",
    "NewcomerSummary",
    "get_newcomer_summary",
]

# The welcome of a new tenant: send it by this name with kwargs user_id and lease_id.
WELCOME_RESIDENT_TASK = "greeter.welcome_resident"


@dataclass(frozen=True)
class NewcomerSummary:
    user_id: int
    username: str
    language: str


def get_newcomer_summary(user_id: int) -> NewcomerSummary | None:
    from apps.greeter.selectors import newcomer_for_user_id  # models load with the app

    newcomer = newcomer_for_user_id(user_id=user_id)
    if newcomer is None:
        return None
    return NewcomerSummary(
        user_id=newcomer.user_id, username=newcomer.user.get_username(), language=newcomer.language
    )
