"""System checks of the KEYVAL setting (django_keyval.E001-E006, E008-E016, W001), and
of the databases the store can be routed to (E007)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import connections, router

from django_keyval.conf import DEFAULTS, find_problems
from django_keyval.serializers import is_pickle
from django_keyval.sql import entry_model, operations_class, unsupported

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


def check_databases(
    databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report each of ``databases`` the store can be routed to that it does not support.

    A database check: Django passes the aliases of ``manage.py check --database``
    and of ``migrate``, and None otherwise.
    """
    return [
        checks.Error(
            unsupported(alias, connections[alias].vendor),
            hint="Route the store to another database with KEYVAL['DATABASE'], or keep "
            f"its table off {alias!r} with a database router's allow_migrate().",
            id="django_keyval.E007",
        )
        for alias in _store_databases(databases or ())
        if operations_class(connections[alias].vendor) is None
    ]


def _store_databases(databases: Iterable[str]) -> list[str]:
    """Return those of ``databases`` the store can be routed to: KEYVAL['DATABASE'] when
    it names one, else each that the routers let hold the entry table."""
    raw = getattr(settings, "KEYVAL", {})
    configured = raw.get("DATABASE") if isinstance(raw, dict) else None
    if isinstance(configured, str) and configured in settings.DATABASES:
        return [alias for alias in databases if alias == configured]
    return [alias for alias in databases if router.allow_migrate_model(alias, entry_model())]


def register_checks() -> None:
    checks.register(check_settings)
    checks.register(check_databases, checks.Tags.database)
