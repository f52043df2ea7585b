"""The documents service alone: production settings with only its app and URLs."""

from .production import *

CITY_SERVICES = ["documents"]
INSTALLED_APPS = installed_apps(CITY_SERVICES)
require_service_key()
