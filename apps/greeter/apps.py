from django.apps import AppConfig


class GreeterConfig(AppConfig):
    name = "apps.greeter"
    label = "greeter"
    verbose_name = "Greeter"

    def ready(self):
        from apps.greeter.rest.views import greeting_for
        from city import hot_routes

        hot_routes.register("greeter:greet", greeting_for, vary=("Accept-Language",))
