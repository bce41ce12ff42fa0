"""Django settings for fenji's system of record.

SQLite by default (one file, ``FENJI_DB`` or ``fenji.sqlite3`` in the working folder);
PostgreSQL in production through ``DATABASE_URL``. Secrets and hosts come from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("FENJI_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("FENJI_SECRET_KEY") or "fenji-development-key-change-me-in-production"
ALLOWED_HOSTS = [
    h for h in os.environ.get("FENJI_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "fenji.web.ui",
    "fenji.web.accounts",
    "fenji.web.customers",
    "fenji.web.facts",
    "fenji.web.policies",
    "fenji.web.evaluations",
    "fenji.web.api",
    # django-ninja's static files: the API documentation page serves Swagger UI from this site.
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (vendored HTMX and ECharts, fenji's CSS) served by the app itself, compressed
    # and cached, so that an offline single-machine install needs no web server in front.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fenji.web.ui.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "fenji.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fenji.web.ui.context_processors.fenji",
            ]
        },
    }
]
WSGI_APPLICATION = "fenji.web.wsgi.application"

_default_sqlite = Path(os.environ.get("FENJI_DB", "fenji.sqlite3")).resolve()
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{_default_sqlite}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers see the last published run while a new one is being written. Pages of
    # 16 KiB (set when the file is created; a no-op on an existing one) make appending a run's
    # rows about 15% cheaper than SQLite's default 4 KiB: fewer pages to split, link and log.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "init_command": (
                "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = os.environ.get("FENJI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# ``collectstatic`` (optional) writes to FENJI_STATIC_ROOT; without it, files are served from
# the apps' static folders.
STATIC_ROOT = (
    Path(os.environ["FENJI_STATIC_ROOT"]).resolve() if os.environ.get("FENJI_STATIC_ROOT") else None
)
# Without ``collectstatic`` the files are found in the apps' static folders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LANGUAGE_COOKIE_NAME = "fenji_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
#: Failed logins allowed per login name and per client address in the window (seconds).
FENJI_LOGIN_ATTEMPTS = int(os.environ.get("FENJI_LOGIN_ATTEMPTS", "5"))
FENJI_LOGIN_WINDOW = int(os.environ.get("FENJI_LOGIN_WINDOW", "900"))
#: Logins shown on the login page of a demo install (``fenji demo`` sets it); empty elsewhere.
FENJI_DEMO_USERS = [u for u in os.environ.get("FENJI_DEMO_USERS", "").split(",") if u]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# The token is read from the page (a meta tag) and sent in a header by HTMX, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
#: The content security policy: scripts, styles and images from this site only (charts and
#: HTMX are vendored; pages carry no inline script or style).
FENJI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# Production (``FENJI_PRODUCTION=1``): HTTPS only, secure cookies, HSTS; a real secret key and
# host names must come from the environment (``manage.py check --deploy`` is clean so).
if os.environ.get("FENJI_PRODUCTION", "") == "1":
    # The same bar as Django's deploy check (50+ characters, 5+ distinct), enforced at start.
    if (
        SECRET_KEY.startswith("fenji-development-key")
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
    ):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("FENJI_PRODUCTION=1 needs FENJI_SECRET_KEY (50+ random chars)")
    DEBUG = False
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("FENJI_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = int(os.environ.get("FENJI_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if os.environ.get("FENJI_BEHIND_PROXY", "") == "1":
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [
        o for o in os.environ.get("FENJI_CSRF_TRUSTED_ORIGINS", "").split(",") if o
    ]
