"""The KEYVAL setting: defaults merged in, validated, cached until settings change."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from django_keyval.declared import Declared, declarations, settings_problems
from django_keyval.exceptions import InvalidKey
from django_keyval.keys import validate_key
from django_keyval.serializers import get_serializer
from django_keyval.storeconf import (
    LOCAL_CACHE_DEFAULTS,
    LocalCacheOptions,
    history_sizes,
    local_caches,
    signalling_old_values,
    store_problems,
    unsigned_stores,
)
from django_keyval.ttl import ttl_seconds

# How many versions of each key the settings store keeps, unless the project says.
SETTINGS_HISTORY = 10

DEFAULTS: dict[str, Any] = {
    "SERIALIZER": "pickle",
    "SIGN_VALUES": True,
    "DEFAULT_TTL": None,
    "DATABASE": None,
    "DATABASES": None,
    "LOCK_DATABASE": None,
    "STORES": None,
    "SETTINGS": None,
    "SETTINGS_STORE": "settings",
}


@dataclass(frozen=True)
class Config:
    """The effective KEYVAL setting."""

    serializer: str
    sign_values: bool
    default_ttl: float | None
    database: str | None
    # The aliases whose databases hold stores, for the calls on every store
    # (KEYVAL["DATABASES"]); empty: the one database the routers give the model.
    databases: tuple[str, ...] = ()
    # Where locks are kept, when not where their store's writes go.
    lock_database: str | None = None
    # The stores declared with a local cache (KEYVAL["STORES"]), by name.
    local_caches: dict[str, LocalCacheOptions] = field(default_factory=dict)
    # How many versions of each key the stores with a history keep, by name.
    history: dict[str, int] = field(default_factory=dict)
    # The stores whose change signals carry the old value of every write.
    old_values: frozenset[str] = frozenset()
    # The stores whose "bytes" and "json" values are stored unsigned (SIGN_VALUES per store).
    unsigned: frozenset[str] = frozenset()
    # The declared live settings (KEYVAL["SETTINGS"]), by name, and their store.
    settings: dict[str, Declared] = field(default_factory=dict)
    settings_store: str = "settings"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the KEYVAL setting, with the id of its system check."""

    id: str
    msg: str
    hint: str


def find_problems(raw: object) -> list[Problem]:
    """Return what is wrong with a KEYVAL setting (the system checks report these)."""
    if not isinstance(raw, dict):
        return [
            Problem(
                "E001",
                f"KEYVAL must be a dict, not {type(raw).__name__}.",
                "Set KEYVAL to a dict such as {'SERIALIZER': 'json'}, or remove it.",
            )
        ]
    problems = []
    unknown = sorted(set(raw) - set(DEFAULTS), key=str)
    if unknown:
        problems.append(
            Problem(
                "E002",
                f"KEYVAL has unknown keys: {', '.join(map(repr, unknown))}.",
                f"The known keys are {', '.join(DEFAULTS)}.",
            )
        )
    if "SERIALIZER" in raw:
        try:
            get_serializer(raw["SERIALIZER"])
        except (TypeError, ValueError) as exc:
            problems.append(
                Problem(
                    "E003",
                    f"KEYVAL['SERIALIZER'] is invalid: {exc}.",
                    "Use 'pickle', 'json', 'bytes' or the dotted path of a class with "
                    "dumps() and loads().",
                )
            )
    if not isinstance(raw.get("SIGN_VALUES", True), bool):
        problems.append(
            Problem(
                "E004",
                "KEYVAL['SIGN_VALUES'] must be True or False.",
                "Keep it True unless nothing but your project can write to the database.",
            )
        )
    default_ttl = raw.get("DEFAULT_TTL")
    try:
        ttl_seconds(default_ttl)
    except (TypeError, ValueError):
        problems.append(
            Problem(
                "E005",
                "KEYVAL['DEFAULT_TTL'] must be None or a positive, finite number of seconds "
                f"(or a timedelta), not {default_ttl!r}.",
                "Use None for values that never expire.",
            )
        )
    problems += alias_problems(raw, "DATABASE", "E006")
    problems += databases_problems(raw)
    problems += alias_problems(raw, "LOCK_DATABASE", "E011")
    problems += [Problem(*problem) for problem in store_problems(raw.get("STORES"))]
    problems += [Problem(*problem) for problem in settings_problems(raw.get("SETTINGS"))]
    settings_store = raw.get("SETTINGS_STORE", "settings")
    try:
        validate_key(settings_store, "store name")
    except (TypeError, InvalidKey) as exc:
        problems.append(
            Problem(
                "E016", f"KEYVAL['SETTINGS_STORE'] is invalid: {exc}.", "The default is 'settings'."
            )
        )
    return problems


def alias_problems(raw: dict[Any, Any], name: str, check_id: str) -> list[Problem]:
    """What is wrong with ``KEYVAL[name]``, None or one alias of DATABASES."""
    alias = raw.get(name)
    if alias is None or (isinstance(alias, str) and alias in settings.DATABASES):
        return []
    msg = f"KEYVAL[{name!r}] is {alias!r}, which is not an alias in DATABASES."
    hint = "Use one of: " + ", ".join(map(repr, settings.DATABASES)) + ", or None."
    return [Problem(check_id, msg, hint)]


def databases_problems(raw: dict[Any, Any]) -> list[Problem]:
    """What is wrong with KEYVAL["DATABASES"] (checked as KEYVAL["DATABASE"] is, E006)."""
    databases = raw.get("DATABASES")
    if databases is None:
        return []
    hint = "Use a list of aliases from: " + ", ".join(map(repr, settings.DATABASES)) + "."
    if not isinstance(databases, (list, tuple)) or not databases:
        msg = f"KEYVAL['DATABASES'] must be a non-empty list of aliases, not {databases!r}."
        return [Problem("E006", msg, hint)]
    unknown = [alias for alias in databases if alias not in settings.DATABASES]
    if unknown:
        msg = f"KEYVAL['DATABASES'] names {', '.join(map(repr, unknown))}, not in DATABASES."
        return [Problem("E006", msg, hint)]
    if raw.get("DATABASE") is not None:
        msg = "KEYVAL sets both DATABASE and DATABASES."
        hint = "DATABASE puts every store on one database: leave DATABASES out, or DATABASE."
        return [Problem("E006", msg, hint)]
    return []


def _with_settings_cache(
    caches: dict[str, LocalCacheOptions], stores: dict[str, Any] | None, store: str
) -> dict[str, LocalCacheOptions]:
    """Give the settings store a local cache with the defaults, unless the project
    declared its LOCAL_CACHE (True, False or a dict) under KEYVAL["STORES"]."""
    if "LOCAL_CACHE" in (stores or {}).get(store, {}):
        return caches
    return {**caches, **local_caches({store: {"LOCAL_CACHE": LOCAL_CACHE_DEFAULTS}})}


def _with_settings_history(
    history: dict[str, int], stores: dict[str, Any] | None, store: str
) -> dict[str, int]:
    """Keep SETTINGS_HISTORY versions of each declared setting, unless the project
    declared the settings store's HISTORY under KEYVAL["STORES"] (0 turns it off)."""
    if "HISTORY" in (stores or {}).get(store, {}):
        return history
    return {**history, store: SETTINGS_HISTORY}


@functools.cache
def get_config() -> Config:
    """Return the effective KEYVAL setting; raise ImproperlyConfigured if it is invalid."""
    raw = getattr(settings, "KEYVAL", {})
    problems = find_problems(raw)
    if problems:
        raise ImproperlyConfigured(problems[0].msg)
    merged = {**DEFAULTS, **raw}
    caches = local_caches(merged["STORES"])
    settings_declared = declarations(merged["SETTINGS"])
    history = history_sizes(merged["STORES"])
    if settings_declared:
        caches = _with_settings_cache(caches, merged["STORES"], merged["SETTINGS_STORE"])
        history = _with_settings_history(history, merged["STORES"], merged["SETTINGS_STORE"])
    return Config(
        serializer=merged["SERIALIZER"],
        sign_values=merged["SIGN_VALUES"],
        default_ttl=ttl_seconds(merged["DEFAULT_TTL"]),
        database=merged["DATABASE"],
        databases=tuple(dict.fromkeys(merged["DATABASES"] or ())),
        lock_database=merged["LOCK_DATABASE"],
        local_caches=caches,
        history=history,
        old_values=signalling_old_values(merged["STORES"]),
        unsigned=unsigned_stores(merged["STORES"]),
        settings=settings_declared,
        settings_store=merged["SETTINGS_STORE"],
    )


@receiver(setting_changed)
def _clear_config(*, setting: str, **kwargs: Any) -> None:
    if setting in ("KEYVAL", "DATABASES"):
        get_config.cache_clear()
