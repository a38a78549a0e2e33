"""Switchboard's one settings module, driven by the environment.

With nothing set it runs the embedded default: SQLite under ``var/``, Redis on localhost, the demo
deployment, DEBUG on. Setting ``SECRET_KEY`` switches to production mode, where DEBUG defaults to
off and every secret must come from the environment. ``.env.example`` lists every variable.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SWITCHBOARD_VAR_DIR", str(BASE_DIR / "var"))).resolve()
PRODUCTION = "SECRET_KEY" in os.environ
DEBUG = env_bool("DEBUG", not PRODUCTION)


def _local_secret(filename: str, make: str) -> str:
    """A secret for the embedded default, made once and kept under var/ so restarts keep sessions
    and encrypted keys readable. Production must pass secrets in the environment instead."""
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{filename.upper()} must be set in the environment when SECRET_KEY is set (production mode)."
        )
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make)
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret("secret_key", secrets.token_urlsafe(50))
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


# Comma-separated Fernet keys: the first encrypts, all decrypt, so a key can be rotated by putting
# the new one first and running `manage.py rotate_deployment_keys`.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", []) or [
    _local_secret("field_encryption_key", _fernet_key())
]

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the console's host names in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    # The admin, logging in through the console's throttled login (apps/accounts/adminsite.py).
    "apps.accounts.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    # The Content-Security-Policy header on every response (see its block below).
    "csp",
    # Triggers in the database: the audit log is append-only there too (apps/audit/models.py).
    "pgtrigger",
    "apps.accounts",
    "apps.audit",
    "apps.deployments",
    "apps.health",
    "apps.threads",
    "apps.runs",
    "apps.inbox",
    "apps.workflow",
    "apps.metrics",
]

MIDDLEWARE = [
    # Outermost: every line logged while serving a request names it (dashboard/logs.py).
    "dashboard.logs.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.strict.RefuseNulCharacters",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

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
                "apps.accounts.context_processors.teams",
                "apps.inbox.context_processors.inbox_count",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

DATABASES = {
    "default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'switchboard.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Daphne, Celery workers and beat write at once: WAL and immediate transactions avoid
    # "database is locked" under that concurrency.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0, minimum=0)
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 10, minimum=1)
if (
    DATABASES["default"]["ENGINE"].endswith("postgresql")
    and DATABASES["default"]["CONN_MAX_AGE"] == 0
):
    # A relay worker runs hundreds of relays as threads, and Daphne a thread per database call:
    # one connection each would pass PostgreSQL's max_connections long before the relay pool is
    # full. A pool per process lends a few connections to whoever is writing at the moment.
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"
# Failed logins allowed per client address per minute before the login form refuses.
LOGIN_FAILURES_PER_MINUTE = env_int("LOGIN_FAILURES_PER_MINUTE", 20, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# --- Static files (WhiteNoise) ---
# Production serves what `manage.py collectstatic` gathered into STATIC_ROOT (the Dockerfile runs
# it at build), under content-hashed names that WhiteNoise sends compressed and cached forever.
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static"))).resolve()
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if DEBUG:
    # The embedded default serves static files from the apps through finders; WhiteNoise still
    # expects its root to exist.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every Redis key Switchboard writes (broker, channel layer, caches) starts with this, so one Redis
# can serve several consoles, and concurrent test runs never see each other's tasks or events.
REDIS_PREFIX = env_str("SWITCHBOARD_REDIS_PREFIX", "switchboard")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
    }
}

CHANNEL_LAYERS = {
    "default": {
        # Pub/sub with a bound per channel (see dashboard/channel_layer.py for why not the core
        # layer). Pub/sub channel names ignore the Redis database number: the prefix keeps
        # consoles (and test runs) that share one Redis apart.
        "BACKEND": "dashboard.channel_layer.BoundedPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": f"{REDIS_PREFIX}:ws:",
            "capacity": env_int("CHANNEL_CAPACITY", 100, minimum=1),
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with a fix for a worker crash when Redis goes away while tasks are
# unacknowledged (every running relay): see dashboard/broker.py. rediss:// keeps kombu's own
# transport, which sets up TLS from the scheme.
if REDIS_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "dashboard.broker:Transport"
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_PREFIX}:celery:",
    # Celery only rings the doorbell: a lease row decides who relays a run, so a redelivery after
    # this timeout is harmless. It still bounds how long a task lost with its worker waits.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    # How often a worker looks for unacked messages past the visibility timeout (kombu's default
    # sweep is every 10 x 10 s). Relays claim by lease, so a prompt redelivery is harmless.
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10, minimum=1),
    "unacked_restore_throttle": 1,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_PREFIX}:celery:"}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker waits for Redis however long it is away (Celery gives up after 100 tries by default,
# and an exited worker takes its queue offline until someone restarts it).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A relay does not need the broker while it relays (the lease is in the database): a broker
# outage must not stop it. Celery 6 flips this default to cancelling such tasks.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    # Relays wait on the network for a run's whole life: their own queue, served by a thread pool.
    "apps.runs.tasks.relay_run": {"queue": "relay"},
    # The reaper replaces dead relays, so it lives with them: recovery then needs only relay
    # workers and beat, never a default worker busy with (or without) other apps' work.
    "apps.runs.tasks.reap_expired_leases": {"queue": "relay"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "runs-reap-expired-leases": {
        "task": "apps.runs.tasks.reap_expired_leases",
        "schedule": float(env_int("RUNS_REAPER_INTERVAL", 5, minimum=1)),
        # A round that waited longer than the interval is stale: the next one does its work.
        "options": {"expires": float(env_int("RUNS_REAPER_INTERVAL", 5, minimum=1))},
    },
    # Mirror every deployment's threads into the index (apps.threads.tasks): the slow safety net
    # under the fast poller below, which catches what a poll cannot (deleted threads, bursts).
    "threads-sync-all": {
        "task": "threads.sync_all",
        "schedule": float(env_int("THREADS_SYNC_INTERVAL", 300, minimum=5)),
    },
    # Look for deployments whose poll is due (apps.threads.poller); a tick that waited longer
    # than one interval is stale: the next one does its work.
    "threads-poll-due": {
        "task": "threads.poll_due",
        "schedule": env_int("THREADS_POLL_TICK_MS", 250, minimum=100) / 1000,
        "options": {"expires": env_int("THREADS_POLL_TICK_MS", 250, minimum=100) / 1000},
    },
    # Team workflow (apps.workflow): announce new inbox items, apply timeouts' default actions.
    "workflow-notify-new-items": {
        "task": "apps.workflow.tasks.notify_new_items",
        "schedule": float(env_int("WORKFLOW_NOTIFY_INTERVAL", 15, minimum=1)),
    },
    "workflow-apply-timeouts": {
        "task": "apps.workflow.tasks.apply_timeouts",
        "schedule": float(env_int("WORKFLOW_TIMEOUTS_INTERVAL", 30, minimum=1)),
    },
}

# --- The thread index's fast poller (apps.threads.poller) -----------------------------------
# Each deployment is polled every THREADS_POLL_FAST_MS while its threads are busy or something
# changed in the last THREADS_POLL_FAST_WINDOW seconds, backing off (doubling) to
# THREADS_POLL_SLOW_SECONDS when idle; every request to a deployment comes out of a budget of
# THREADS_POLL_RATE a second (bursts of THREADS_POLL_BURST), shared by every worker.
THREADS_POLL_FAST_MS = env_int("THREADS_POLL_FAST_MS", 1000, minimum=100)
THREADS_POLL_SLOW_SECONDS = env_int("THREADS_POLL_SLOW_SECONDS", 30, minimum=1)
THREADS_POLL_FAST_WINDOW = env_int("THREADS_POLL_FAST_WINDOW", 10, minimum=0)
THREADS_POLL_RATE = env_int("THREADS_POLL_RATE", 5, minimum=1)
THREADS_POLL_BURST = env_int("THREADS_POLL_BURST", 10, minimum=1)
THREADS_POLL_LEASE_SECONDS = env_int("THREADS_POLL_LEASE_SECONDS", 30, minimum=5)
# --- end of the thread index's fast poller ----------------------------------------------------

# --- Run event log retention (apps.runs.retention; owner: the live-runs engineer) -------------
# The event logs of runs that ended more than RUNS_EVENT_RETENTION_DAYS ago (0: never) are pruned
# every RUNS_EVENT_PRUNE_INTERVAL seconds; the runs themselves (their summaries) are kept.
RUNS_EVENT_RETENTION_DAYS = env_int("RUNS_EVENT_RETENTION_DAYS", 30, minimum=0)
# The task lives outside tasks.py, which autodiscovery would find by itself.
CELERY_IMPORTS = ["apps.runs.retention"]
CELERY_BEAT_SCHEDULE["runs-prune-event-logs"] = {
    "task": "runs.prune_event_logs",
    "schedule": float(env_int("RUNS_EVENT_PRUNE_INTERVAL", 3600, minimum=1)),
}
# --- end of run event log retention -----------------------------------------------------------
# --- Operators' metrics (apps.metrics; owner: the live-runs engineer) ---------------------------
# GET /metrics with "Authorization: Bearer <METRICS_TOKEN>" (or as a superuser); unset: no tokens.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# --- end of operators' metrics -----------------------------------------------------------------

# Live runs (apps.runs). A relay holds a lease on its run for RUNS_LEASE_SECONDS, renewed every
# RUNS_HEARTBEAT_SECONDS (one UPDATE for all of a process's relays); the beat reaper re-enqueues
# runs whose lease ran out, so a killed relay is replaced within lease + reaper interval.
RUNS_LEASE_SECONDS = env_int("RUNS_LEASE_SECONDS", 10, minimum=2)
RUNS_HEARTBEAT_SECONDS = env_int("RUNS_HEARTBEAT_SECONDS", 3, minimum=1)
if RUNS_HEARTBEAT_SECONDS * 2 > RUNS_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "RUNS_HEARTBEAT_SECONDS must be at most half of RUNS_LEASE_SECONDS, or leases lapse."
    )
# A queued run nobody claimed is re-enqueued after this many seconds (the message was lost).
RUNS_REDISPATCH_SECONDS = env_int("RUNS_REDISPATCH_SECONDS", 30, minimum=1)
# Times a relay reconnects to a deployment that stopped answering before it fails the run.
RUNS_MAX_RECONNECTS = env_int("RUNS_MAX_RECONNECTS", 5, minimum=0)
# Websocket flow control: events sent but not yet acknowledged by the page before the consumer
# stops forwarding live events and lets the page catch up from the log (bounded memory per socket).
RUNS_WS_WINDOW = env_int("RUNS_WS_WINDOW", 500, minimum=10)
# Seconds between a consumer's checks of the log (lost live events) and of the viewer's access.
RUNS_WS_SYNC_SECONDS = env_int("RUNS_WS_SYNC_MS", 1000, minimum=50) / 1000

# Loopback deployments are allowed only where settings say so: the embedded demo deployment runs
# on 127.0.0.1, but a shared console must not let a team point it at its own host's services.
ALLOW_LOOPBACK_DEPLOYMENTS = env_bool("ALLOW_LOOPBACK_DEPLOYMENTS", DEBUG)
# Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10) hold most self-hosted
# deployments, so they are allowed unless a console facing untrusted teams turns them off.
ALLOW_PRIVATE_DEPLOYMENTS = env_bool("ALLOW_PRIVATE_DEPLOYMENTS", True)
# Set by the launcher when it starts the embedded graph server; registered as "Local demo".
DEMO_DEPLOYMENT_URL = env_str("SWITCHBOARD_DEMO_URL", "")
# Seconds a view waits on a deployment before it tells the operator the deployment is slow.
DEPLOYMENT_TIMEOUT = env_int("DEPLOYMENT_TIMEOUT", 10, minimum=1)

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "switchboard@localhost")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- Behind a reverse proxy ---
# Production runs behind a proxy that terminates TLS: it tells the console the request was HTTPS
# with X-Forwarded-Proto (and the client's address with X-Forwarded-For, which `launcher serve`
# has Daphne read with --proxy-headers). The proxy must overwrite both headers, never pass a
# client's own.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Health probes (apps.health; issue 14) ----------------------------------------------------
# Load balancers and orchestrators probe the backend over plain HTTP, without the proxy's
# X-Forwarded-Proto: a redirect to https would read as "down". The probes say nothing secret.
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$"]
# /readyz needs no login and asking the Celery workers takes up to a second: each process reuses
# its last answer this many seconds (0: ask on every hit).
HEALTH_READY_CACHE_SECONDS = env_int("HEALTH_READY_CACHE_SECONDS", 2, minimum=0)

# --- Content-Security-Policy (django-csp; issue 14) -------------------------------------------
# Scripts come only from our own static files: no inline <script>, no inline handlers, no eval
# (htmx runs with allowEval off, set in base.html's htmx-config). Websockets are same-origin
# ('self' covers ws:/wss: to this host). Inline styles are still allowed: several page templates
# carry <style> blocks and style attributes (a progress bar's width), which is not script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logs ---
# JSON lines in production (one object a line, with the request id or run id: dashboard/logs.py),
# text for a terminal in the embedded default. LOG_FORMAT picks either.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not one of: json, text.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "dashboard.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "dashboard.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"httpx": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}

# --- Error reporting (optional) ---
# Off unless SENTRY_DSN is set: then unhandled errors and ERROR lines of every process go to
# Sentry (or a server speaking its protocol), tagged with their request or run id.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from dashboard import reporting

    reporting.start(
        SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=env_int("SENTRY_TRACES_PERCENT", 0, minimum=0) / 100,
    )
