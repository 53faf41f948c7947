"""Large stores: gets stay fast, iteration stays flat, flush and purge work in short batches.

Also the query plans of the statements django_keyval runs, and a profile of one
phase (``--profile``).
"""

from __future__ import annotations

import gc
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection

from django_keyval import KeyVal
from django_keyval.models import Entry
from tests.benchmarks.databases import Database
from tests.benchmarks.runner import PHASES, VALUE, keys_for, timed
from tests.benchmarks.systems import System

SMALL_STORE_KEYS = 10_000
GETS = 20_000
LOAD_CHUNK = 10_000


# Query plans


@contextmanager
def capture() -> Iterator[list[tuple[str, Any]]]:
    """Collect the (sql, params) of every statement run on the default connection."""
    seen: list[tuple[str, Any]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def explain(sql: str, params: Any) -> list[str]:
    vendor = connection.vendor
    is_select = sql.lstrip().upper().startswith("SELECT")
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            options = "(ANALYZE, BUFFERS) " if is_select else ""
            cursor.execute(f"EXPLAIN {options}{sql}", params)
            return [line for (line,) in cursor.fetchall()]
        if vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN {sql}", params)
        names = [column[0] for column in cursor.description]
        return [
            ", ".join(
                f"{name}={value}"
                for name, value in zip(names, row, strict=True)
                if value is not None
            )
            for row in cursor.fetchall()
        ]


def query_plans(store: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return the statement and plan of get, exists, set, delete, a key page, flush, purge."""
    kv, probe = KeyVal(store), "no such store"
    key = keys[len(keys) // 2]
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: kv.get(key, None),
        "exists": lambda: kv.exists(key),
        "set": lambda: kv.set(key, VALUE),
        "delete": lambda: KeyVal(probe).delete(key, ignore_keyerror=True),
        "iter_keys page": lambda: next(iter(kv.iter_keys()), None),
        "flush batch": lambda: KeyVal(probe).flush(),
        "purge_expired batch": lambda: KeyVal.purge_expired(),
    }
    plans: dict[str, dict[str, Any]] = {}
    for name, call in calls.items():
        with capture() as seen:
            call()
        if not seen:
            continue
        sql, params = seen[0]
        # Ask about the store that is there, not the probe that keeps data unchanged.
        params = [store if param == probe else param for param in params or ()]
        plans[name] = {"sql": sql, "plan": explain(sql, params)}
    return plans


def format_plans(plans: dict[str, dict[str, Any]]) -> str:
    lines = ["Query plans:"]
    for name, entry in plans.items():
        lines.append(f"  {name}: {entry['sql']}")
        lines.extend(f"      {line}" for line in entry["plan"])
    return "\n".join(lines)


# Profile


def profile(system: System, phase_name: str, n: int, big_gets: int) -> None:
    """Print where django_keyval spends its time in one phase, sampled by pyinstrument."""
    from pyinstrument import Profiler

    phase = next(phase for phase in PHASES if phase.name == phase_name)
    keys = keys_for(99, n)
    if phase.name != "set_new":
        PHASES[0].run(system, keys, None)
    profiler = Profiler(interval=0.0001)
    profiler.start()
    phase.run(system, keys, big_gets)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    system.clear()


# Scale


def load(kv: KeyVal, count: int, log: Callable[[str], None]) -> None:
    started = time.monotonic()
    for start in range(0, count, LOAD_CHUNK):
        stop = min(count, start + LOAD_CHUNK)
        kv.set_many({f"key:{i:07d}": VALUE for i in range(start, stop)})
        if stop % 200_000 == 0:
            log(f"  loaded {stop:,} keys into {kv.name!r} ({time.monotonic() - started:.0f} s)")


def get_rate(kv: KeyVal, keys: Sequence[str]) -> float:
    def run() -> int:
        get = kv.get
        for key in keys:
            get(key)
        return len(keys)

    gc.collect()
    count, seconds = timed(run)
    return count / seconds


def rss_high_water() -> tuple[Callable[[], None], Callable[[], int]] | None:
    """Return (reset, read) of the process's peak resident memory in bytes, on Linux."""

    def status(field: str) -> int:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise LookupError(field)

    def reset() -> None:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")  # Resets VmHWM to the current VmRSS.

    try:
        reset()
        status("VmHWM")
    except OSError:
        return None
    return reset, lambda: status("VmHWM") - status("VmRSS")


def iteration_memory(kv: KeyVal) -> dict[str, Any]:
    gc.collect()
    result: dict[str, Any] = {}
    hwm = rss_high_water()
    if hwm is not None:
        reset, read = hwm
        reset()
        started = time.perf_counter()
        count = sum(1 for _ in kv.iter_keys())
        result["seconds"] = round(time.perf_counter() - started, 2)
        result["rss_peak_growth_mb"] = round(read() / 1e6, 1)
    tracemalloc.start()
    count = sum(1 for _ in kv.iter_keys())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result["keys"] = count
    result["python_heap_peak_mb"] = round(peak / 1e6, 2)
    return result


class Prober(threading.Thread):
    """Writes to a store of its own on a connection of its own, timing each write."""

    def __init__(self, database: Database) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.latencies: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        from tests.benchmarks.systems import RawSystem

        raw = RawSystem(self.database)
        raw.store = "probe"
        try:
            while not self.stopping.is_set():
                started = time.perf_counter()
                raw.set("probe", VALUE)
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.005)
        finally:
            raw.close()


def batched(database: Database, work: Callable[[], Any]) -> dict[str, Any]:
    """Run ``work``, timing each statement it runs and the writes of a concurrent writer."""
    durations: list[float] = []

    def timer(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations.append(time.perf_counter() - started)

    prober = Prober(database)
    prober.start()
    time.sleep(0.2)
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        result = work()
    seconds = time.perf_counter() - started
    prober.stopping.set()
    prober.join()
    return {
        "result": result,
        "seconds": round(seconds, 2),
        "statements": len(durations),
        "longest_statement_s": round(max(durations), 4),
        "concurrent_writes": len(prober.latencies),
        "concurrent_write_longest_wait_s": round(max(prober.latencies), 4),
    }


def run(database: Database, total: int, log: Callable[[str], None]) -> dict[str, Any]:
    table = connection.ops.quote_name(Entry._meta.db_table)
    store_column = connection.ops.quote_name("store")
    small, big = KeyVal("scale-small"), KeyVal("scale-big")
    rng = random.Random(1)
    log(f"Loading {SMALL_STORE_KEYS:,} keys")
    load(small, SMALL_STORE_KEYS, log)
    small_keys = [f"key:{rng.randrange(SMALL_STORE_KEYS):07d}" for _ in range(GETS)]
    small_before = [get_rate(small, small_keys) for _ in range(3)]
    plans_small = query_plans("scale-small", small_keys)

    log(f"Loading {total:,} keys")
    load(big, total, log)
    # What autovacuum would have done by now on a live server (see --help).
    database.analyze(connection.connection, [Entry._meta.db_table])
    big_keys = [f"key:{rng.randrange(total):07d}" for _ in range(GETS)]
    # Both stores in turn, so that the machine's drift hits them alike.
    small_after: list[float] = []
    big_rates: list[float] = []
    reads = {"small": 0, "big": 0}
    for _ in range(5):
        for name, kv, keys, rates in (
            ("small", small, small_keys, small_after),
            ("big", big, big_keys, big_rates),
        ):
            before = database.disk_reads(connection.connection)
            rates.append(get_rate(kv, keys))
            if before is not None:
                reads[name] += database.disk_reads(connection.connection) - before
    plans_big = query_plans("scale-big", big_keys)
    ratios = [s / b for s, b in zip(small_after, big_rates, strict=True)]
    gets: dict[str, Any] = {
        "gets_per_sample": GETS,
        "small_store_rate": round(statistics.median(small_after)),
        "big_store_rate": round(statistics.median(big_rates)),
        "slowdown": round(statistics.median(ratios), 3),
        "slowdown_min": round(min(ratios), 3),
        "slowdown_max": round(max(ratios), 3),
        "small_store_rate_before_big_load": round(statistics.median(small_before)),
    }
    if database.disk_reads(connection.connection) is not None:
        for name, count in reads.items():
            gets[f"{name}_store_disk_reads_per_get"] = round(count / (5 * GETS), 3)
    log(f"get: {gets}")

    log(f"Iterating over {total:,} keys")
    memory = iteration_memory(big)
    log(f"iter_keys: {memory}")

    log("Copying the store for flush, and marking the original expired")
    with connection.cursor() as cursor:
        columns = ", ".join(
            connection.ops.quote_name(name)
            for name in ("key", "value", "serializer", "mac", "expires_at", "updated_at")
        )
        cursor.execute(
            f"INSERT INTO {table} ({store_column}, {columns}) "
            f"SELECT %s, {columns} FROM {table} WHERE {store_column} = %s",
            ["scale-flush", "scale-big"],
        )
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name('expires_at')} = %s "
            f"WHERE {store_column} = %s",
            [time.time() - 60, "scale-big"],
        )
    log(f"purge_expired of {total:,} expired entries")
    purge = batched(database, KeyVal.purge_expired)
    log(f"purge_expired: {purge}")
    log(f"flush of a store of {total:,} keys")
    flush = batched(database, KeyVal("scale-flush").flush)
    log(f"flush: {flush}")
    remaining = KeyVal("scale-flush").count()
    assert remaining == 0, remaining
    report = {
        "keys": total,
        "get": gets,
        "iter_keys": memory,
        "purge_expired": purge,
        "flush": flush,
        "query_plans_10k": plans_small,
        "query_plans_big": plans_big,
    }
    log("")
    log(f"Store of {SMALL_STORE_KEYS:,} keys:")
    log(format_plans(plans_small))
    log(f"Store of {total:,} keys:")
    log(format_plans(plans_big))
    return report
