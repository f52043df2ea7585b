"""Demo data for `make run`: a staff user, then each installed service's own demo data.

The accounts are printed as one block once everything is seeded, so the log lines that
seeding writes (on stderr, to the same terminal) come before it, never inside it.
"""

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.module_loading import module_has_submodule

STAFF_USERNAME = "admin"
STAFF_PASSWORD = "city-admin-demo"  # noqa: S105 - a printed demo password, dev only


class Command(BaseCommand):
    help = "Create demo users and data (idempotent). For development only."

    def handle(self, *args, **options):
        lines = [self._ensure_staff_user()]
        for app_config in apps.get_app_configs():
            if app_config.name.startswith("apps.") and module_has_submodule(
                app_config.module, "demo"
            ):
                demo = importlib.import_module(f"{app_config.name}.demo")
                lines.extend(demo.seed())
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _ensure_staff_user(self) -> str:
        users = get_user_model().objects
        if not users.filter(username=STAFF_USERNAME).exists():
            users.create_superuser(STAFF_USERNAME, "admin@city.example", STAFF_PASSWORD)
        return f"staff user:    {STAFF_USERNAME} / {STAFF_PASSWORD}  (/admin/)"
