"""Patron's settings, all from environment variables.

Every variable has a development default, so `manage.py up` runs on SQLite with no Redis and no
mail server. Production sets at least DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
REDIS_URL and EMAIL_URL; docs/configuration.md lists every variable. A secret may also come
from a file: SECRET_KEY_FILE=/run/secrets/patron_key reads the key from that file.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PATRON_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def secret(name, default=None):
    """Read NAME, or the file named by NAME_FILE (Docker and systemd credentials)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=True)

SECRET_KEY = secret("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off.")
    SECRET_KEY = "development-only-key-never-use-in-production-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address people reach Patron at, for links in emails (no trailing slash).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- The business --------------------------------------------------------------------------
SHOP_NAME = env.str("SHOP_NAME", default="Patron Demo Shop")
# ISO 4217 code. Amounts are Decimal in this currency's minor unit (JPY has none).
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="EUR").upper()
TIME_ZONE = env.str("SHOP_TIME_ZONE", default="Europe/Stockholm")

# Web sites that may show the embeddable sign-up (/join/embed/) in a frame, as origins:
# https://www.example.com. Every other page refuses to be framed (docs/onboarding.md).
EMBED_ALLOWED_ORIGINS = env.list("EMBED_ALLOWED_ORIGINS", default=[])
# Sign-ups through the embedded form per IP address and hour.
EMBED_SIGNUPS_PER_HOUR = env.int("EMBED_SIGNUPS_PER_HOUR", default=10)

# Paid memberships online (docs/plans.md): with either left empty, plans are paid at the till only.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")

# Points a cashier may add or take away in one adjustment; managers have no limit.
CASHIER_ADJUST_LIMIT = env.int("CASHIER_ADJUST_LIMIT", default=500)

# Surveys (docs/surveys.md): how long email links work, the scanner rules, reminders, and the
# smallest sample that gets a headline score.
SURVEY_LINK_MAX_DAYS = env.int("SURVEY_LINK_MAX_DAYS", default=30)
SURVEY_BURST_SECONDS = env.int("SURVEY_BURST_SECONDS", default=10)
SURVEY_DWELL_SECONDS = env.int("SURVEY_DWELL_SECONDS", default=3)
SURVEY_REMINDER_DAYS = env.int("SURVEY_REMINDER_DAYS", default=3)
SURVEY_MIN_SAMPLE = env.int("SURVEY_MIN_SAMPLE", default=30)

# The dashboard's customer lifetime value: gross margin (1 = revenue) and expected years a
# customer stays (docs/metrics.md); and how long a computed figure may be shown before it is
# computed again.
METRICS_GROSS_MARGIN = env.str("METRICS_GROSS_MARGIN", default="1")
METRICS_CUSTOMER_LIFESPAN_YEARS = env.str("METRICS_CUSTOMER_LIFESPAN_YEARS", default="3")
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=300)

# --- Applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    "loyalty_site",
    "programs",
    "referrals",
    "surveys",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files in production; runserver serves them itself in development.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "loyalty_site.middleware.UserLanguageMiddleware",
    "loyalty_site.middleware.ShopTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, so that its 404 page knows the person and their language.
    "loyalty_site.middleware.NulCharactersMiddleware",
]

ROOT_URLCONF = "loyalty_site.urls"
WSGI_APPLICATION = "loyalty_site.wsgi.application"

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
                "loyalty_site.context_processors.shop",
            ],
        },
    },
]

# --- Data ----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT … FOR UPDATE; taking the write lock when a transaction begins (and
    # waiting for it) serialises point moves instead of failing them with "database is locked".
    # WAL lets the pages read while the worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE", "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Shared by every web and worker process: rate limits and caches must not be per process.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "patron"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts ------------------------------------------------------------------------------
AUTH_USER_MODEL = "loyalty_site.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "portal:home"

ACCOUNT_ADAPTER = "loyalty_site.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "loyalty_site.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SHOP_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
ACCOUNT_EMAIL_NOTIFICATIONS = True
# allauth's own limits, counted in the shared cache (Redis in production). Written out rather
# than left to allauth's defaults so that what a guesser gets is visible here and in
# docs/configuration.md. A failed login counts against the address tried (5 in 5 minutes) and
# the caller's IP (10 a minute); past the limit even the right password is refused.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "confirm_email": "1/180s/key",
}

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("pl", _("Polish")),
    ("sv", _("Swedish")),
    ("ja", _("Japanese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Day-month-year dates for English too (Django's "en" is American); see loyalty_site/formats.
FORMAT_MODULE_PATH = ["loyalty_site.formats"]
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
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

# --- Email ---------------------------------------------------------------------------------
# EMAIL_URL examples: smtp+tls://user:password@smtp.example.com:587, consolemail://.
# Without it, emails are written as files under var/mail/ for a developer to read.
_email_url = secret("EMAIL_URL", default="")
if _email_url:
    vars().update(env.email_url_config(_email_url))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SHOP_NAME} <loyalty@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How often the outbox retries a failed send before it marks the email failed.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=6)

# Outbound webhooks (docs/webhooks.md): tries per delivery before it is marked failed (about
# nine hours of growing pauses with the default), the seconds to wait for a receiver to connect
# and for each read of its answer, and whether plain http:// URLs are accepted (for a receiver
# on the same machine or network; https is required otherwise).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=DEBUG)

# --- Background work -----------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    # The embedded default: a broker made of folders, so that the worker and the scheduler run
    # with no server at all. Good for one machine; production uses Redis.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# Tasks are idempotent, so a task whose worker dies is run again rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Sends what an enqueue missed (Redis down, a crash between commit and enqueue).
    "outbox-flush": {"task": "loyalty_site.tasks.flush_outbox", "schedule": 60.0},
    # Webhook deliveries whose next attempt is due (retries, and any an enqueue missed).
    "webhooks-send-due": {"task": "loyalty_site.tasks.send_due_webhooks", "schedule": 60.0},
    # Hourly rather than nightly: each run is cheap when nothing is due, and a member whose
    # points became spendable this morning should not wait until tomorrow.
    "points-release-pending": {"task": "programs.tasks.release_pending_points", "schedule": 3600.0},
    "points-expire": {"task": "programs.tasks.expire_points", "schedule": 3600.0},
    # The dashboard's daily sums of the ledger and of purchases per member: hourly, so a missed
    # night catches up by morning and a late receipt counts within the hour.
    "points-roll-up": {"task": "programs.tasks.roll_up_points_days", "schedule": 3600.0},
    # The metrics page's default view, computed again a minute before its figures expire.
    "dashboard-warm": {"task": "loyalty_site.tasks.warm_dashboard",
                       "schedule": float(max(60, METRICS_CACHE_SECONDS - 60))},
    "points-expiry-reminders": {"task": "programs.tasks.send_expiry_reminders", "schedule": 3600.0},
    # Tiers (docs/tiers.md): the one moment members may move down, at night in the shop's time
    # zone; the "close to the next tier" emails in the morning.
    "tiers-reevaluate": {"task": "programs.tasks.reevaluate_tiers", "schedule": crontab(hour=3, minute=30)},
    "tiers-close-reminders": {"task": "programs.tasks.send_close_to_tier_reminders",
                              "schedule": crontab(hour=10, minute=0)},
    # Daily is enough: a birthday treat may come any day of the birthday month.
    "birthday-treats": {"task": "programs.tasks.give_birthday_treats", "schedule": 86400.0},
    "offers-email-sweep": {"task": "programs.tasks.email_unemailed_offers", "schedule": 600.0},
    "winback-reminders": {"task": "programs.tasks.send_winback_reminders", "schedule": 86400.0},
    # Pays referrals whose review period ended, applies the review default, closes windows.
    "referrals-schedule": {"task": "referrals.tasks.run_referral_schedule", "schedule": 3600.0},
    "surveys-send-due": {"task": "surveys.tasks.send_due_invitations", "schedule": 300.0},
    "surveys-reminders": {"task": "surveys.tasks.send_reminders", "schedule": 3600.0},
    # Paid memberships: past due and lapsed on time, each period's bonus, renewal reminders.
    "plans-hourly": {"task": "programs.tasks.run_subscription_schedule", "schedule": 3600.0},
}

# --- The API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    # Services' ValidationError (a message per field) becomes a 400, a conflict a 409.
    "EXCEPTION_HANDLER": "programs.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Patron integration API",
    "DESCRIPTION": "For tills and web shops: members, purchases, refunds, rewards and redemptions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Production hardening ------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# Every script, style, image and font is Patron's own (vendored, no CDN) and no template has an
# inline script or style, so the policy can be strict. The QR codes are inline SVG elements and
# the member card image is served by us. The Django admin is left out: it is for superusers and
# uses inline scripts of its own.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "media-src": [CSP_SELF, "blob:"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
