"""System checks of the KEYVAL setting (django_keyval.E001-E006, E008-E016, W001), and
of the databases the store and its locks can be routed to (E007)."""

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
    """Report each of ``databases`` the store or its locks can be routed to that it does
    not support.

    A database check: Django passes the aliases of ``manage.py check --database``
    and of ``migrate``, and None otherwise.
    """
    raw = getattr(settings, "KEYVAL", {})
    named = list(databases or ())
    stores = _store_databases(raw, named)
    locks = [alias for alias in named if alias == _configured_alias(raw, "LOCK_DATABASE")]
    return [
        checks.Error(
            unsupported(alias, connections[alias].vendor),
            hint=_hint(alias, holds_store=alias in stores, holds_locks=alias in locks),
            id="django_keyval.E007",
        )
        for alias in dict.fromkeys(stores + locks)
        if operations_class(connections[alias].vendor) is None
    ]


_STORE_HINT = (
    "Route the store to another database with KEYVAL['DATABASE'], or keep its table off "
    "{alias!r} with a database router's allow_migrate()."
)
_LOCKS_HINT = "Keep the locks on another database with KEYVAL['LOCK_DATABASE']."


def _hint(alias: str, *, holds_store: bool, holds_locks: bool) -> str:
    hints = []
    if holds_store:
        hints.append(_STORE_HINT.format(alias=alias))
    if holds_locks:
        hints.append(_LOCKS_HINT)
    return " ".join(hints)


def _configured_alias(raw: object, name: str) -> str | None:
    """Return the alias KEYVAL[name] names, if it is one of DATABASES (else E011 and its
    kin report it)."""
    alias = raw.get(name) if isinstance(raw, dict) else None
    return alias if isinstance(alias, str) and alias in settings.DATABASES else None


def _store_databases(raw: object, databases: list[str]) -> list[str]:
    """Return those of ``databases`` the store can be routed to: KEYVAL['DATABASE'] when
    it names one, else each that the routers let hold the entry table."""
    database = _configured_alias(raw, "DATABASE")
    if database:
        return [alias for alias in databases if alias == database]
    return [alias for alias in databases if router.allow_migrate_model(alias, entry_model())]


def register_checks() -> None:
    checks.register(check_settings)
    checks.register(check_databases, checks.Tags.database)
