"""Django settings, all derived from minga's one settings table (minga.config)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from minga import config as _config
from minga.keys.secrets import read_secret
from minga.web.database import database_settings

MINGA = _config.load()
_DATA = MINGA.data_path
BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = read_secret("django.key", "MINGA_SECRET_KEY", _DATA, create=True).hex()
DEBUG = False
_public_host = urlparse(MINGA.base_url).hostname or "127.0.0.1"
ALLOWED_HOSTS = sorted({_public_host, MINGA.host, "127.0.0.1", "localhost", "[::1]", "testserver"})
CSRF_TRUSTED_ORIGINS = [MINGA.base_url]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "minga.store",
    "minga.keys",
    "minga.blobs",
    "minga.media",
    "minga.newsroom",
    "minga.publish",
    "minga.sync",
    "minga.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "minga.web.middleware.Compress",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "minga.web.middleware.ContentSecurityPolicy",
]

ROOT_URLCONF = "minga.web.urls"
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
                "minga.web.context.node",
            ],
        },
    },
]

DATABASES = {"default": database_settings(MINGA)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "after-login"
LOGOUT_REDIRECT_URL = "home"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = MINGA.language
LANGUAGES = [("es", "Español"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = MINGA.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# `minga serve` collects the static files here at start: hashed names (cached
# for good by browsers) and gzip copies (WhiteNoise's storage), served by
# minga.node.static.
STATIC_ROOT = _DATA / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = MINGA.base_url.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": MINGA.log_level.upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
