"""Settings shared by every environment, read from the environment with django-environ.

Without DATABASE_URL / REDIS_URL the project talks to the project-local PostgreSQL and Redis that
`scripts/services.sh` starts on unix sockets under `.local/run/`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parents[2]
RUN_DIR = BASE_DIR / ".local" / "run"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
# Fernet keys (newest first) that encrypt officers' calendar passwords at rest (integrations.secrets); older
# keys still decrypt, so a key is rotated by putting a new one first. Unset: one key derived from SECRET_KEY,
# which production settings refuse.
CALENDAR_SECRET_KEYS = env.list("CALENDAR_SECRET_KEYS", default=[])
# Officers' CalDAV addresses are called from the server: HTTPS to public addresses only, unless this is on
# (development and tests, whose Radicale listens on 127.0.0.1 over plain HTTP).
CALDAV_ALLOW_PRIVATE_ADDRESSES = env.bool("CALDAV_ALLOW_PRIVATE_ADDRESSES", default=False)
# Calendar sync (integrations.services.sync): how long one request may take, how often a failing sync is
# retried (exponential backoff from the base, capped), and how far ahead busy time is read (0: the longest
# booking horizon of the tenant's active appointment types, or 180 days when it has none).
CALDAV_TIMEOUT_SECONDS = env.float("CALDAV_TIMEOUT_SECONDS", default=15.0)
CALDAV_MAX_RETRIES = env.int("CALDAV_MAX_RETRIES", default=5)
CALDAV_RETRY_BACKOFF_SECONDS = env.int("CALDAV_RETRY_BACKOFF_SECONDS", default=60)
CALDAV_RETRY_BACKOFF_MAX_SECONDS = env.int("CALDAV_RETRY_BACKOFF_MAX_SECONDS", default=3600)
CALDAV_HORIZON_DAYS = env.int("CALDAV_HORIZON_DAYS", default=0)
# Officers' subscription feeds (integrations.views.feed): how far back they reach (ahead: every booking),
# and how often one client address may fetch them (calendar apps poll every 15 minutes to a few hours).
FEED_PAST_DAYS = env.int("FEED_PAST_DAYS", default=60)
FEED_RATE = env.str("FEED_RATE", default="30/m")
# Host names are validated by the tenant middleware against the Domain table (unknown host: 404), which is
# the real allow-list; ALLOWED_HOSTS only narrows it further where a deployment wants that.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
# Requests on these hosts reach the platform admin (tenants and domains), not a tenant.
PLATFORM_HOSTS = env.list("PLATFORM_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "recurrence",
    "anymail",
    "django_ratelimit",
    "axes",
    "accounts",
    "scheduling",
    "bookings",
    "notifications",
    "integrations",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.TenantLocaleMiddleware",
    # Refuses control characters, out-of-range dates, unreadable forms and methods pages do not take (400,
    # 405, 413 pages in the tenant's look and language) before any view, session or query sees the request.
    "config.middleware.RequestHygieneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A session is honoured only on the host it was made on (anonymous elsewhere).
    "accounts.middleware.SessionHostMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so a sign-in refused for too many failures is answered inside the tenant's scope and zone.
    "axes.middleware.AxesMiddleware",
]

# Pages take GET, HEAD, POST and OPTIONS only (anything else is 405). Paths under these prefixes, a REST API
# such as "/api/", own their methods: PUT, PATCH and DELETE reach their views. None yet.
API_PATH_PREFIXES: list[str] = []

ROOT_URLCONF = "config.urls"
PLATFORM_URLCONF = "config.urls_platform"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.tenant",
            ],
        },
    }
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"postgres://postgres@:5432/{RUN_DIR}/bookings",
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: opening one costs PostgreSQL a new backend process, more than a whole portal
# request's queries (bench_load's ceiling is four times higher with them). Checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# psycopg prepares a statement the fifth time a connection runs it. That touches only the few statements
# run through psycopg's own server-binding cursors (the outbox's claim and write-back); Django's cursors
# bind on the client and never prepare. Empty turns it off, for a transaction-mode pooler that cannot keep
# prepared statements (PgBouncer before 1.21).
_prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    int(_prepare_threshold) if _prepare_threshold else None
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default=f"unix://{RUN_DIR}/redis.sock")
CACHES = {
    "default": {
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="bookings"),
    }
}
# How long a tenant's open time stays cached for a type and days once read. Never stale: a configuration
# change moves the tenant to a new version (scheduling.availability.supply); this only frees memory.
SUPPLY_CACHE_SECONDS = env.int("SUPPLY_CACHE_SECONDS", default=3600)
# Likewise booked time, under the tenant's booked version (bookings.availability.slots), which changes far
# more often: entries for old versions are left to expire.
BOOKED_CACHE_SECONDS = env.int("BOOKED_CACHE_SECONDS", default=600)
# The slot picker's rendered week, under both versions, for as long as its slots stay right (at most this).
SLOT_WEEK_CACHE_SECONDS = env.int("SLOT_WEEK_CACHE_SECONDS", default=600)

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out sign-in before any password is checked (tenant login form,
# platform admin login: both pass the request to authenticate()).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "bookings:staff-home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Where the staff diary's "Map" links go; {query} is the URL-encoded location.
# Links that leave a request (emails, texts, provider callbacks) are built on the tenant's primary host.
PUBLIC_URL_SCHEME = env.str("PUBLIC_URL_SCHEME", default="https")
PUBLIC_URL_PORT = env.str("PUBLIC_URL_PORT", default="")
MAP_URL_PATTERN = env.str("MAP_URL_PATTERN", default="https://www.openstreetmap.org/search?query={query}")

LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".local" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")
# Uploaded logos (accounts.logos): checked by content, re-encoded as PNG, served by accounts.media.
LOGO_MAX_BYTES = env.int("LOGO_MAX_BYTES", default=512 * 1024)
LOGO_MAX_PIXELS = env.int("LOGO_MAX_PIXELS", default=4_000_000)

SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "accounts.sessions"  # database sessions; see the module for the one difference
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie: the token travels in hx-headers, but admin JS may.
X_FRAME_OPTIONS = "DENY"

# Email: SMTP to EMAIL_HOST:EMAIL_PORT (locally the mail catcher, scripts/mail_catcher.py), or any anymail
# provider: EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend, with its settings as ANYMAIL_<ESP>_<NAME>
# variables (ANYMAIL_POSTMARK_SERVER_TOKEN=...), which all land in ANYMAIL below (README: Email and texts).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=1025)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds: a hung mail server cannot hold a worker
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="bookings@localhost")
# The right-hand side of each email's Message-ID, stable per message so a repeat can be recognised.
EMAIL_MESSAGE_ID_DOMAIN = env.str("EMAIL_MESSAGE_ID_DOMAIN", default="bookings.invalid")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value for name, value in env.ENVIRON.items() if name.startswith("ANYMAIL_")
}
# "user:password" the ESP's tracking webhooks must send (HTTP basic auth); without it there are none.
ANYMAIL.setdefault("WEBHOOK_SECRET", "")
# Delivery reports (delivered, bounced, ...) are taken at /hooks/anymail/<esp>/tracking/ on each tenant host
# from these ESPs: by default the one EMAIL_BACKEND names.
_esp = EMAIL_BACKEND.split(".")
EMAIL_TRACKING_ESPS = env.list(
    "EMAIL_TRACKING_ESPS",
    default=[_esp[2]] if _esp[:2] == ["anymail", "backends"] and _esp[2] != "test" else [],
)
# Fakes write what they "send" here when set (notifications.fakes): `make run` shows texts in
# .local/mail/sms/ beside the emails; the benchmarks spool both.
EMAIL_SPOOL_DIR = env.str("EMAIL_SPOOL_DIR", default="")
SMS_SPOOL_DIR = env.str("SMS_SPOOL_DIR", default="")
# Provider webhooks (/hooks/...) are public: bodies larger than this are refused (413).
WEBHOOK_MAX_BYTES = env.int("WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Mobile numbers: national ones are read in this region, and all are stored in E.164 (+447700900123).
PHONE_REGION = env.str("PHONE_REGION", default="GB")
# Accept Ofcom's numbers for drama (07700 900000 to 900999), which no phone has: the demo and the tests only.
PHONE_ACCEPT_DRAMA_NUMBERS = env.bool("PHONE_ACCEPT_DRAMA_NUMBERS", default=False)

# Celery: JSON only, acknowledge after the work is done so a killed worker's task is redelivered, and
# bounded run time so a stuck task cannot hold a worker forever.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL.replace("unix://", "redis+socket://", 1))
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL.replace("unix://", "redis+socket://", 1)
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "expire-lapsed-holds": {
        "task": "bookings.expire_holds_everywhere",
        "schedule": crontab(minute="*"),
    },
    "purge-lapsed-idempotency-keys": {
        "task": "bookings.purge_idempotency_keys_everywhere",
        "schedule": crontab(minute="17"),
    },
    # The outbox sweep: reminders as they fall due, retries, and anything a lost task or a crash left.
    "send-due-messages": {
        "task": "notifications.outbox_drain",
        "schedule": timedelta(seconds=30),
        "kwargs": {"seconds": 25.0},
        "options": {"expires": 30},
    },
    "flag-overdue-conflicts": {
        "task": "bookings.flag_overdue_conflicts_everywhere",
        "schedule": crontab(minute="*/15"),
    },
    "materialise-recurring-series": {
        "task": "bookings.series_materialise_all",
        "schedule": crontab(hour="2", minute="40"),
    },
    # The calendar sync's safety net: bulk changes send no signals, and busy time is read only here.
    # Reports: rewrite the last REPORT_REFRESH_DAYS days' summaries (and today's) after midnight.
    "refresh-daily-summaries": {
        "task": "reporting.refresh_daily_summaries_everywhere",
        "schedule": crontab(hour="1", minute="10"),
    },
    # Reports: how far ahead each type's first free slot is, measured hourly (the day's last stands).
    "take-next-slot-snapshots": {
        "task": "reporting.take_next_slot_snapshots_everywhere",
        "schedule": crontab(minute="7"),
        "options": {"expires": 1800},
    },
    "sync-calendar-connections": {
        "task": "integrations.sync_all_connections",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
}

# Reports: the nightly refresh rewrites this many past days of summaries (and today's), so late changes
# (outcomes recorded after the day, late cancellations) reach them; older days are refreshed on demand.
REPORT_REFRESH_DAYS = env.int("REPORT_REFRESH_DAYS", default=7)
# The longest period a report covers, and how far from today its dates may be (ten years).
REPORT_MAX_DAYS = env.int("REPORT_MAX_DAYS", default=3660)
# "Recalculate" on the dashboard queues a rewrite of the period's summaries: at most this often per person.
REPORT_REFRESH_RATE = env.str("REPORT_REFRESH_RATE", default="2/m")
# Downloads (CSV, XLSX) and the printable summary each read a whole dashboard: per person.
REPORT_EXPORT_RATE = env.str("REPORT_EXPORT_RATE", default="60/m")

# Recurring series: occurrences are booked this many days ahead (rolled forward daily), and a series may
# have at most this many appointments in all.
SERIES_HORIZON_DAYS = env.int("SERIES_HORIZON_DAYS", default=90)
SERIES_MAX_OCCURRENCES = env.int("SERIES_MAX_OCCURRENCES", default=104)
# The most items (customers or starts) one block booking may reserve.
BLOCK_MAX_ITEMS = env.int("BLOCK_MAX_ITEMS", default=1000)
# A block of up to this many bookings tells its customers in the request; a bigger one hands the telling to
# workers in chunks of BLOCK_TELL_CHUNK once it has committed (telling costs ~50 ms a booking).
BLOCK_TELL_INLINE_ITEMS = env.int("BLOCK_TELL_INLINE_ITEMS", default=50)
BLOCK_TELL_CHUNK = env.int("BLOCK_TELL_CHUNK", default=100)

# Twilio (SMS). Tests and local runs plug a recording HTTP client in at the edge; nothing leaves the machine.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_HTTP_CLIENT = env.str("TWILIO_HTTP_CLIENT", default="")
TWILIO_TIMEOUT = env.int("TWILIO_TIMEOUT", default=10)  # seconds
# Ask Twilio to report delivery to /hooks/twilio/status/ on the tenant's host (needs a public host).
TWILIO_STATUS_CALLBACKS = env.bool("TWILIO_STATUS_CALLBACKS", default=True)
# The most parts (segments) one text message may take: templates longer than this for the sample booking
# are refused on save, and a text that still runs over at send time is shortened with an ellipsis.
SMS_MAX_SEGMENTS = env.int("SMS_MAX_SEGMENTS", default=3)

# Abuse limits on the public portal (per client address, counted in Redis).
RATELIMIT_USE_CACHE = "default"
PORTAL_HOLD_RATE = env.str("PORTAL_HOLD_RATE", default="20/m")
PORTAL_SUBMIT_RATE = env.str("PORTAL_SUBMIT_RATE", default="10/m")
PORTAL_CODE_RATE = env.str("PORTAL_CODE_RATE", default="5/10m")
# Slot picker pages (and their htmx partials) per client: generous for a person, a wall for a scraper.
PORTAL_SLOTS_RATE = env.str("PORTAL_SLOTS_RATE", default="120/m")
# Live holds one client address may have at once, in all and per service, so nobody can hold a whole
# week, with or without cookies. A household or office behind one address still has room.
PORTAL_LIVE_HOLDS_PER_CLIENT = env.int("PORTAL_LIVE_HOLDS_PER_CLIENT", default=6)
PORTAL_LIVE_HOLDS_PER_CLIENT_AND_TYPE = env.int("PORTAL_LIVE_HOLDS_PER_CLIENT_AND_TYPE", default=3)
# One-time codes: how long one works, how many tries a booking (and a client) gets per lock period, and
# how long code entry then stays locked. Asking for a new code resets none of these counts.
PORTAL_CODE_TTL_MINUTES = env.int("PORTAL_CODE_TTL_MINUTES", default=10)
PORTAL_CODE_ATTEMPTS = env.int("PORTAL_CODE_ATTEMPTS", default=5)
PORTAL_CODE_CLIENT_ATTEMPTS = env.int("PORTAL_CODE_CLIENT_ATTEMPTS", default=20)
PORTAL_CODE_LOCK_MINUTES = env.int("PORTAL_CODE_LOCK_MINUTES", default=30)
# How long an idempotency key names its operation; after that the same key is a new request.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# Conflict-queue items still open this long after detection are flagged to managers.
CONFLICT_FLAG_AFTER_HOURS = env.int("CONFLICT_FLAG_AFTER_HOURS", default=24)
# The client's address, for every limit: REMOTE_ADDR, or behind proxies listed here (addresses or CIDR
# networks, e.g. "10.0.0.0/8,127.0.0.1"), the right-most X-Forwarded-For hop that is not one of them.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
RATELIMIT_IP_META_KEY = "accounts.clients.client_ip"

# Sign-in throttling (django-axes), counted in the Redis cache, no tables: an account is locked after
# LOGIN_FAILURE_LIMIT failed sign-ins from anywhere, and a client address (the one behind TRUSTED_PROXIES)
# after as many failures for any accounts. A lock lasts LOGIN_COOLOFF_MINUTES from the failure that set it:
# attempts during a lock are refused (429, even with the right password) and not counted, so the time the
# lockout page names holds. A successful sign-in resets nothing, so one valid account cannot buy an address
# more guesses at others.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "default"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "accounts.clients.client_ip"
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in forms' field name, whatever the user model calls it
AXES_USERNAME_CALLABLE = "accounts.forms.login_throttle_username"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False  # no start-up banner on every command; lockouts are still logged as warnings
# Its attempt and log tables are for axes' database handler, which this project does not use.
MIGRATION_MODULES = {"axes": None}

# The Redis cache (Django's, through config.cache) increments atomically, which is all django-ratelimit needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Places and travel (README: Spatial work). The geocoder turns an address or postcode into a point: by default
# the tenant's imported gazetteer (offline); GEOCODER=integrations.geocoding.HttpGeocoder with
# GEOCODER_URL (a Nominatim-style search endpoint) asks a service instead. The travel matrix gives travel
# times and distances: straight line times TRAVEL_ROAD_FACTOR at TRAVEL_SPEED_KMH by default;
# TRAVEL_MATRIX=integrations.travel.OsrmMatrix with TRAVEL_MATRIX_URL asks an OSRM-style table service.
GEOCODER = env.str("GEOCODER", default="integrations.geocoding.GazetteerGeocoder")
GEOCODER_URL = env.str("GEOCODER_URL", default="")
GEOCODER_OPTIONS: dict[str, object] = {}
TRAVEL_MATRIX = env.str("TRAVEL_MATRIX", default="scheduling.routing.matrix.StraightLine")
TRAVEL_MATRIX_URL = env.str("TRAVEL_MATRIX_URL", default="")
TRAVEL_ROAD_FACTOR = env.float("TRAVEL_ROAD_FACTOR", default=1.3)
TRAVEL_SPEED_KMH = env.float("TRAVEL_SPEED_KMH", default=40.0)
TRAVEL_MATRIX_OPTIONS: dict[str, object] = (
    {"road_factor": TRAVEL_ROAD_FACTOR, "speed_kmh": TRAVEL_SPEED_KMH}
    if TRAVEL_MATRIX.endswith("StraightLine")
    else {}
)
TRAVEL_MATRIX_BATCH = env.int("TRAVEL_MATRIX_BATCH", default=100)  # points a side per request
TRAVEL_CACHE_SECONDS = env.int("TRAVEL_CACHE_SECONDS", default=7 * 24 * 3600)
# Travel-aware slots (bookings.availability.travel): of each day's slots for a visit at the customer's
# address, at most this share (at least one), and only those adding at most this many minutes more travel
# than the day's least, are marked recommended.
TRAVEL_RECOMMENDED_SHARE = env.float("TRAVEL_RECOMMENDED_SHARE", default=0.2)
TRAVEL_RECOMMENDED_MARGIN_MINUTES = env.int("TRAVEL_RECOMMENDED_MARGIN_MINUTES", default=10)
HTTP_SERVICE_TIMEOUT_SECONDS = env.float("HTTP_SERVICE_TIMEOUT_SECONDS", default=10.0)
# A gazetteer CSV (admin upload or `manage.py import_gazetteer`): at most this many rows and bytes.
GAZETTEER_MAX_ROWS = env.int("GAZETTEER_MAX_ROWS", default=100_000)
GAZETTEER_MAX_BYTES = env.int("GAZETTEER_MAX_BYTES", default=32 * 1024 * 1024)
# Map tiles for the diary's route map: a URL template ({z}/{x}/{y}); empty draws the stops and the route on
# a plain background (no tile server is called).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")
# Route optimisation: seconds the solver may spend on one officer's day, and on an allocation plan.
ROUTE_SOLVER_SECONDS = env.float("ROUTE_SOLVER_SECONDS", default=1.0)
ALLOCATION_SOLVER_SECONDS = env.float("ALLOCATION_SOLVER_SECONDS", default=8.0)
ALLOCATION_MAX_DAYS = env.int("ALLOCATION_MAX_DAYS", default=28)
ALLOCATION_MAX_VISITS = env.int("ALLOCATION_MAX_VISITS", default=600)
ALLOCATION_PLAN_RATE = env.str("ALLOCATION_PLAN_RATE", default="6/m")
# A draft plan older than this refuses to be accepted (the diary may have moved on): make a new one.
ALLOCATION_PLAN_STALE_MINUTES = env.int("ALLOCATION_PLAN_STALE_MINUTES", default=120)
