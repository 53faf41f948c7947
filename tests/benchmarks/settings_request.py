"""The "settings request": 20 reads of a 100-key store, as a page reads its settings.

Three ways, timed in turns in the same run: django_keyval with a local cache
(MAX_STALENESS 0: each request is a snapshot that validates once), the same
20 gets without one, and raw DB-API code running 20 gets.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_keyval import KeyVal

if TYPE_CHECKING:
    from tests.benchmarks.systems import RawSystem

CACHED_STORE = "bench-settings"
# The same with MAX_STALENESS = 1 second: requests within it run no query at all.
STALE_STORE = "bench-settings-1s"
PLAIN_STORE = "bench-settings-plain"
RAW_STORE = "raw-settings"
STORE_KEYS = 100
READS = 20
REQUESTS_PER_TURN = 200
TARGET = 8.0

# What a settings store holds: short strings, numbers, flags, now and then a dict.
VALUES: list[Any] = [
    "https://example.com/",
    42,
    True,
    {"title": "Welcome", "limit": 20},
    0.25,
    "Europe/Paris",
]


def keyval_settings() -> dict[str, Any]:
    """The KEYVAL setting of the benchmark: the settings stores have local caches."""
    return {
        "STORES": {
            CACHED_STORE: {"LOCAL_CACHE": True},
            STALE_STORE: {"LOCAL_CACHE": {"MAX_STALENESS": 1}},
        }
    }


def _fill(raw: RawSystem) -> list[str]:
    keys = [f"setting.{i:03d}" for i in range(STORE_KEYS)]
    mapping = {key: VALUES[i % len(VALUES)] for i, key in enumerate(keys)}
    for store in (CACHED_STORE, STALE_STORE, PLAIN_STORE):
        KeyVal(store).flush()
        KeyVal(store).set_many(mapping)
    saved = raw.store
    raw.store = RAW_STORE
    try:
        raw.cursor.execute(raw.clear_sql, (RAW_STORE,))
        for key, value in mapping.items():
            raw.set(key, value)
    finally:
        raw.store = saved
    # The keys a page reads: 20 of the 100, spread over the store.
    return keys[:: STORE_KEYS // READS][:READS]


def _requests(raw: RawSystem, read: Sequence[str]) -> dict[str, Callable[[], int]]:
    cached, stale, plain = KeyVal(CACHED_STORE), KeyVal(STALE_STORE), KeyVal(PLAIN_STORE)
    snapshot = KeyVal.snapshot
    cursor, get_sql = raw.cursor, raw.get_sql

    def with_cache() -> int:
        for _ in range(REQUESTS_PER_TURN):
            with snapshot():
                for key in read:
                    cached.get(key)
        return REQUESTS_PER_TURN

    def with_cache_1s() -> int:
        for _ in range(REQUESTS_PER_TURN):
            with snapshot():
                for key in read:
                    stale.get(key)
        return REQUESTS_PER_TURN

    def without_cache() -> int:
        for _ in range(REQUESTS_PER_TURN):
            with snapshot():
                for key in read:
                    plain.get(key)
        return REQUESTS_PER_TURN

    def raw_gets() -> int:
        import pickle

        for _ in range(REQUESTS_PER_TURN):
            for key in read:
                cursor.execute(get_sql, (RAW_STORE, key))
                payload, expires_at = cursor.fetchone()
                if expires_at is None or expires_at > time.time():
                    pickle.loads(payload)
        return REQUESTS_PER_TURN

    return {
        "cached": with_cache,
        "cached, T=1s": with_cache_1s,
        "uncached": without_cache,
        "raw DB-API": raw_gets,
    }


def _queries(run: Callable[[], Any]) -> float:
    with CaptureQueriesContext(connection) as captured:
        requests = run()
    return len(captured.captured_queries) / requests


def run(raw: RawSystem, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Time the settings request ``rounds`` times each way; return rates and ratios."""
    # Imported here: configure() imports this module before Django is set up.
    from tests.benchmarks.runner import timed

    read = _fill(raw)
    contenders = _requests(raw, read)
    for request in contenders.values():
        request()  # Warm up (and load the cached store).
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(rounds * 5):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            count, seconds = timed(contenders[name])
            rates[name].append(count / seconds)
    ratios = {
        name: [mine / base for mine, base in zip(rates[name], rates["raw DB-API"], strict=True)]
        for name in names
    }
    queries = {name: _queries(contenders[name]) for name in names if name != "raw DB-API"}
    queries["raw DB-API"] = float(READS)
    report = {
        name: {
            "median_rate": round(statistics.median(rates[name]), 1),
            "median_ratio": round(statistics.median(ratios[name]), 3),
            "min_ratio": round(min(ratios[name]), 3),
            "max_ratio": round(max(ratios[name]), 3),
            "queries_per_request": queries[name],
        }
        for name in names
    }
    cached_ratio = report["cached"]["median_ratio"]
    log("")
    log(f"Settings request: {READS} gets of a {STORE_KEYS}-key store, requests/s")
    for name, entry in report.items():
        log(
            f"  {name:<13} {entry['median_rate']:>10,.0f}/s  "
            f"{entry['median_ratio']:.2f}x raw ({entry['min_ratio']:.2f}-{entry['max_ratio']:.2f})"
            f"  {entry['queries_per_request']:g} queries/request"
        )
    log(f"  target: cached >= {TARGET}x raw: {'met' if cached_ratio >= TARGET else 'MISSED'}")
    return {"reads": READS, "store_keys": STORE_KEYS, "target": TARGET, "systems": report}
