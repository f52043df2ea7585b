from django.apps import AppConfig


class CityConfig(AppConfig):
    """The platform's app: its templates, commands and system checks."""

    name = "city"

    def ready(self) -> None:
        from city import checks  # noqa: F401 - registers the checks
