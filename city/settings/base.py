"""Every setting of City, read from the environment (see .env.example).

dev, test and production override a few names; greeter, documents and leasing are
production with one service installed.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

from city.logging import logging_config
from city.services import services_named

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
ROOT_URLCONF = "city.urls"
WSGI_APPLICATION = "city.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

# --- Services ---------------------------------------------------------------------------
# The services this deployment serves; the others are not installed and answer 404.
CITY_SERVICES = env.list("CITY_SERVICES", default=["greeter", "documents", "leasing"])
# How this process names itself in logs and response headers (a replica sets its own).
CITY_INSTANCE = env.str("CITY_INSTANCE", default="")
# Where a service reaches the services not installed in its deployment: the load balancer.
CITY_PEER_URL = env.str("CITY_PEER_URL", default="http://127.0.0.1:8080")
CITY_PEER_TIMEOUT_SECONDS = env.float("CITY_PEER_TIMEOUT_SECONDS", default=5.0)
# The secret every deployment of this City shares to sign its calls to the others (a
# service credential, city/service_credentials.py). Needed, with the same value, wherever
# a deployment lacks a service (`manage.py check` says so); no user ever holds it.
CITY_SERVICE_KEY = env.str("CITY_SERVICE_KEY", default="")
# Keys it replaces, still accepted (never used to sign) while a new one is rolled out.
CITY_SERVICE_KEY_FALLBACKS = env.list("CITY_SERVICE_KEY_FALLBACKS", default=[])
# HAProxy's stats as CSV, where a load balancer is in front: the dashboard reads each
# service's replicas and traffic there. Empty: it shows this process.
CITY_HAPROXY_STATS_URL = env.str("CITY_HAPROXY_STATS_URL", default="")
# The split topology's supervisor.json (deploy/topology.py sets it): the dashboard shows
# each process's state and restarts. Empty: an orchestrator (compose, Kubernetes) keeps
# the processes running and counts their restarts.
CITY_SUPERVISOR_STATUS = env.str("CITY_SUPERVISOR_STATUS", default="")
# Answer the hottest anonymous JSON GETs in front of Django's handler (city/hot_routes.py).
CITY_HOT_ROUTES = env.bool("CITY_HOT_ROUTES", default=True)

PLATFORM_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",  # failed sign-ins and lockouts (city/auth.py)
    "city",
]


def installed_apps(services: list[str]) -> list[str]:
    # The dashboard comes with every deployment: it shows the city from wherever it is.
    return [
        *PLATFORM_APPS,
        "apps.dashboard",
        *(service.app for service in services_named(services)),
    ]


INSTALLED_APPS = installed_apps(CITY_SERVICES)

MIDDLEWARE = [
    "city.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "city.csp.HtmlCSPMiddleware",
    # Outside ApiErrorMiddleware: its 429 page for people (city.auth.lockout_response)
    # stays a page under /api/auth/login/.
    "axes.middleware.AxesMiddleware",
    "city.middleware.ApiErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "city.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps' templates: City's look of the browsable API (rest_framework/).
        "DIRS": [BASE_DIR / "city" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction begins, so concurrent writers queue up
    # instead of failing half-way; WAL lets readers go on while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

CACHES = {
    # Where the API's throttles count. Per process by default (one process: `make run`);
    # wherever several processes serve (gunicorn workers, replicas), a cache they share
    # (CACHE_URL=redis://...), or each limit holds per process: `check --deploy` warns.
    "default": env.cache("CACHE_URL", default="locmemcache://"),
    # The dashboard's traffic readings; shared (Redis) where several replicas serve it.
    "dashboard": env.cache("DASHBOARD_CACHE_URL", default="locmemcache://"),
}
# A Redis cache that does not answer (stopped, stalled) costs a request this long at most,
# then the throttles let it through uncounted (city/throttles.py): never a hang or a 500.
CACHE_TIMEOUT_SECONDS = env.float("CACHE_TIMEOUT_SECONDS", default=0.25)
for _cache in CACHES.values():
    if _cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        _cache.setdefault("OPTIONS", {}).update(
            socket_connect_timeout=CACHE_TIMEOUT_SECONDS, socket_timeout=CACHE_TIMEOUT_SECONDS
        )

# Redis for shared counters (greetings per language); empty keeps them per process.
CITY_REDIS_URL = env.str("CITY_REDIS_URL", default="")

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "city.validators.NotOnlyWhitespaceValidator"},
]
LOGIN_URL = "rest_framework:login"
# A session login without ?next= lands on the API root, which links everything else.
LOGIN_REDIRECT_URL = "api-root"
CSRF_FAILURE_VIEW = "city.errors.csrf_failure"

# Signing in is locked out (django-axes, city/auth.py) after this many failures for one
# username, or from one client address, until this many minutes have passed since the
# last one; every way in (session, admin, token) counts, in the shared database, so every
# replica sees the same count. A success forgets its username's failures from its address.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# Addresses or networks of the proxies in front (HAProxy), comma-separated, e.g.
# 10.0.0.0/8: a request from one of them is the client's that it names in
# X-Forwarded-For. Empty: the header is ignored, the connection's address is the client.
CITY_TRUSTED_PROXIES = env.list("CITY_TRUSTED_PROXIES", default=[])
AUTHENTICATION_BACKENDS = [
    "city.auth.LockoutBackend",  # first: a locked-out sign-in is refused before hashing
    "django.contrib.auth.backends.ModelBackend",
]
# The database handler: the failures are rows in the database every replica shares (the
# cache handler would count per process with the default local-memory cache).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_FAILURE_LIMIT = "city.auth.failure_limit"
AXES_COOLOFF_TIME = "city.auth.cool_off"
# Attempts during a lockout neither count nor extend it: the owner of a username that
# someone guesses at is locked out for LOGIN_LOCKOUT_MINUTES, not for as long as they try.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # city.auth.forget_failures does it, for the username only
AXES_CLIENT_IP_CALLABLE = "city.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "city.auth.lockout_response"
# No table row per successful sign-in (City's request log has them); failures only.
AXES_DISABLE_ACCESS_LOG = True

# --- Content-Security-Policy ------------------------------------------------------------
# On every HTML page (city/csp.py): scripts from City's origin only, never inline ones.
# Styles may be inline (Swagger UI and the admin set style attributes); images may be data:
# URIs (Swagger UI's icons). No page may be framed, nor post a form elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic puts files for production. Unset, static files are served straight
# from the apps (no collectstatic needed), as in development and tests.
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API call then answers 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # A peer service's call for a user, from a deployment without this service.
        "city.service_credentials.ServiceCredentialAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "city.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["city.throttles.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/minute"),
        "registration": env.str("THROTTLE_REGISTRATION", default="20/hour"),
        # Token requests (username and password) per client: guesses of passwords.
        "login": env.str("THROTTLE_LOGIN", default="10/minute"),
    },
    # JSON bounded in size and nesting (city/parsers.py); forms and uploads as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "city.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "city.negotiation.FastContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # One tag per service, a summary on every operation (city/schema.py).
    "DEFAULT_SCHEMA_CLASS": "city.schema.CitySchema",
    "EXCEPTION_HANDLER": "city.errors.api_exception_handler",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
}

# --- Request bodies ---------------------------------------------------------------------
# A body that is not a file upload (JSON, a form) larger than this is 413, read no further.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# JSON nested deeper than this (arrays and objects) is 400, refused before it is parsed.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)

SPECTACULAR_SETTINGS = {
    "TITLE": "City API",
    "DESCRIPTION": "The services of City: greeter, documents and leasing.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get components of their own (`UnitRequest` beside `Unit`): a file
    # field is then `format: binary`, so Swagger UI's "Try it out" uploads a real file.
    "COMPONENT_SPLIT_REQUEST": True,
    # The ways people sign in; not the service credential, which only City's services use
    # (city/service_credentials.py), and only at the few endpoints open to them.
    "AUTHENTICATION_WHITELIST": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Swagger UI's sections, in this order: one per service (city.services), the platform.
    "TAGS": [
        {
            "name": "greeter",
            "description": "The front door: a greeting in nine languages, and a newcomer "
            "registered as a resident with an account and an API token.",
        },
        {
            "name": "documents",
            "description": "Your documents (PDF, DOCX, text, images): uploaded, processed in "
            "the background, searched and downloaded.",
        },
        {
            "name": "leasing",
            "description": "House rentals: properties and units, availability by dates, "
            "applications, and leases through their lifecycle with their rent charges.",
        },
        {
            "name": "platform",
            "description": "The city itself, whichever services a deployment serves: health "
            "probes, the running city's status, signing in and API tokens.",
        },
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "city.schema.drop_tags_without_operations",  # a deployment's own services only
    ],
    # Swagger UI lists the operations, each with its own body and answer schemas; the list
    # of every component below them (doubled by the split) is left to /api/schema/.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "defaultModelsExpandDepth": -1},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set, where fields of one name ("status") have different sets.
    # Written out, not imported: a deployment may not install the app that defines them
    # (tests/platform/test_schema.py checks they match the models).
    "ENUM_NAME_OVERRIDES": {
        "Language": "apps.greeter.greetings.SUPPORTED_LANGUAGES",
        "DocumentStatusEnum": [
            ("pending", "Pending"),
            ("processing", "Processing"),
            ("processed", "Processed"),
            ("failed", "Failed"),
        ],
        "ApplicationStatusEnum": [
            ("draft", "Draft"),
            ("submitted", "Submitted"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("withdrawn", "Withdrawn"),
            ("expired", "Expired"),
        ],
        "LeaseStatusEnum": [
            ("draft", "Draft"),
            ("pending_signature", "Pending Signature"),
            ("active", "Active"),
            ("ended", "Ended"),
            ("terminated", "Terminated"),
        ],
    },
}

# --- Celery -----------------------------------------------------------------------------
# No broker (the embedded default) runs tasks in-process, right after the commit.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, and given back to the queue if its worker dies,
# so a crash loses nothing; tasks are therefore written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker child that grew past this (KiB) after a task is replaced: one pathological
# document cannot keep its memory for the rest of the worker's life.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=512_000)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
# Redis re-delivers an unacknowledged message after this; it must outlast the hard limit
# or a long task would be run twice while the first run is still going.
# A send to the broker (an upload's processing, an event) holds its request this long at
# most: each connect and each command to Redis times out after it, and a send is tried
# once. One that fails is logged (`event_not_sent`) and stays in the outbox for the relay.
# A broker that refuses connections fails at once.
CELERY_BROKER_SEND_TIMEOUT_SECONDS = env.float("CELERY_BROKER_SEND_TIMEOUT_SECONDS", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": CELERY_BROKER_SEND_TIMEOUT_SECONDS,
    "socket_timeout": CELERY_BROKER_SEND_TIMEOUT_SECONDS,
    # Workers look for messages past their visibility timeout every 10 s (kombu's restore
    # interval) rather than every 100 s (its default: every 10th look): a message a killed
    # worker had taken is delivered again at most 10 s after its timeout. One cheap query.
    "unacked_restore_throttle": 1,
}
# No retry of a publish that timed out (each would wait the timeout again); redis-py still
# reconnects at once a pooled connection the broker closed (a restart).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_TASK_DEFAULT_QUEUE = "city"
CELERY_TASK_ROUTES = ("city.celery.route_by_service",)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- The outbox (city/tasks.py, `manage.py relay_events`) -------------------------------
# The relay leaves a fresh event this long to the process that wrote it (which sends it
# right after the commit): above CELERY_BROKER_SEND_TIMEOUT_SECONDS, so the two do not
# both send it.
OUTBOX_GRACE_SECONDS = env.float("OUTBOX_GRACE_SECONDS", default=10.0)
# A relay's claim on a batch: if it dies, another relay takes the batch after this.
OUTBOX_CLAIM_SECONDS = env.float("OUTBOX_CLAIM_SECONDS", default=60.0)
# A failed send is tried again after 1, 2, 4 … seconds, never more than this apart.
OUTBOX_RETRY_MAX_SECONDS = env.float("OUTBOX_RETRY_MAX_SECONDS", default=300.0)
# The relay pauses 1, 2, 4 … seconds after each pass that failed, never longer than this:
# once the broker is back, the backlog goes within this long.
OUTBOX_RELAY_PAUSE_MAX_SECONDS = env.float("OUTBOX_RELAY_PAUSE_MAX_SECONDS", default=30.0)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
# How often an idle relay looks for due events.
OUTBOX_POLL_SECONDS = env.float("OUTBOX_POLL_SECONDS", default=1.0)
# An event sent this long ago that no worker has run yet is sent again: Redis hands a
# message to a worker (BRPOP) before the worker records it as unacknowledged, so one
# killed in between loses it. Default: the visibility timeout plus the hard time limit,
# plus a margin for kombu's 10 s restore interval and for time spent queued.
OUTBOX_REDELIVER_AFTER_SECONDS = env.float(
    "OUTBOX_REDELIVER_AFTER_SECONDS",
    default=CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + CELERY_TASK_TIME_LIMIT + 30,
)
# Each time it is sent again the wait doubles; an event still not run after this many
# repeats is dead-lettered: no longer sent, shown in /readyz and the dashboard, logged as
# an error (`event_dead_lettered`), for an operator to look into.
OUTBOX_REDELIVERIES_MAX = env.int("OUTBOX_REDELIVERIES_MAX", default=3)
# Delivered events are kept this long (to look into what was sent), then deleted by the
# relay; undelivered ones (pending, sent, dead-lettered) never are.
OUTBOX_RETENTION_HOURS = env.float("OUTBOX_RETENTION_HOURS", default=168.0)

# --- Documents --------------------------------------------------------------------------
# Uploads larger than this are refused with 413 before their body is read.
DOCUMENTS_MAX_UPLOAD_BYTES = env.int("DOCUMENTS_MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)
# Uploads per person: this many a minute (429 past it; every upload request counts, in the
# default cache), and this many bytes stored (413 past it; every stored document counts,
# duplicates kept on purpose too). 0 turns either off.
DOCUMENTS_UPLOADS_PER_MINUTE = env.int("DOCUMENTS_UPLOADS_PER_MINUTE", default=30)
DOCUMENTS_QUOTA_BYTES = env.int("DOCUMENTS_QUOTA_BYTES", default=500 * 1024 * 1024)
# A document still pending or processing this long after it was queued or claimed is
# queued again by the sweep (a lost message, a dead worker). Above the hard time limit.
DOCUMENTS_STALE_AFTER_SECONDS = env.int("DOCUMENTS_STALE_AFTER_SECONDS", default=300)
DOCUMENTS_SWEEP_INTERVAL_SECONDS = env.int("DOCUMENTS_SWEEP_INTERVAL_SECONDS", default=60)
# A search (?q=) of more words or characters than these is 400: each word is a condition.
DOCUMENTS_SEARCH_MAX_TERMS = env.int("DOCUMENTS_SEARCH_MAX_TERMS", default=16)
DOCUMENTS_SEARCH_MAX_CHARS = env.int("DOCUMENTS_SEARCH_MAX_CHARS", default=200)
# Claims of one document (crashes, time-outs, transient errors) before it is marked failed.
DOCUMENTS_MAX_ATTEMPTS = env.int("DOCUMENTS_MAX_ATTEMPTS", default=3)
# Each document is read (parsed, its text extracted, its thumbnail rendered) in a child
# process that may take this much memory beyond the process it is forked from, and this
# long; over either, the document fails (too_large_to_render, too_slow_to_render) and the
# worker or web process is untouched. Keep the time below CELERY_TASK_SOFT_TIME_LIMIT, so
# the reason names the file rather than the task (apps/documents/sandbox.py).
DOCUMENTS_PROCESSING_MEMORY_MB = env.int("DOCUMENTS_PROCESSING_MEMORY_MB", default=512)
DOCUMENTS_PROCESSING_TIMEOUT_SECONDS = env.int("DOCUMENTS_PROCESSING_TIMEOUT_SECONDS", default=60)
# Uploaded files and thumbnails; never served publicly (downloads check the owner).
MEDIA_ROOT = env.str("MEDIA_ROOT", default="") or str(BASE_DIR / "media")
# S3-compatible storage: STORAGE_BACKEND=storages.backends.s3.S3Storage (install
# django-storages[s3]) with STORAGE_OPTIONS='{"bucket_name": "...", "endpoint_url": "..."}'.
STORAGES["default"] = {
    "BACKEND": env.str("STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    "OPTIONS": env.json("STORAGE_OPTIONS", default={}),
}
CELERY_BEAT_SCHEDULE = {
    "documents-sweep": {
        "task": "documents.sweep_stale",
        "schedule": DOCUMENTS_SWEEP_INTERVAL_SECONDS,
    },
}

# --- Leasing ----------------------------------------------------------------------------
# The currency of a unit or lease created without one (ISO 4217).
LEASING_DEFAULT_CURRENCY = env.str("LEASING_DEFAULT_CURRENCY", default="EUR")
# How far ahead rent charges of an open-ended lease are generated, in months.
LEASING_SCHEDULE_HORIZON_MONTHS = env.int("LEASING_SCHEDULE_HORIZON_MONTHS", default=12)
# A submitted application the manager has not decided this many days after it was
# submitted expires, and the manager no longer reads its documents.
LEASING_APPLICATION_TTL_DAYS = env.int("LEASING_APPLICATION_TTL_DAYS", default=30)
# Daily upkeep, just after midnight UTC: leases past their end, charges of open-ended ones,
# applications left undecided.
CELERY_BEAT_SCHEDULE |= {
    "leasing-end-due-leases": {
        "task": "leasing.end_due_leases",
        "schedule": crontab(hour=0, minute=5),
    },
    "leasing-extend-open-ended-schedules": {
        "task": "leasing.extend_open_ended_schedules",
        "schedule": crontab(hour=0, minute=10),
    },
    "leasing-expire-stale-applications": {
        "task": "leasing.expire_stale_applications",
        "schedule": crontab(hour=0, minute=15),
    },
}

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json (machines read it) everywhere but `make run`, whose dev settings default to console.
LOG_FORMAT = env.str("LOG_FORMAT", default="") or "json"
LOGGING = logging_config(level=LOG_LEVEL, format=LOG_FORMAT)
