"""The greeter's public interface to the other services.

Other services send the welcome by task name (WELCOME_RESIDENT_TASK, through
city.tasks.send_task_on_commit, with keyword arguments `user_id` and `lease_id`) and never
import the task itself.
"""

__all__ = ["WELCOME_RESIDENT_TASK"]

# The welcome of a new tenant: send it by this name with kwargs user_id and lease_id.
WELCOME_RESIDENT_TASK = "greeter.welcome_resident"
