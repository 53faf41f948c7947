"""The cache comparison: KeyValCache, Django's DatabaseCache and Django's RedisCache.

The same workload on each, in the same run: ``set`` of new keys, ``get`` of
those keys, ``get_many`` of 100 of them a call, and ``incr`` of counters. In
each round the caches take turns of CHUNK keys within a phase, in an order
that rotates from round to round; a ratio is taken per round and the report
gives the median of the rounds and their spread. Both database caches keep the
same MAX_ENTRIES (which neither reaches) and Django's default TIMEOUT, so each
pays for its own way of keeping to it: DatabaseCache counts its table on every
write, KeyValCache every CULL_CHECK_INTERVAL writes. Redis (127.0.0.1:6379, the
``redis`` package of the ``bench`` dependency group) is a reference, not a
target; without it the comparison goes on without it.
"""

from __future__ import annotations

import functools
import gc
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from django.core.cache import caches

REDIS_URL = "redis://127.0.0.1:6379/15"
MAX_ENTRIES = 100_000
CHUNK = 250
GET_MANY = 100

# alias in CACHES -> the name the report gives it
NAMES = {"keyval": "KeyValCache", "database": "DatabaseCache", "redis": "RedisCache"}
BASELINE = "DatabaseCache"
REFERENCE = "RedisCache"
# The lowest ratio of KeyValCache to DatabaseCache the project asks for, on every database.
TARGETS = {"set": 3.0, "get": 1.5, "get_many": 1.5, "incr": 1.5}


def cache_settings(table: str) -> dict[str, dict[str, Any]]:
    """The entries of CACHES the comparison uses (beside the benchmark's "default");
    DatabaseCache's table is ``table``."""
    options = {"MAX_ENTRIES": MAX_ENTRIES}
    return {
        "keyval": {
            "BACKEND": "django_keyval.cache.KeyValCache",
            "LOCATION": "bench-cache",
            "OPTIONS": options,
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": table,
            "OPTIONS": options,
        },
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    }


def _set(cache: Any, keys: Sequence[str]) -> int:
    from tests.benchmarks.runner import VALUE

    set_ = cache.set
    for key in keys:
        set_(key, VALUE)
    return len(keys)


def _get(cache: Any, keys: Sequence[str]) -> int:
    get = cache.get
    for key in keys:
        get(key)
    return len(keys)


def _get_many(cache: Any, keys: Sequence[str]) -> int:
    get_many = cache.get_many
    for start in range(0, len(keys), GET_MANY):
        get_many(keys[start : start + GET_MANY])
    return len(keys)


def _incr(cache: Any, keys: Sequence[str]) -> int:
    incr = cache.incr
    for key in keys:
        incr("n-" + key)
    return len(keys)


def _counters(cache: Any, keys: Sequence[str]) -> None:
    cache.set_many({"n-" + key: 0 for key in keys})


# name, timed run, untimed preparation of each turn
PHASES: list[tuple[str, Callable[[Any, Sequence[str]], int], Callable[[Any, Sequence[str]], Any]]]
PHASES = [
    ("set", _set, lambda cache, keys: None),
    ("get", _get, lambda cache, keys: None),
    ("get_many", _get_many, lambda cache, keys: None),
    ("incr", _incr, _counters),
]


def available() -> tuple[dict[str, Any], list[str]]:
    """Return the caches to compare, by report name, and notes on those left out."""
    chosen, notes = {}, []
    for alias, name in NAMES.items():
        cache = caches[alias]
        try:
            cache.set("probe", 1)
            cache.delete("probe")
        except Exception as exc:  # A missing package or server leaves the reference out.
            if name != REFERENCE:
                raise
            notes.append(f"{name} left out: {type(exc).__name__}: {exc}")
            continue
        chosen[name] = cache
    return chosen, notes


def run(n: int, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Run the comparison; log its table and return it for the JSON report."""
    # The runner's module needs the app registry, ready by now.
    from tests.benchmarks.runner import load_average, timed

    chosen, notes = available()
    for note in notes:
        log(note)
    names = list(chosen)
    rates: dict[str, dict[str, list[float]]] = {phase: {} for phase, _, _ in PHASES}
    for round_ in range(rounds + 1):  # Round 0 warms up and is not counted.
        keys = [f"user:{round_}:{i:06d}" for i in range(n if round_ else min(n, 500))]
        order = [names[(i + round_) % len(names)] for i in range(len(names))]
        for phase, body, prepare in PHASES:
            seconds = dict.fromkeys(order, 0.0)
            gc.collect()
            for start in range(0, len(keys), CHUNK):
                turn = keys[start : start + CHUNK]
                for name in order:
                    prepare(chosen[name], turn)
                    _, elapsed = timed(functools.partial(body, chosen[name], turn))
                    seconds[name] += elapsed
            if round_:
                for name in order:
                    rates[phase].setdefault(name, []).append(len(keys) / seconds[name])
        for cache in chosen.values():
            cache.clear()
        if round_:
            log(f"  cache round {round_}: done (load average {load_average()[0]})")
    summary = {phase: _summarize(rates[phase], names) for phase in rates}
    log("")
    log(format_table(summary, names))
    return {"caches": names, "notes": notes, "n": n, "rounds": rounds, "phases": summary}


def _summarize(rates: dict[str, list[float]], names: list[str]) -> dict[str, Any]:
    phase: dict[str, Any] = {"rates": {name: statistics.median(rates[name]) for name in names}}
    for other in (BASELINE, REFERENCE):
        if other in rates:
            ratios = [
                mine / base for mine, base in zip(rates[NAMES["keyval"]], rates[other], strict=True)
            ]
            phase[f"vs_{other}"] = {
                "median": statistics.median(ratios),
                "min": min(ratios),
                "max": max(ratios),
            }
    return phase


def format_table(summary: dict[str, Any], names: list[str]) -> str:
    header = ["phase"] + [f"{name} ops/s" for name in names] + ["x DatabaseCache", "target"]
    if REFERENCE in names:
        header.append("x RedisCache")
    rows = [header]
    for phase, figures in summary.items():
        ratio = figures[f"vs_{BASELINE}"]
        row = [phase] + [f"{figures['rates'][name]:,.0f}" for name in names]
        row.append(f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})")
        target = TARGETS[phase]
        row.append(f">= {target:g} {'ok' if ratio['median'] >= target else 'MISSED'}")
        if REFERENCE in names:
            row.append(f"{figures[f'vs_{REFERENCE}']['median']:.2f}")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["KeyValCache vs Django's caches (medians of the rounds; ratio min-max)"]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(lines)
