"""Time each phase on every system, round after round, and compare with raw DB-API code.

A round runs every phase once; within a phase the systems take turns of 500
keys each (in an order that rotates from round to round), so drift of the
machine's speed hits all of them alike. A ratio is taken per round, and the
report gives the median of the rounds and their spread.
"""

from __future__ import annotations

import functools
import gc
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_keyval.sql.base import KEYS_PAGE
from tests.benchmarks.plain import PlainTableSystem
from tests.benchmarks.systems import KeyValSystem, RawSystem, System

MIB = 1024 * 1024
GET_MANY = 100

# Pickled, this is about 95 bytes.
VALUE = {"id": 12345, "name": "user-12345", "email": "u12345@example.com", "active": True}
VALUE_2 = {**VALUE, "active": False}


@dataclass(frozen=True)
class Phase:
    name: str
    label: str
    unit: str
    run: Callable[[System, Sequence[str], Any], int]
    # The lowest ratio to raw DB-API code that the issue asks of django_keyval, per vendor.
    targets: dict[str, float] = field(default_factory=dict)

    def applies_to(self, system: System) -> bool:
        return system.supports_iteration or self.name != "iter_keys"


def _set_new(system: System, keys: Sequence[str], _: Any) -> int:
    set_ = system.set
    for key in keys:
        set_(key, VALUE)
    return len(keys)


def _overwrite(system: System, keys: Sequence[str], _: Any) -> int:
    set_ = system.set
    for key in keys:
        set_(key, VALUE_2)
    return len(keys)


def _get_hit(system: System, keys: Sequence[str], _: Any) -> int:
    get = system.get
    for key in keys:
        get(key)
    return len(keys)


def _get_miss(system: System, keys: Sequence[str], _: Any) -> int:
    get = system.get
    for key in keys:
        get("missing-" + key)
    return len(keys)


def _exists(system: System, keys: Sequence[str], _: Any) -> int:
    exists = system.exists
    for key in keys:
        exists(key)
    return len(keys)


def _get_many(system: System, keys: Sequence[str], _: Any) -> int:
    get_many = system.get_many
    for start in range(0, len(keys), GET_MANY):
        get_many(keys[start : start + GET_MANY])
    return len(keys)


def _iter_keys(system: System, keys: Sequence[str], _: Any) -> int:
    count = 0
    for _key in system.iter_keys():
        count += 1
    return count


def _delete(system: System, keys: Sequence[str], _: Any) -> int:
    delete = system.delete
    for key in keys:
        delete(key)
    return len(keys)


def _big(kind: str) -> Callable[[System, Sequence[str], Any], int]:
    def run(system: System, keys: Sequence[str], count: Any) -> int:
        get_big = system.get_big
        for _ in range(count):
            get_big(kind)
        return int(count)

    return run


# The lowest ratios to the plain table that django_keyval aims at, per database
# ("postgresql_defaults": Django's default OPTIONS, benchmark --no-prepare).
SINGLE = {"sqlite": 0.6, "postgresql": 0.8, "postgresql_defaults": 0.7, "mysql": 0.85}
BULK = {"sqlite": 0.8, "postgresql": 0.7, "postgresql_defaults": 0.7, "mysql": 0.8}
BIG = {"sqlite": 0.7, "postgresql": 0.7, "postgresql_defaults": 0.7, "mysql": 0.7}
PHASES = [
    Phase("set_new", "set, new key", "ops/s", _set_new, SINGLE),
    Phase("overwrite", "set, overwrite", "ops/s", _overwrite, SINGLE),
    Phase("get_hit", "get, hit", "ops/s", _get_hit, SINGLE),
    Phase("get_miss", "get, miss", "ops/s", _get_miss, SINGLE),
    Phase("exists", "exists", "ops/s", _exists, SINGLE),
    Phase("get_many", f"get_many ({GET_MANY} keys)", "keys/s", _get_many, BULK),
    Phase("iter_keys", "iterate keys", "keys/s", _iter_keys, {"sqlite": 0.8, "mysql": 0.8}),
    Phase("delete", "delete", "ops/s", _delete, SINGLE),
    Phase("big_bytes", "1 MiB get, bytes", "ops/s", _big("bytes"), BIG),
    Phase(
        "big_pickle", "1 MiB get, signed pickle", "ops/s", _big("pickle"), {**BIG, "sqlite": 0.5}
    ),
]


def fill(system: System, keys: Sequence[str]) -> None:
    _set_new(system, keys, None)


def empty(system: System, keys: Sequence[str]) -> None:
    _delete(system, keys, None)


def keys_for(round_: int, n: int) -> list[str]:
    return [f"user:{round_}:{i:06d}" for i in range(n)]


def timed(run: Callable[[], int]) -> tuple[int, float]:
    """Return the count ``run()`` returns and the seconds it took, with the collector quiet."""
    gc.disable()
    try:
        start = time.perf_counter()
        count = run()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return count, elapsed


def load_average() -> list[float]:
    return [round(load, 2) for load in os.getloadavg()]


@dataclass
class Results:
    # rates[phase][system] = one rate per round
    rates: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, phase: str, system: str, rate: float) -> None:
        self.rates.setdefault(phase, {}).setdefault(system, []).append(rate)

    def ratios(self, phase: str, system: str, baseline: str) -> list[float]:
        rates = self.rates[phase]
        return [mine / base for mine, base in zip(rates[system], rates[baseline], strict=True)]


# Keys (or 1 MiB gets) per turn: the systems take turns this often within a
# phase, so that the drift of the machine's speed hits them alike.
CHUNK = 500
BIG_CHUNK = 5
ITERATION_TURNS = 3


def turns(phase: Phase, keys: Sequence[str], big_gets: int) -> list[tuple[Sequence[str], Any]]:
    """Return the arguments of each turn of ``phase``: the keys and the context."""
    if phase.name.startswith("big_"):
        return [(keys, min(BIG_CHUNK, big_gets - i)) for i in range(0, big_gets, BIG_CHUNK)]
    if phase.name == "iter_keys":
        return [(keys, None)] * ITERATION_TURNS
    return [(keys[i : i + CHUNK], None) for i in range(0, len(keys), CHUNK)]


def run_round(
    systems: Sequence[System],
    round_: int,
    n: int,
    big_gets: int,
    results: Results | None,
    log: Callable[[str], None],
) -> None:
    """Run every phase once, the systems taking turns within each phase."""
    keys = keys_for(round_, n)
    # Rotate who goes first, so that no system always runs right after another.
    order = [systems[(i + round_) % len(systems)] for i in range(len(systems))]
    for phase in PHASES:
        taking_part = [system for system in order if phase.applies_to(system)]
        counts = dict.fromkeys(taking_part, 0)
        seconds = dict.fromkeys(taking_part, 0.0)
        gc.collect()
        for turn_keys, context in turns(phase, keys, big_gets):
            for system in taking_part:
                count, elapsed = timed(functools.partial(phase.run, system, turn_keys, context))
                counts[system] += count
                seconds[system] += elapsed
        if results is not None:
            for system in taking_part:
                results.add(phase.name, system.name, counts[system] / seconds[system])
    if results is not None:
        log(f"  round {round_}: done (load average {load_average()[0]})")


def check_systems(systems: Sequence[System], big: bytes) -> None:
    """Fail early if a system does not do what the benchmark times."""
    for system in systems:
        system.set("check", VALUE)
        assert system.get("check") == VALUE, system.name
        assert system.get("missing-check") is None, system.name
        assert system.exists("check"), system.name
        assert system.get_many(["check", "missing"]) == {"check": VALUE}, system.name
        if system.supports_iteration:
            assert list(system.iter_keys()) == ["check"], system.name
        system.delete("check")
        assert not system.exists("check"), system.name
        for kind in ("bytes", "pickle"):
            assert system.get_big(kind) == big, system.name
    kv = next(system for system in systems if isinstance(system, KeyValSystem))
    assert kv.set("new", 1) is True
    assert kv.set("new", 2) is False
    kv.delete("new")


# Keys of the store in which queries are counted.
COUNTED_KEYS = 20


def count_queries(system: System, n: int = COUNTED_KEYS) -> dict[str, float]:
    """Return the queries per call of each operation, as Django's debug cursor counts them."""
    keys = [f"count:{i:03d}" for i in range(n)]
    counts: dict[str, float] = {}

    def measure(name: str, calls: int, run: Callable[[], Any]) -> None:
        with CaptureQueriesContext(connection) as captured:
            run()
        counts[name] = len(captured.captured_queries) / calls

    measure("set_new", n, lambda: [system.set(key, VALUE) for key in keys])
    measure("overwrite", n, lambda: [system.set(key, VALUE_2) for key in keys])
    measure("get_hit", n, lambda: [system.get(key) for key in keys])
    measure("get_miss", n, lambda: [system.get("missing-" + key) for key in keys])
    measure("exists", n, lambda: [system.exists(key) for key in keys])
    measure("get_many", 1, lambda: system.get_many(keys))
    if system.supports_iteration:
        measure("iter_keys", 1, lambda: list(system.iter_keys()))
    measure("delete", n, lambda: [system.delete(key) for key in keys])
    measure("big_bytes", 1, lambda: system.get_big("bytes"))
    measure("big_pickle", 1, lambda: system.get_big("pickle"))
    return counts


def raw_statements(n: int = COUNTED_KEYS, *, whole_iteration: bool = False) -> dict[str, float]:
    """The statements raw code runs per call in a store of ``n`` keys, by construction
    (iteration in pages of KEYS_PAGE keys, or in one statement with ``whole_iteration``)."""
    counts = dict.fromkeys((phase.name for phase in PHASES), 1.0)
    if not whole_iteration:
        counts["iter_keys"] = float(math.floor(n / KEYS_PAGE) + 1)
    return counts


def summarize(
    results: Results, target_set: str, systems: Sequence[System]
) -> dict[str, dict[str, Any]]:
    """Return, per phase, each system's median rate and its ratios to raw code on
    django_keyval's table and to the plain table; ``target_set`` picks the targets."""
    raw = _named(systems, RawSystem)
    plain = _named(systems, PlainTableSystem)
    summary: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        rates = results.rates.get(phase.name)
        if not rates:
            continue
        entry: dict[str, Any] = {
            "name": phase.name,
            "label": phase.label,
            "unit": phase.unit,
            "systems": {},
        }
        for system in systems:
            if system.name not in rates:
                continue
            ratios = results.ratios(phase.name, system.name, raw)
            plain_ratios = results.ratios(phase.name, system.name, plain)
            entry["systems"][system.name] = {
                "rates": [round(rate, 1) for rate in rates[system.name]],
                "median_rate": round(statistics.median(rates[system.name]), 1),
                "ratios": [round(ratio, 3) for ratio in ratios],
                "median_ratio": round(statistics.median(ratios), 3),
                "min_ratio": round(min(ratios), 3),
                "max_ratio": round(max(ratios), 3),
                "plain_ratios": [round(ratio, 3) for ratio in plain_ratios],
                "median_plain_ratio": round(statistics.median(plain_ratios), 3),
                "min_plain_ratio": round(min(plain_ratios), 3),
                "max_plain_ratio": round(max(plain_ratios), 3),
            }
        target = phase.targets.get(target_set)
        if target is not None:
            ratio = entry["systems"][KeyValSystem.name]["median_plain_ratio"]
            entry["target"] = target
            entry["met"] = ratio >= target
        summary[phase.name] = entry
    return summary


def _named(systems: Sequence[System], kind: type[System]) -> str:
    return next(system.name for system in systems if isinstance(system, kind))


def format_table(
    summary: dict[str, dict[str, Any]],
    queries: dict[str, dict[str, float]],
    systems: Sequence[System],
) -> str:
    """Return the summary as a plain-text table."""
    raw, plain = _named(systems, RawSystem), _named(systems, PlainTableSystem)
    others = [system.name for system in systems if system.name not in (raw, plain)]
    header = ["phase", f"{raw} rate", f"{plain} rate"]
    for name in others:
        header += [f"{name} rate", "/ raw (min-max)", "/ plain (min-max)", "queries"]
    header += ["target (/ plain)"]
    rows = [header]
    for entry in summary.values():
        systems_ = entry["systems"]
        row = [entry["label"]]
        row += [f"{systems_[name]['median_rate']:,.0f} {entry['unit']}" for name in (raw, plain)]
        for name in others:
            if name not in systems_:
                row += ["-", "-", "-", "-"]
                continue
            s = systems_[name]
            row += [
                f"{s['median_rate']:,.0f}",
                f"{s['median_ratio']:.2f}x ({s['min_ratio']:.2f}-{s['max_ratio']:.2f})",
                f"{s['median_plain_ratio']:.2f}x "
                f"({s['min_plain_ratio']:.2f}-{s['max_plain_ratio']:.2f})",
                _format_count(queries.get(name, {}).get(entry["name"])),
            ]
        if "target" in entry:
            row.append(f">= {entry['target']}x {'met' if entry['met'] else 'MISSED'}")
        else:
            row.append("-")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _format_count(count: float | None) -> str:
    if count is None:
        return "-"
    return f"{count:g}"
