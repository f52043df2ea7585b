"""pytest: the embedded defaults, fast password hashing, a file database for live servers."""

import os

from .base import *

SECRET_KEY = "test-only-secret-key"  # noqa: S105 - tests only
CITY_SERVICE_KEY = "test-only-service-key"  # tests/servers.py gives it to the servers too
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so servers started by the tests see the same test database;
    # one per test run, so runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": "10000/minute",
    "registration": "1000/minute",
    "login": "1000/minute",
}
# The suite uploads batches of files as one person; tests/security/test_uploads.py sets
# the rate it tests.
DOCUMENTS_UPLOADS_PER_MINUTE = 100_000
