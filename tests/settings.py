"""Settings for the test suite; KEYVAL_TEST_DB picks the database (sqlite, postgresql, mariadb)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from tests import upstream_django

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "django-keyval-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_keyval",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

TEST_DB = os.environ.get("KEYVAL_TEST_DB", "sqlite")

# Test databases are named after the process, so that runs side by side do not
# share them. SQLite uses files (not the in-memory default) so that the tests
# can share them with the child processes of the concurrency tests.
_SQLITE_TEST_DIR = Path(tempfile.gettempdir())


def _database(name: str) -> dict[str, Any]:
    if TEST_DB == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / f"{name}.sqlite3"),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(_SQLITE_TEST_DIR / f"keyval_test_{os.getpid()}_{name}.sqlite3")},
        }
    if TEST_DB == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("KEYVAL_PG_NAME", "test"),
            "USER": os.environ.get("KEYVAL_PG_USER", "postgres"),
            "HOST": os.environ.get("KEYVAL_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("KEYVAL_PG_PORT", "5432"),
            "TEST": {"NAME": f"test_keyval_{os.getpid()}_{name}"},
        }
    if TEST_DB == "mariadb":
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("KEYVAL_MYSQL_NAME", "test"),
            "USER": os.environ.get("KEYVAL_MYSQL_USER", "root"),
            "PASSWORD": os.environ.get("KEYVAL_MYSQL_PASSWORD", ""),
            "HOST": os.environ.get("KEYVAL_MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("KEYVAL_MYSQL_PORT", "3306"),
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": f"test_keyval_{os.getpid()}_{name}", "CHARSET": "utf8mb4"},
        }
    raise ValueError(f"KEYVAL_TEST_DB must be sqlite, postgresql or mariadb, not {TEST_DB!r}")


DATABASES = {"default": _database("default"), "other": _database("other")}

STATIC_URL = "/static/"

# Django's own cache tests, downloaded on first use, as the app "cache"
# (tests/upstream_django.py, tests/test_cache_django_suite.py). None, or why they
# are unavailable.
DJANGO_CACHE_TESTS_UNAVAILABLE = upstream_django.install()
if DJANGO_CACHE_TESTS_UNAVAILABLE is None:
    INSTALLED_APPS.append("cache")
