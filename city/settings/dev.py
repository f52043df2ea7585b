"""`make run`: every service in one process, SQLite, tasks in-process, DEBUG on."""

from .base import *

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "dev-only-secret-key-not-for-production"
CITY_SERVICE_KEY = CITY_SERVICE_KEY or "dev-only-service-key-not-for-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Lines for people on the terminal of `make run`; LOG_FORMAT=json gives the machines' ones.
LOG_FORMAT = env.str("LOG_FORMAT", default="") or "console"
LOGGING = logging_config(level=LOG_LEVEL, format=LOG_FORMAT)
