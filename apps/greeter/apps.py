from django.apps import AppConfig


class GreeterConfig(AppConfig):
    name = "apps.greeter"
    label = "greeter"
    verbose_name = "Greeter"
