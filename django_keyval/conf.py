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
    local_caches,
    store_problems,
)
from django_keyval.ttl import ttl_seconds

DEFAULTS: dict[str, Any] = {
    "SERIALIZER": "pickle",
    "SIGN_VALUES": True,
    "DEFAULT_TTL": None,
    "DATABASE": None,
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
    # The stores declared with a local cache (KEYVAL["STORES"]), by name.
    local_caches: dict[str, LocalCacheOptions] = field(default_factory=dict)
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
    database = raw.get("DATABASE")
    if database is not None and (
        not isinstance(database, str) or database not in settings.DATABASES
    ):
        problems.append(
            Problem(
                "E006",
                f"KEYVAL['DATABASE'] is {database!r}, which is not an alias in DATABASES.",
                "Use one of: " + ", ".join(map(repr, settings.DATABASES)) + ", or None.",
            )
        )
    problems += [Problem(*problem) for problem in store_problems(raw.get("STORES"))]
    problems += [Problem(*problem) for problem in settings_problems(raw.get("SETTINGS"))]
    settings_store = raw.get("SETTINGS_STORE", "settings")
    try:
        validate_key(settings_store, "store name")
    except (TypeError, InvalidKey) as exc:
        problems.append(
            Problem(
                "E013", f"KEYVAL['SETTINGS_STORE'] is invalid: {exc}.", "The default is 'settings'."
            )
        )
    return problems


def _with_settings_cache(
    caches: dict[str, LocalCacheOptions], stores: dict[str, Any] | None, store: str
) -> dict[str, LocalCacheOptions]:
    """Give the settings store a local cache with the defaults, unless the project
    declared its LOCAL_CACHE (True, False or a dict) under KEYVAL["STORES"]."""
    if "LOCAL_CACHE" in (stores or {}).get(store, {}):
        return caches
    return {**caches, **local_caches({store: {"LOCAL_CACHE": LOCAL_CACHE_DEFAULTS}})}


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
    if settings_declared:
        caches = _with_settings_cache(caches, merged["STORES"], merged["SETTINGS_STORE"])
    return Config(
        serializer=merged["SERIALIZER"],
        sign_values=merged["SIGN_VALUES"],
        default_ttl=ttl_seconds(merged["DEFAULT_TTL"]),
        database=merged["DATABASE"],
        local_caches=caches,
        settings=settings_declared,
        settings_store=merged["SETTINGS_STORE"],
    )


@receiver(setting_changed)
def _clear_config(*, setting: str, **kwargs: Any) -> None:
    if setting in ("KEYVAL", "DATABASES"):
        get_config.cache_clear()
