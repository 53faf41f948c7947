"""The declared settings the tests of live settings share."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.core.validators import MaxValueValidator

DECLARED: dict[str, Any] = {
    "MAINTENANCE_MODE": (False, "Show the maintenance banner"),
    "MAX_UPLOAD_MB": {
        "default": 25,
        "help_text": "Largest upload in MiB",
        "validators": [MaxValueValidator(1000)],
        "fieldset": "Uploads",
    },
    "RATIO": (0.5, "A ratio", float),
    "PRICE": {"default": decimal.Decimal("9.99"), "help_text": "Price", "fieldset": "Shop"},
    "GREETING": ("hello", "The greeting on the home page"),
    "LAUNCH_DATE": (datetime.date(2030, 1, 1), "Launch day"),
    "LAUNCH_AT": (datetime.datetime(2030, 1, 1, 9, tzinfo=datetime.timezone.utc), "Launch"),
    "OPENS": (datetime.time(9, 0), "Opening time"),
    "GRACE": (datetime.timedelta(hours=1), "Grace period"),
    "THEME": {
        "default": "light",
        "help_text": "Site theme",
        "choices": [("light", "Light"), ("dark", "Dark")],
        "fieldset": "Look",
    },
    "LIMITS": ({"max_users": 10}, "Limits"),
    "ADMINS": ([], "Administrators", list),
}


def declare(settings: Any, declared: dict[str, Any] | None = None, **extra: Any) -> None:
    """Declare ``declared`` (default: DECLARED) in the KEYVAL setting of pytest-django's
    ``settings`` fixture."""
    settings.KEYVAL = {"SETTINGS": DECLARED if declared is None else declared, **extra}
