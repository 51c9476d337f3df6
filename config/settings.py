"""Django settings for Huikuan, read from ``HUIKUAN_*`` environment variables.

Every setting has a default that works on one machine with no set-up: a SQLite file under
``HUIKUAN_HOME`` and a secret key generated on first use and kept beside it.
"""

from __future__ import annotations

import os
import secrets
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
    "huikuan.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = _env("LANGUAGE", "en").lower()
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = _env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HUIKUAN_HOME / "static"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _env("LOG_LEVEL", "WARNING")},
}
