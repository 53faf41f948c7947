"""System checks of the KEYVAL setting (django_keyval.E001-E010, W001)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from django_keyval.conf import DEFAULTS, find_problems
from django_keyval.serializers import is_pickle

W001_PICKLE_UNSIGNED = (
    "KEYVAL uses the pickle serializer with SIGN_VALUES off: anyone who can write to the "
    "entry table can make this project run code."
)


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """Report what is wrong with the KEYVAL setting."""
    raw = getattr(settings, "KEYVAL", {})
    messages: list[checks.CheckMessage] = [
        checks.Error(problem.msg, hint=problem.hint or None, id=f"django_keyval.{problem.id}")
        for problem in find_problems(raw)
    ]
    if isinstance(raw, dict):
        merged = {**DEFAULTS, **raw}
        if merged["SIGN_VALUES"] is False and _is_pickle(merged["SERIALIZER"]):
            messages.append(
                checks.Warning(
                    W001_PICKLE_UNSIGNED,
                    hint="Keep KEYVAL['SIGN_VALUES'] = True, or use the 'json' serializer.",
                    id="django_keyval.W001",
                )
            )
    return messages


def _is_pickle(serializer: object) -> bool:
    try:
        return is_pickle(serializer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False  # Reported as E003.


def register_checks() -> None:
    checks.register(check_settings)
