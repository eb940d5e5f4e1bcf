"""Jiefang settings: the one place that reads the environment.

With nothing set, everything is embedded: SQLite, the in-memory channel layer, Celery tasks run
in-process and e-mail is written to a folder. DATABASE_URL and REDIS_URL switch to PostgreSQL,
the Redis channel layer and real Celery workers.
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The development key only ever signs sessions on a developer's machine: with DEBUG off there is no
# default, and nothing starts without a key of its own.
DEVELOPMENT_SECRET_KEY = "jiefang-insecure-development-key-only-for-local-use"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false (a long random value).")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    "apps.core",
    "apps.nearby",
    "apps.accounts",
    "apps.shops",
    "apps.market",
    "apps.chat",
    "apps.notifications",
    "apps.moderation",
    "apps.trust",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the session, auth and message middleware: its 503 needs nothing from the database.
    "apps.core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.core.ratelimit.ClientAddressMiddleware",
    "apps.accounts.middleware.ResidentLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
    # Innermost: it only checks view arguments, so it is after axes without changing what axes sees.
    # (Under ASGI the whole chain runs in the sync thread in one switch: apps/core/asgi.py.)
    "apps.core.middleware.IdRangeMiddleware",
]

ROOT_URLCONF = "neighborhood.urls"
WSGI_APPLICATION = "neighborhood.wsgi.application"
ASGI_APPLICATION = "neighborhood.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.site",
                "apps.notifications.context_processors.bell",
            ],
        },
    },
]

# --- HTTPS, cookies and security headers ----------------------------------------------------------
# Production is served over HTTPS (a proxy terminates TLS): on by default once DEBUG is off, so a
# deployment that forgets a variable is safe rather than open. DJANGO_HTTPS=false serves plain HTTP
# with DEBUG off (the benches on loopback). `manage.py check --deploy` passes with these defaults.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=HTTPS)
# Behind a proxy that sets this header (and strips it from clients), e.g. X-Forwarded-Proto: https.
# uvicorn already trusts X-Forwarded-Proto from --forwarded-allow-ips (default 127.0.0.1).
_proxy_ssl_header = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Other sites (the tile server among them: its usage policy asks for a Referer) see our origin,
# never a path such as /accounts/residents/12/.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=HTTPS)
SESSION_COOKIE_HTTPONLY = True
# Scripts read the token from the page (<body data-csrf-token>, Swagger UI's rendered script), never
# from the cookie, so the cookie can be hidden from them too.
CSRF_COOKIE_HTTPONLY = True
# Lax: a link from an e-mail or another site still arrives signed in; cross-site POSTs do not.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = HTTPS

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'jiefang.sqlite3'}")}
# Django's engines replaced by the project's own: PostgreSQL reads timestamps with psycopg's C loader
# (apps/core/postgresql/base.py). The benchmarks, which build their own database settings, use it too.
JIEFANG_DATABASE_ENGINES = {"django.db.backends.postgresql": "apps.core.postgresql"}
DATABASES["default"]["ENGINE"] = JIEFANG_DATABASE_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)
# Parameters bound by the server, and a statement prepared once a connection has run its text five
# times: the feed's queries keep one text from a look to the next (a circle's cells go as one array),
# so PostgreSQL stops parsing and planning them anew (docs/benchmarks.md, the feed's ninth round).
# Off behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer < 1.21).
JIEFANG_POSTGRESQL_OPTIONS = (
    {"server_side_binding": True, "prepare_threshold": 5}
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
    else {}
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers work while one writer writes; IMMEDIATE avoids "database is locked"
            # upgrades from read to write transactions under concurrent ASGI requests.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    # Under ASGI, Django's persistent connections are per thread and pile up; a pool is the way to
    # reuse connections there (psycopg's, built into Django 5.1+). CONN_MAX_AGE is for WSGI.
    if env.bool("DATABASE_POOL", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=8),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"].setdefault("OPTIONS", {}).update(JIEFANG_POSTGRESQL_OPTIONS)
DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker, cache --------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# The longest a cache call, a live event or a task's publication waits for a Redis that hangs.
REDIS_TIMEOUT_S = env.float("REDIS_TIMEOUT_S", default=2.0)

if REDIS_URL:
    CHANNEL_LAYERS = {
        # The pub/sub layer measured faster and without silent drops at our fan-out (shared/MEASUREMENTS.md).
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # A Redis that cannot be reached reads as an empty cache (apps/core/cache.py): pages are served
    # without it, never a 500. Each call waits at most REDIS_TIMEOUT_S for a Redis that hangs.
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jiefang",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_S,
                "socket_timeout": REDIS_TIMEOUT_S,
                "retry_after": env.float("JIEFANG_CACHE_RETRY_AFTER_S", default=2.0),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Fragments rendered from templates alone (the navigation, the empty filter form): the same for
# every reader of a language until the code changes, so each process keeps its own copy, with no
# round trip to Redis. None under DEBUG, where templates are edited under a running server.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.dummy.DummyCache"
    if DEBUG
    else "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
}

# With Redis, sessions are read from the cache and written through to the database
# (apps/accounts/sessions.py); the cached copy lives at most SESSION_CACHE_SECONDS.
if REDIS_URL:
    SESSION_ENGINE = "apps.accounts.sessions"
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=300)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Unacknowledged tasks (acks_late) of a worker that died come back after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # A broker that hangs holds a publishing request for at most this long (then the outbox keeps the task).
    "socket_timeout": REDIS_TIMEOUT_S,
    "socket_connect_timeout": REDIS_TIMEOUT_S,
}
# Tasks owed by a commit are written to an outbox in the same transaction (apps/core/outbox.py); rows
# still there after the grace time (the broker was down at the commit) are published by beat.
JIEFANG_OUTBOX_GRACE_S = env.int("JIEFANG_OUTBOX_GRACE_S", default=60)
JIEFANG_OUTBOX_FLUSH_S = env.float("JIEFANG_OUTBOX_FLUSH_S", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "outbox-flush": {"task": "apps.core.tasks.outbox_flush", "schedule": JIEFANG_OUTBOX_FLUSH_S},
    "stalls-expire": {"task": "apps.market.tasks.stalls_expire", "schedule": 300.0},
    "suspensions-lift": {"task": "apps.moderation.tasks.suspensions_lift", "schedule": 900.0},
    "trust-claims-escalate": {"task": "apps.trust.tasks.claims_escalate_overdue", "schedule": 900.0},
    "trust-letters-expire": {"task": "apps.trust.tasks.residency_letters_expire", "schedule": 3600.0},
    "trust-reputations": {"task": "apps.trust.tasks.reputations_recompute", "schedule": 86400.0},
    "digests-schedule": {"task": "apps.notifications.tasks.digests_schedule", "schedule": 300.0},
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.Resident"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = [
    # Refuses a log-in while its username and address are locked out, on every login form: the
    # site's, the API's (/api/auth/login/) and the admin's. Then the usual check of the password.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong passwords for one username from one address lock that pair for 15 minutes (each
# further try restarts the wait). Per pair, so that nobody can lock a neighbour out from elsewhere.
AXES_FAILURE_LIMIT = env.int("JIEFANG_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("JIEFANG_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "apps.core.ratelimit.request_address"
# Failed attempts are kept (they make the lockout); successful log-ins are not logged.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("JIEFANG_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("JIEFANG_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_OUTBOX_DIR = VAR_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = EMAIL_OUTBOX_DIR
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Jiefang <noreply@jiefang.local>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# (JIEFANG_SITE_URL, the base of links in e-mails, is set with the moderation settings below.)
# Digests (docs/digest.md): residents per queued batch; how long a worker may hold a delivery
# before it counts as dead; how long a queued delivery may wait before its task counts as lost.
JIEFANG_DIGEST_BATCH = env.int("JIEFANG_DIGEST_BATCH", default=200)
JIEFANG_EMAIL_CLAIM_LEASE_S = env.int("JIEFANG_EMAIL_CLAIM_LEASE_S", default=20 * 60)
JIEFANG_DIGEST_REQUEUE_AFTER_S = env.int("JIEFANG_DIGEST_REQUEUE_AFTER_S", default=2 * 3600)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jiefang API",
    "DESCRIPTION": "The neighbourhood market and network: residents, shops, stalls, chat, trust and moderation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.document_common_errors",
    ],
    # Several serializers have a field named "kind" (stalls, pledges): name each choice set.
    "ENUM_NAME_OVERRIDES": {"PledgeKindEnum": "apps.shops.pledges.KIND_CHOICES"},
}

# --- Jiefang --------------------------------------------------------------------------------
# Residents' homes are kept only as a cell of this fixed H3 grid (resolution 9: about 0.1 km²).
JIEFANG_HOME_RESOLUTION = 9
JIEFANG_RADIUS_MIN_M = 200
JIEFANG_RADIUS_MAX_M = 5000
JIEFANG_RADIUS_DEFAULT_M = 1000
# Where visitors who are not logged in (and have not shared a position) are shown the market.
JIEFANG_DEFAULT_CENTER = tuple(env.list("JIEFANG_DEFAULT_CENTER", cast=float, default=[31.2235, 121.4460]))
# The site's public address (https://jiefang.example.org): QR posters print it. Empty: taken from the request.
JIEFANG_PUBLIC_URL = env.str("JIEFANG_PUBLIC_URL", default="")
# A font file with Chinese glyphs for PNG posters; empty: the usual system places (Debian: fonts-noto-cjk).
JIEFANG_CJK_FONT = env.str("JIEFANG_CJK_FONT", default="")
JIEFANG_TILE_URL = env.str("JIEFANG_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
JIEFANG_TILE_ATTRIBUTION = env.str("JIEFANG_TILE_ATTRIBUTION", default="© OpenStreetMap contributors")


# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
def _tile_origin(url: str) -> str | None:
    """The origin map tiles load from: https://tile.openstreetmap.org, or https://*.tile.example.org
    for a URL with Leaflet's {s} subdomain placeholder."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = re.sub(r"^\{s\}\.", "*.", parts.netloc)
    return None if "{" in host else f"{parts.scheme}://{host}"


# One policy for every page. Scripts only from our own origin (vendored htmx and Leaflet, static/js)
# or carrying this response's nonce: no inline script runs, no attribute handler, no eval.
# Styles only from our stylesheets: Leaflet and htmx move things through the CSSOM (element.style),
# which CSP does not govern; htmx's own indicator <style> is switched off (meta htmx-config) and its
# rules live in site.css. Pages that need more (the API docs) widen it for themselves only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # data: for Leaflet's placeholder tiles and images, blob: for photo previews before upload.
        "img-src": [SELF, "data:", "blob:", *filter(None, [_tile_origin(JIEFANG_TILE_URL)])],
        # 'self' covers ws: and wss: to this host (CSP Level 3): the chat's WebSocket.
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": HTTPS,
    },
}
# The longest a rendered page of feed cards is shared. Changes near it rebuild it at once
# (apps/market/card_cache.py); this is the backstop. A cache of one process (no REDIS_URL) sees only
# its own process's changes, so it keeps the cards briefly.
JIEFANG_FEED_CACHE_SECONDS = env.int("JIEFANG_FEED_CACHE_SECONDS", default=300 if REDIS_URL else 20)
# Pages an ASGI worker serves at once (0: no limit); the requests beyond wait in its event loop, and
# WebSockets are not counted (apps/core/asgi.py).
JIEFANG_ASGI_PAGES_AT_ONCE = env.int("JIEFANG_ASGI_PAGES_AT_ONCE", default=0)
JIEFANG_IMAGE_MAX_BYTES = 5 * 1024 * 1024
JIEFANG_IMAGE_MAX_PIXELS = 40_000_000
JIEFANG_IMAGE_MAX_SIDE = 1600
# Chat: a neighbourhood room covers one H3 cell of this resolution (7: about 5 km², a few hundred to a
# few thousand households), the parent of a resident's home cell or of a shop's location.
JIEFANG_CHAT_ROOM_RESOLUTION = 7
JIEFANG_CHAT_MAX_BODY = 2000  # characters in one message
JIEFANG_CHAT_MAX_FRAME_BYTES = 16 * 1024  # a bigger WebSocket frame closes the socket
# One socket: a token bucket of frames (burst, then refill per second); typing frames are not counted.
JIEFANG_CHAT_SOCKET_BURST = env.int("JIEFANG_CHAT_SOCKET_BURST", default=10)
JIEFANG_CHAT_SOCKET_REFILL_PER_S = env.float("JIEFANG_CHAT_SOCKET_REFILL_PER_S", default=2.0)

# Moderation: an area moderator is assigned H3 cells of this resolution, the chat's neighbourhood
# rooms (7: about 5 km²), parents of residents' home cells and shops' points.
JIEFANG_MODERATION_AREA_RESOLUTION = JIEFANG_CHAT_ROOM_RESOLUTION
# Links in e-mails are absolute: the site's address as residents reach it.
JIEFANG_SITE_URL = env.str("JIEFANG_SITE_URL", default="http://127.0.0.1:8000")

# --- Rate limits (apps/core/ratelimit.py) ---------------------------------------------------------
# {action: {"user" | "address": (count, seconds)}}: at most `count` per fixed window of `seconds`,
# per resident and per client address (an IPv6 /64). Addresses are shared (a family, a café's wi-fi,
# a carrier's NAT), so their limits leave room for several people.
HOUR, DAY = 3600, 24 * 3600
JIEFANG_RATE_LIMITS = {
    "sign_up": {"address": (10, HOUR)},
    # Moving the home often is how one would try to locate neighbours from coarse distances.
    "home_set": {"user": (6, DAY), "address": (60, HOUR)},
    # The same for the feed's "near me now" origin, which is not stored: generous enough for paging
    # and filtering around a few positions in a session (each request counts).
    "near_me_now": {"user": (120, HOUR), "address": (600, HOUR)},
    "stall_publish": {"user": (30, HOUR), "address": (120, HOUR)},
    # Over all of a resident's sockets and HTTP together; each socket also has its own frame bucket.
    "message_send": {"user": (env.int("JIEFANG_CHAT_USER_RATE", default=30), 10), "address": (120, 10)},
    # Per reporter, moderation's own daily rule applies (apps/moderation/rules.py).
    "report_file": {"address": (30, HOUR)},
    # Per voucher, trust's own weekly rule applies (apps/trust/rules.py).
    "vouch_give": {"address": (30, HOUR)},
}
# Multiplies every count above: benchmarks that drive many residents from one address lift them.
JIEFANG_RATE_LIMIT_SCALE = env.float("JIEFANG_RATE_LIMIT_SCALE", default=1.0)
# Our own reverse proxies (addresses or networks): behind them the client is read from
# X-Forwarded-For (apps.core.ratelimit.client_ip), as uvicorn does for --forwarded-allow-ips.
JIEFANG_TRUSTED_PROXIES = env.list("JIEFANG_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
