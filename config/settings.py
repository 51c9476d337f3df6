"""Django settings for Huikuan, read from ``HUIKUAN_*`` environment variables.

Every setting has a default that works on one machine with no set-up: a SQLite file under
``HUIKUAN_HOME`` and a secret key generated on first use and kept beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from decimal import Decimal
from pathlib import Path

import dj_database_url
from platformdirs import user_data_dir

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = BASE_DIR / "huikuan"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"HUIKUAN_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").strip().lower()
    return raw in {"1", "true", "yes", "on"}


HUIKUAN_HOME = Path(_env("HOME") or user_data_dir("huikuan", appauthor=False)).expanduser()


def _secret_key() -> str:
    """Return the configured key, or one generated once and kept in HUIKUAN_HOME."""
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    key_file = HUIKUAN_HOME / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        HUIKUAN_HOME.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in _env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huikuan.core",
    "huikuan.customers",
    "huikuan.ledger",
    "huikuan.dunning",
    "huikuan.messaging",
    "huikuan.collections",
    "huikuan.banking",
    "huikuan.insights",
    "huikuan.accounts",
    "huikuan.portal",
    "huikuan.web",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files itself, so `huikuan serve` needs no separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DEFAULT_SQLITE_PATH = HUIKUAN_HOME / "huikuan.sqlite3"
DATABASE_URL = _env("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # A PostgreSQL connection costs its server about 19 ms of CPU to open: keep each one for
    # later requests (checked before reuse) instead of opening one per request.
    DATABASES["default"]["CONN_MAX_AGE"] = int(_env("DB_CONN_MAX_AGE", "600"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASE_URL.startswith("sqlite:///") and not _env("DATABASE_URL"):
        HUIKUAN_HOME.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while a run writes; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue on the busy timeout instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": _env("TEST_SQLITE_PATH") or None}
else:
    # Lets two test runs share one PostgreSQL server without dropping each other's test database.
    DATABASES["default"]["TEST"] = {"NAME": _env("TEST_DATABASE_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2 for new and changed passwords; older hashes still verify and are upgraded at sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Loads the user's role with the user, saving a query on every page.
AUTHENTICATION_BACKENDS = ["huikuan.accounts.backends.ModelBackendWithProfile"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = _env("LANGUAGE", "en").lower()
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = _env("TIME_ZONE", "Asia/Shanghai")
# The company's country (ISO 3166): its business days count for customers without a country.
HUIKUAN_COUNTRY = _env("COUNTRY", "CN").strip().upper() or "CN"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(_env("STATIC_ROOT") or HUIKUAN_HOME / "static").expanduser()
# `huikuan serve` collects into STATIC_ROOT; until then (development, tests) it is empty and
# WhiteNoise serves straight from the apps' folders. It exists from the start so that WhiteNoise
# has nothing to warn about.
with contextlib.suppress(OSError):  # a read-only home: collectstatic says so if it is ever run
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# `huikuan serve` sets HUIKUAN_STATIC_COLLECTED: the files are then read from STATIC_ROOT only,
# compressed and under names carrying a hash of their content (cached by browsers for a year).
HUIKUAN_STATIC_COLLECTED = _env_bool("STATIC_COLLECTED", False)
WHITENOISE_USE_FINDERS = not HUIKUAN_STATIC_COLLECTED
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if HUIKUAN_STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded evidence (promise recordings, signed letters) lives beside the database.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(_env("MEDIA_ROOT") or HUIKUAN_HOME / "media").expanduser()

# The cache holds sign-in and portal rate limits. Files under HUIKUAN_HOME are shared by every
# process on one machine; HUIKUAN_CACHE_URL=redis://… shares them across machines (locmem:// keeps
# them in the process, for tests).
_cache_url = _env("CACHE_URL").strip()
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url.startswith(("redis://", "rediss://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if _cache_url == "locmem://"
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(HUIKUAN_HOME / "cache"),
        }
    )
}
# Sign-in throttling: this many failures for one username or address lock it for the window.
HUIKUAN_LOGIN_MAX_FAILURES = int(_env("LOGIN_MAX_FAILURES", "5"))
HUIKUAN_LOGIN_LOCK_SECONDS = int(_env("LOGIN_LOCK_SECONDS", "900"))
# An office shares one address, so an address may fail more often than one username.
HUIKUAN_LOGIN_MAX_FAILURES_PER_ADDRESS = int(
    _env("LOGIN_MAX_FAILURES_PER_ADDRESS", str(4 * HUIKUAN_LOGIN_MAX_FAILURES))
)
# Where people reach this deployment, for links written into e-mails (the customer portal).
HUIKUAN_BASE_URL = _env("BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
# The customer portal: how long a new link lives, and requests allowed per link per minute.
HUIKUAN_PORTAL_LINK_DAYS = int(_env("PORTAL_LINK_DAYS", "30"))
HUIKUAN_PORTAL_RATE_PER_MINUTE = int(_env("PORTAL_RATE_PER_MINUTE", "60"))
# Bank matching: a proposal at least this sure (0-100) is applied without a person; the rest
# waits for review. Unmatched money goes on the list of this user (a username; blank: nobody).
HUIKUAN_BANK_AUTO_APPLY_CONFIDENCE = int(_env("BANK_AUTO_APPLY_CONFIDENCE", "90"))
HUIKUAN_BANK_UNMATCHED_OWNER = _env("BANK_UNMATCHED_OWNER", "").strip()
# Bank files larger than this are refused before they are read.
HUIKUAN_BANK_FILE_MAX_BYTES = int(_env("BANK_FILE_MAX_BYTES", str(200 * 1024 * 1024)))
# Bank charges: a credit this much short of its invoices (percent of the credit, at most this
# many major units of its currency) still pays them in full.
HUIKUAN_BANK_CHARGES_PERCENT = Decimal(_env("BANK_CHARGES_PERCENT", "2"))
HUIKUAN_BANK_CHARGES_MAX = Decimal(_env("BANK_CHARGES_MAX", "50"))

# Credit control (docs/credit.md): the scheduled re-rating, what is read, the grade bounds, the
# order check's tolerance for overdue money, and the early warnings' thresholds.
HUIKUAN_CREDIT_RATING_CADENCE = _env("CREDIT_RATING_CADENCE", "monthly").strip().lower()
HUIKUAN_CREDIT_WINDOW_DAYS = int(_env("CREDIT_WINDOW_DAYS", "365"))
HUIKUAN_CREDIT_RECENT_DAYS = int(_env("CREDIT_RECENT_DAYS", "90"))
HUIKUAN_CREDIT_GRADE_BOUNDS = _env("CREDIT_GRADE_BOUNDS", "80,60,40")
HUIKUAN_CREDIT_OVERDUE_TOLERANCE_DAYS = int(_env("CREDIT_OVERDUE_TOLERANCE_DAYS", "0"))
HUIKUAN_CREDIT_OVERDUE_TOLERANCE_AMOUNT = Decimal(_env("CREDIT_OVERDUE_TOLERANCE_AMOUNT", "0"))
HUIKUAN_CREDIT_HOLD_GRADES = _env("CREDIT_HOLD_GRADES", "D")
HUIKUAN_CREDIT_WARN_SLOWING_DAYS = int(_env("CREDIT_WARN_SLOWING_DAYS", "10"))
HUIKUAN_CREDIT_WARN_VOLUME_DROP_PERCENT = int(_env("CREDIT_WARN_VOLUME_DROP_PERCENT", "50"))
HUIKUAN_CREDIT_WARN_BROKEN_PROMISES = int(_env("CREDIT_WARN_BROKEN_PROMISES", "2"))
HUIKUAN_CREDIT_WARN_SHORT_PAYMENTS = int(_env("CREDIT_WARN_SHORT_PAYMENTS", "2"))
HUIKUAN_CREDIT_WARN_UNREACHABLE = int(_env("CREDIT_WARN_UNREACHABLE", "3"))
HUIKUAN_CREDIT_WARN_STATEMENTS_UNANSWERED = int(_env("CREDIT_WARN_STATEMENTS_UNANSWERED", "1"))
# Debtor types (docs/debtors.md): the period read and the thresholds of the classification rules.
HUIKUAN_DEBTOR_LOOKBACK_DAYS = int(_env("DEBTOR_LOOKBACK_DAYS", "365"))
HUIKUAN_DEBTOR_ESCALATION_WINDOW_DAYS = int(_env("DEBTOR_ESCALATION_WINDOW_DAYS", "10"))
HUIKUAN_DEBTOR_SILENCE_CONTACTS = int(_env("DEBTOR_SILENCE_CONTACTS", "2"))
HUIKUAN_DEBTOR_HISTORY_INVOICES = int(_env("DEBTOR_HISTORY_INVOICES", "3"))
HUIKUAN_DEBTOR_ON_TIME_PERCENT = int(_env("DEBTOR_ON_TIME_PERCENT", "80"))
HUIKUAN_DEBTOR_RECENT_LATENESS_DAYS = int(_env("DEBTOR_RECENT_LATENESS_DAYS", "60"))
HUIKUAN_DEBTOR_ESCALATED_PAYMENTS = int(_env("DEBTOR_ESCALATED_PAYMENTS", "2"))
HUIKUAN_DEBTOR_ESCALATED_SHARE_PERCENT = int(_env("DEBTOR_ESCALATED_SHARE_PERCENT", "60"))
HUIKUAN_DEBTOR_SHORT_PAYMENTS = int(_env("DEBTOR_SHORT_PAYMENTS", "2"))
# Legal hand-overs and incentives (docs/legal.md). Approval limits: JSON of role -> percent of the
# open amount that role may give up without someone else's approval (merged over the defaults).
HUIKUAN_LEGAL_DEMAND_DAYS = int(_env("LEGAL_DEMAND_DAYS", "7"))
HUIKUAN_LEGAL_LETTER_INVOICES_MAX = int(_env("LEGAL_LETTER_INVOICES_MAX", "200"))
HUIKUAN_LEGAL_TIMELINE_PDF_MAX = int(_env("LEGAL_TIMELINE_PDF_MAX", "1000"))
HUIKUAN_LEGAL_PACK_DIR = _env("LEGAL_PACK_DIR", "").strip()
HUIKUAN_INCENTIVE_APPROVAL_LIMITS = json.loads(_env("INCENTIVE_APPROVAL_LIMITS", "{}") or "{}")

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _env("LOG_LEVEL", "WARNING")},
}

# Scheduling (docs/scheduling.md): with a broker (Redis) Celery workers and beat run the daily
# dunning and the outbox; without one `huikuan worker` runs the same tasks in-process.
HUIKUAN_BROKER_URL = _env("BROKER_URL").strip()
HUIKUAN_DUNNING_RUN_AT = _env("DUNNING_RUN_AT", "06:00").strip()
HUIKUAN_DELIVERY_INTERVAL = int(_env("DELIVERY_INTERVAL", "60"))
HUIKUAN_LETTER_BATCH_AT = _env("LETTER_BATCH_AT", "14:00").strip()
# The collections review (promises, plans, short payments, statements) runs before the dunning
# run; empty means 15 minutes before it.
HUIKUAN_COLLECTIONS_REVIEW_AT = _env("COLLECTIONS_REVIEW_AT").strip()
# Days after the promised date before an unkept promise counts as broken.
HUIKUAN_PROMISE_GRACE_DAYS = int(_env("PROMISE_GRACE_DAYS", "3"))
# In the first days of each month the review issues and e-mails last month's statements (对账单).
HUIKUAN_STATEMENTS_MONTHLY = _env_bool("STATEMENTS_MONTHLY", True)
HUIKUAN_STATEMENTS_ISSUE_DAYS = int(_env("STATEMENTS_ISSUE_DAYS", "7"))
# A statement sent this many days ago without an answer is marked "no reply".
HUIKUAN_STATEMENT_REPLY_DAYS = int(_env("STATEMENT_REPLY_DAYS", "14"))

# Delivery of the outbox (docs/configuration.md, "E-mail and SMS"). E-mail goes where
# HUIKUAN_EMAIL_URL says; without it, e-mail stays queued instead of being guessed at.
from huikuan.messaging.email_url import email_settings_from_url  # noqa: E402

_email = email_settings_from_url(_env("EMAIL_URL"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", "")
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT", 30.0)
DEFAULT_FROM_EMAIL = _env("EMAIL_FROM", "huikuan@localhost")
HUIKUAN_LEGAL_EMAIL_FROM = _env("LEGAL_EMAIL_FROM") or DEFAULT_FROM_EMAIL
# The right-hand side of every Message-ID the outbox gives out (RFC 5322); use the company's domain.
HUIKUAN_MAIL_DOMAIN = _env("MAIL_DOMAIN", "huikuan.localhost").strip() or "huikuan.localhost"
HUIKUAN_SMS_URL = _env("SMS_URL")
HUIKUAN_SMS_TOKEN = _env("SMS_TOKEN")
HUIKUAN_SMS_TIMEOUT = float(_env("SMS_TIMEOUT", "10"))
# A message claimed for sending longer ago than this is taken to belong to a process that died.
HUIKUAN_OUTBOX_LEASE_SECONDS = int(_env("OUTBOX_LEASE_SECONDS", "300"))
HUIKUAN_OUTBOX_MAX_ATTEMPTS = int(_env("OUTBOX_MAX_ATTEMPTS", "8"))
# Transient failures wait base × 2^(attempts-1), at most HUIKUAN_OUTBOX_RETRY_MAX_SECONDS.
HUIKUAN_OUTBOX_RETRY_BASE_SECONDS = int(_env("OUTBOX_RETRY_BASE_SECONDS", "60"))
HUIKUAN_OUTBOX_RETRY_MAX_SECONDS = int(_env("OUTBOX_RETRY_MAX_SECONDS", "21600"))

# What letters and messages say about the company (docs/configuration.md, "Messages and letters").
# "\n" in a value starts a new line, so an address or bank details fit in one variable.
HUIKUAN_COMPANY_NAME = _env("COMPANY_NAME", "Huikuan").replace("\\n", "\n").strip()
HUIKUAN_COMPANY_ADDRESS = _env("COMPANY_ADDRESS").replace("\\n", "\n").strip()
HUIKUAN_PAYMENT_INSTRUCTIONS = _env("PAYMENT_INSTRUCTIONS").replace("\\n", "\n").strip()
