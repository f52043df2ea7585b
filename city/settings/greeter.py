"""The greeter service alone: production settings with only its app and URLs."""

from .production import *

CITY_SERVICES = ["greeter"]
INSTALLED_APPS = installed_apps(CITY_SERVICES)
require_service_key()
