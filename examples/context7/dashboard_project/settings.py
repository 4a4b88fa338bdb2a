"""
Development settings for the context7 example project.

This is deliberately the plain single-instance baseline: one SQLite file, one
LocMem cache, default cookie names, an in-memory channel layer. Run several
copies of it side by side and they collide; Kovan derives the per-instance and
per-site values (database file, cache key prefix, cookie names, channel layer
prefix, ...) on top of it.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# The fallback is only good enough for local development; set SECRET_KEY anywhere else.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-dev-only-context7-change-me")

DEBUG = True

ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

# Which of the side-by-side instances this process is; Kovan sets it per instance.
SERVER_INSTANCE = os.environ.get("DJANGO_SERVER_INSTANCE", "local")

INSTALLED_APPS = [
    # First: daphne's runserver replaces Django's, so `manage.py runserver` speaks ASGI (websockets).
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dashboard_project.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "dashboard_project.wsgi.application"
ASGI_APPLICATION = "dashboard_project.asgi.application"

# One process only: a message sent on one server never reaches a consumer on another.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    }
}

# Sessions stay in the database (the default engine) so they survive a cache flush.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "tr"
TIME_ZONE = "Europe/Istanbul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
