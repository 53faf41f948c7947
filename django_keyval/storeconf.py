"""KEYVAL['STORES']: options declared per store: its local cache, its history, its signals,
whether its values that cannot run code are signed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django_keyval.exceptions import InvalidKey
from django_keyval.keys import validate_key

# The options a store may declare under KEYVAL["STORES"][name].
STORE_OPTIONS = ("LOCAL_CACHE", "HISTORY", "SIGNAL_OLD_VALUES", "SIGN_VALUES")

# "LOCAL_CACHE": True takes these; a dict is merged over them.
LOCAL_CACHE_DEFAULTS: dict[str, Any] = {
    # Seconds after a validation during which reads run no query; 0 = validate once
    # per request or snapshot, and on every read outside one.
    "MAX_STALENESS": 0,
    # Seconds after which a local copy is read again whatever its generation says.
    "MAX_AGE": 300,
    # A store of at most this many live keys is loaded whole in one query; a
    # bigger one (or any store, with 0) is cached key by key as keys are read.
    "LOAD_ALL_MAX_KEYS": 1000,
    # Seconds for which reads may serve the local copy when its validation
    # fails; 0 = they raise the database's error.
    "SERVE_STALE_ON_ERROR": 0,
}


@dataclass(frozen=True)
class LocalCacheOptions:
    """The effective options of one store's local cache."""

    max_staleness: float
    max_age: float
    load_all_max_keys: int
    serve_stale_on_error: float


# (check id suffix, message, hint), as conf.Problem takes them.
StoreProblem = tuple[str, str, str]


def _is_seconds(value: object, *, zero: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and (value >= 0 if zero else value > 0)


def _bad_value(name: str, option: str, value: object) -> str | None:
    """Return what is wrong with ``value`` for the LOCAL_CACHE option ``option``, or None."""
    if option == "MAX_AGE":
        if not _is_seconds(value, zero=False):
            return "a positive number of seconds"
    elif option == "LOAD_ALL_MAX_KEYS":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "an int of 0 or more"
    elif not _is_seconds(value, zero=True):
        return "a number of seconds, 0 or more"
    return None


def _local_cache_problems(name: str, raw: object) -> list[StoreProblem]:
    where = f"KEYVAL['STORES'][{name!r}]['LOCAL_CACHE']"
    if isinstance(raw, bool):
        return []
    if not isinstance(raw, dict):
        return [
            (
                "E009",
                f"{where} must be True, False or a dict, not {type(raw).__name__}.",
                "Use True for the defaults, or a dict of " + ", ".join(LOCAL_CACHE_DEFAULTS) + ".",
            )
        ]
    problems: list[StoreProblem] = []
    unknown = sorted(set(raw) - set(LOCAL_CACHE_DEFAULTS), key=str)
    if unknown:
        problems.append(
            (
                "E009",
                f"{where} has unknown keys: {', '.join(map(repr, unknown))}.",
                f"The known keys are {', '.join(LOCAL_CACHE_DEFAULTS)}.",
            )
        )
    for option in LOCAL_CACHE_DEFAULTS:
        if option in raw and (expected := _bad_value(name, option, raw[option])) is not None:
            problems.append(
                (
                    "E010",
                    f"{where}[{option!r}] must be {expected}, not {raw[option]!r}.",
                    f"The default is {LOCAL_CACHE_DEFAULTS[option]!r}.",
                )
            )
    return problems


def store_problems(raw: object) -> list[StoreProblem]:
    """Return what is wrong with a KEYVAL['STORES'] setting."""
    if raw is None:
        return []
    hint = "Map store names to dicts of options, e.g. {'settings': {'LOCAL_CACHE': True}}."
    if not isinstance(raw, dict):
        return [("E008", f"KEYVAL['STORES'] must be a dict, not {type(raw).__name__}.", hint)]
    problems: list[StoreProblem] = []
    for name, options in raw.items():
        try:
            validate_key(name, "store name")
        except (TypeError, InvalidKey) as exc:
            problems.append(("E008", f"KEYVAL['STORES'] has an invalid store name: {exc}.", hint))
            continue
        if not isinstance(options, dict):
            problems.append(
                (
                    "E008",
                    f"KEYVAL['STORES'][{name!r}] must be a dict, not {type(options).__name__}.",
                    hint,
                )
            )
            continue
        unknown = sorted(set(options) - set(STORE_OPTIONS), key=str)
        if unknown:
            problems.append(
                (
                    "E008",
                    f"KEYVAL['STORES'][{name!r}] has unknown keys: "
                    f"{', '.join(map(repr, unknown))}.",
                    f"The known keys are {', '.join(STORE_OPTIONS)}.",
                )
            )
        if "LOCAL_CACHE" in options:
            problems += _local_cache_problems(name, options["LOCAL_CACHE"])
        problems += _recording_problems(name, options)
    return problems


def _recording_problems(name: str, options: dict[Any, Any]) -> list[StoreProblem]:
    where = f"KEYVAL['STORES'][{name!r}]"
    problems: list[StoreProblem] = []
    history = options.get("HISTORY", 0)
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        problems.append(
            (
                "E012",
                f"{where}['HISTORY'] must be an int of 0 or more, not {history!r}.",
                "It is how many versions of each key are kept; 0 keeps none.",
            )
        )
    if not isinstance(options.get("SIGNAL_OLD_VALUES", False), bool):
        problems.append(
            (
                "E013",
                f"{where}['SIGNAL_OLD_VALUES'] must be True or False.",
                "True reads each value a write replaces, for the change signals.",
            )
        )
    if not isinstance(options.get("SIGN_VALUES", True), bool):
        problems.append(
            (
                "E017",
                f"{where}['SIGN_VALUES'] must be True or False.",
                "False stores the store's 'bytes' and 'json' values unsigned; pickles stay signed.",
            )
        )
    return problems


def history_sizes(raw: Mapping[str, Any] | None) -> dict[str, int]:
    """Return how many versions of each key each store with a history keeps, from a
    valid setting."""
    return {
        name: options["HISTORY"]
        for name, options in (raw or {}).items()
        if options.get("HISTORY", 0) > 0
    }


def signalling_old_values(raw: Mapping[str, Any] | None) -> frozenset[str]:
    """Return the stores whose writes read the values they replace for the change signals."""
    return frozenset(
        name for name, options in (raw or {}).items() if options.get("SIGNAL_OLD_VALUES")
    )


def unsigned_stores(raw: Mapping[str, Any] | None) -> frozenset[str]:
    """Return the stores whose values that cannot run code are stored unsigned."""
    return frozenset(
        name for name, options in (raw or {}).items() if options.get("SIGN_VALUES") is False
    )


def local_caches(raw: Mapping[str, Any] | None) -> dict[str, LocalCacheOptions]:
    """Return the local cache options of each store that has one, from a valid setting."""
    caches = {}
    for name, options in (raw or {}).items():
        declared = options.get("LOCAL_CACHE", False)
        if declared is False:
            continue
        merged = {**LOCAL_CACHE_DEFAULTS, **(declared if isinstance(declared, dict) else {})}
        caches[name] = LocalCacheOptions(
            max_staleness=float(merged["MAX_STALENESS"]),
            max_age=float(merged["MAX_AGE"]),
            load_all_max_keys=merged["LOAD_ALL_MAX_KEYS"],
            serve_stale_on_error=float(merged["SERVE_STALE_ON_ERROR"]),
        )
    return caches
