"""Settings, read from environment variables.

Development defaults are safe to run locally; with DJANGO_DEBUG off, a missing
DJANGO_SECRET_KEY stops start-up. Every variable is listed in the README.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no variable; anything unrecognised is an error, not a silent default."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # One clear line instead of a traceback: production must never run on a known key.
        sys.stderr.write("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.\n")
        raise SystemExit(1)
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "lambdalab.admin.LambdaLabAdminConfig",  # django.contrib.admin, instructors only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "learn",
    "learn.practice",
    "learn.study",
    "learn.cohorts",
    "sandbox",
    "sandbox.api",
    "sandbox.aws",
    "sandbox.triggers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lambdalab.middleware.ContentSecurityPolicyMiddleware",
    "lambdalab.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "learn.study.middleware.LearnerTimeZoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lambdalab.urls"
WSGI_APPLICATION = "lambdalab.wsgi.application"
ASGI_APPLICATION = "lambdalab.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lambdalab.context_processors.site",
                "learn.study.context_processors.study",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write to the same file: wait for locks instead of
    # failing, and let readers proceed while a write is under way.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_int("SQLITE_TIMEOUT_SECONDS", 20),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out client is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one client, that pair is locked out for the cool-off, even with the right password. Keyed on
# the pair so that nobody can lock a learner out from elsewhere by guessing at their name.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Passwords never reach the access log or axes' own log lines.
AXES_SENSITIVE_PARAMETERS = ["password", "password1", "password2", "old_password"]
AXES_VERBOSE = False
# Sign-ups per client (REMOTE_ADDR) and hour; taken and free usernames count alike.
SIGNUP_LIMIT_PER_HOUR = env_int("SIGNUP_LIMIT_PER_HOUR", 5)

LOGIN_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# The lab's AWS services: moto in server mode on a private loopback port (the Procfile's `moto`,
# scripts/services.py --moto). Empty means not running; the pages that need them say so.
LAB_SERVICES_URL = os.environ.get("LAB_SERVICES_URL", "")
LAB_REGION = "us-east-1"
# How long an environment's execution-role credentials are valid (IAM's longest role session).
LAB_SESSION_SECONDS = env_int("LAB_SESSION_SECONDS", 12 * 3600)
# The largest request the learner endpoint (/aws/) takes, e.g. an S3 PutObject body.
LAB_MAX_REQUEST_BYTES = env_int("LAB_MAX_REQUEST_MB", 64) * 1024 * 1024
# SQS event source mappings: each poll waits this long for messages (SQS long polling), at most
# this many batches of one mapping run at once (fewer if the function's concurrency is lower),
# and a poller that was throttled or could not reach the queue waits this long to try again.
TRIGGERS_SQS_WAIT_SECONDS = env_int("TRIGGERS_SQS_WAIT_SECONDS", 2)
TRIGGERS_SQS_MAX_POLLERS = env_int("TRIGGERS_SQS_MAX_POLLERS", 5)
TRIGGERS_SQS_BACKOFF_SECONDS = env_int("TRIGGERS_SQS_BACKOFF_SECONDS", 2)


def redis_cache_url(broker_url: str) -> str:
    """The broker's Redis, one database up, so clearing the cache never empties the queues."""
    parts = urlsplit(broker_url)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{database + 1}"))


if os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL"):
    # Shared by every web and worker process: rendered lessons, the health check's worker ping
    # and rate-limit counters. A Redis outage turns the cache into misses (lambdalab/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "lambdalab.cache.ForgivingRedisCache",
            "LOCATION": os.environ.get("CACHE_URL") or redis_cache_url(REDIS_URL),
            "KEY_PREFIX": "lambdalab",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "lambdalab",
        }
    }

# Mail is only password resets. Development prints it on the console; production names an SMTP
# server (the EMAIL_* variables in the README).
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Lambda Lab <noreply@localhost>")

# Security headers. HTTPS-only settings follow HTTPS (on unless debug) so local http:// works.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# DJANGO_HTTPS=false is for a production-like server on loopback over plain http (`make run`).
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Only same-origin scripts, styles and images; no inline script anywhere in the templates.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# Celery: Redis is broker and result backend. Tasks are acknowledged after they finish so a
# worker that dies mid-task does not lose it, and each worker takes one task at a time.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_SANDBOX_QUEUE = "sandbox"
CELERY_TASK_ROUTES = {
    "sandbox.tasks.*": {"queue": CELERY_SANDBOX_QUEUE},
    # Pollers run the functions they feed in the worker's pool.
    "sandbox.triggers.tasks.*": {"queue": CELERY_SANDBOX_QUEUE},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task taken by a worker that died before acknowledging it is delivered again after this
# long: just over the longest invocation (900 s timeout + 10 s INIT). Tasks are idempotent, so a
# long experiment delivered twice runs once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 960}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1200)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Periodic work, run by the `beat` process of the Procfile (`make run`).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "study-expire-inactive-sessions": {
        "task": "learn.study.tasks.expire_inactive_sessions",
        "schedule": 300.0,
    },
    # Restarts an event source mapping's poller that a worker restart stopped.
    "triggers-sqs-pollers": {
        "task": "sandbox.triggers.tasks.sqs_pollers_ensure",
        "schedule": 30.0,
    },
    # EventBridge schedules: every due time fires once, however many ticks run.
    "triggers-schedules": {
        "task": "sandbox.triggers.tasks.schedules_fire",
        "schedule": crontab(),  # at the start of every minute, when cron schedules fall due
    },
}

# The sandbox: one engine pool per worker process.
SANDBOX_ACCOUNT_CONCURRENCY = env_int("SANDBOX_ACCOUNT_CONCURRENCY", 10)
# Lambda's rules scaled to one worker, plus fairness between learners (README, "Limits").
# Reservations can never take this much of the account limit (Lambda keeps 100 of 1,000).
SANDBOX_UNRESERVED_MINIMUM = env_int(
    "SANDBOX_UNRESERVED_MINIMUM", max(1, SANDBOX_ACCOUNT_CONCURRENCY // 10)
)
# Invocations one learner may have running at once, whatever started them (console, labs,
# code challenges, API, triggers); below the account limit so others always find room.
SANDBOX_LEARNER_CONCURRENCY = env_int(
    "SANDBOX_LEARNER_CONCURRENCY", max(1, SANDBOX_ACCOUNT_CONCURRENCY // 2)
)
SANDBOX_LEARNER_PROVISIONED = env_int("SANDBOX_LEARNER_PROVISIONED", 2)
# Memory (function memory + /tmp) all environments may hold, and one learner's; 0: three
# quarters of the host's RAM, and two thirds of that.
SANDBOX_MEMORY_BUDGET_MB = env_int("SANDBOX_MEMORY_BUDGET_MB", 0)
SANDBOX_LEARNER_MEMORY_MB = env_int("SANDBOX_LEARNER_MEMORY_MB", 0)
# Host uids for environments (one each, as root): SANDBOX_UID_BASE upwards.
SANDBOX_UID_BASE = env_int("SANDBOX_UID_BASE", 200_000)
SANDBOX_UID_COUNT = env_int("SANDBOX_UID_COUNT", 4096)
# Threads of the sandbox worker: never fewer than the account limit, so threads are not the
# queue (a learner's throttled work returns at once instead of holding a thread).
SANDBOX_WORKER_THREADS = max(
    env_int("SANDBOX_WORKER_THREADS", SANDBOX_ACCOUNT_CONCURRENCY + 2), SANDBOX_ACCOUNT_CONCURRENCY
)
SANDBOX_KEEP_ALIVE_SECONDS = env_int("SANDBOX_KEEP_ALIVE_SECONDS", 600)
# However busy, an environment is recycled after this long, as Lambda's are after some hours:
# well within LAB_SESSION_SECONDS, so the role credentials it got at INIT never expire in it.
SANDBOX_ENVIRONMENT_MAX_LIFETIME_SECONDS = env_int("SANDBOX_ENVIRONMENT_MAX_LIFETIME_SECONDS", 7200)
# Per-learner limits of the sandbox console (see README).
SANDBOX_USER_MAX_FUNCTIONS = env_int("SANDBOX_USER_MAX_FUNCTIONS", 25)
SANDBOX_USER_INVOCATIONS_PER_MINUTE = env_int("SANDBOX_USER_INVOCATIONS_PER_MINUTE", 60)
SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS = env_int("SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS", 20)
SANDBOX_LAB_MAX_BURST = env_int("SANDBOX_LAB_MAX_BURST", 12)
# A running invocation older than its timeout plus this is taken as lost with its worker.
SANDBOX_STALE_GRACE_SECONDS = env_int("SANDBOX_STALE_GRACE_SECONDS", 60)
# Each sandbox worker refreshes its heartbeat key (sandbox/heartbeats.py) this often, the key
# lives this long, and the heartbeat thread runs the sweeps below this often.
SANDBOX_HEARTBEAT_INTERVAL_SECONDS = env_int("SANDBOX_HEARTBEAT_INTERVAL_SECONDS", 5)
SANDBOX_HEARTBEAT_TTL_SECONDS = env_int("SANDBOX_HEARTBEAT_TTL_SECONDS", 15)
SANDBOX_SWEEP_INTERVAL_SECONDS = env_int("SANDBOX_SWEEP_INTERVAL_SECONDS", 60)
# Sandbox workers to route functions to (sandbox/routing.py), as Celery node names separated by
# commas; empty: every worker whose heartbeat is fresh.
SANDBOX_WORKERS = env_list("SANDBOX_WORKERS", [])
# A queued invocation whose task has not started after this long is sent again (a Redis that
# lost its data lost the task); one routed to a worker whose heartbeat stopped is re-routed at
# once. Tasks are idempotent: a second copy finds the invocation claimed and does nothing.
SANDBOX_REQUEUE_SECONDS = env_int("SANDBOX_REQUEUE_SECONDS", 300)
# What each sandbox worker's heartbeat sweeps every minute: runs left `running` by a dead worker
# (and the asynchronous invocations they were attempts of: retried or sent to OnFailure),
# queued work to send again.
SANDBOX_STALE_SWEEPS = [
    "sandbox.execution.invocations_sweep_stale",
    "sandbox.api.services.async_events_sweep_stale",
    "learn.practice.execution.submissions_sweep_stale",
    "sandbox.execution.invocations_prune",
    "sandbox.services.invocations_resend",
]
# Finished invocations kept per function (each holds its code, event and payload); older ones
# are deleted by the sweep above, which the history page says.
SANDBOX_HISTORY_PER_FUNCTION = env_int("SANDBOX_HISTORY_PER_FUNCTION", 200)
# The Lambda API's synchronous invoke waits for the worker this long beyond the function's
# timeout and INIT (time queued behind others); the console waits this long before polling.
SANDBOX_API_QUEUE_WAIT_SECONDS = env_int("SANDBOX_API_QUEUE_WAIT_SECONDS", 30)
SANDBOX_CONSOLE_WAIT_SECONDS = env_int("SANDBOX_CONSOLE_WAIT_SECONDS", 2)
# Asynchronous invocations (InvocationType Event): the waits before the two retries after a
# function error (Lambda's: one minute, then two), and the backoff after a throttle (from the
# first figure, doubling, up to the second), as on Lambda.
SANDBOX_API_ASYNC_RETRY_DELAYS = [
    float(s) for s in env_list("SANDBOX_API_ASYNC_RETRY_DELAYS", ["60", "120"])
]
SANDBOX_API_ASYNC_THROTTLE_BACKOFF = [
    float(s) for s in env_list("SANDBOX_API_ASYNC_THROTTLE_BACKOFF", ["1", "300"])
]
# A sandbox event may be 6 MB (Lambda's limit); accept larger request bodies so the console can
# refuse them with a clear message instead of Django's bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; failures and lockouts are its WARNINGs.
    "loggers": {"axes": {"level": "WARNING"}},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a Celery worker started by an integration test sees the rows.
    # DJANGO_TEST_DATABASE lets two test runs on one checkout use separate files.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("DJANGO_TEST_DATABASE") or str(BASE_DIR / ".test-db.sqlite3")
    }
