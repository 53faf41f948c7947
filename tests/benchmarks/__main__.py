"""python -m tests.benchmarks --db sqlite|postgres|mysql [--n N] [--rounds R] [--scale]."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from typing import Any

import django
from django.conf import settings

from tests.benchmarks import pinning
from tests.benchmarks.databases import DATABASES, Database


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description="Compare django_keyval with raw DB-API code and Django's DatabaseCache, "
        "and KeyValCache with Django's DatabaseCache and RedisCache.",
    )
    parser.add_argument("--db", choices=sorted(DATABASES), default="sqlite")
    parser.add_argument("--n", type=int, default=5000, help="keys per round (default 5000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument(
        "--big-gets", type=int, default=None, help="1 MiB gets per round (default n/100)"
    )
    parser.add_argument("--json", help="where to write the results (default: a temp file)")
    parser.add_argument(
        "--no-prepare",
        action="store_true",
        help="PostgreSQL: leave Django's default of no prepared statements "
        "(raw psycopg code still prepares its statements, as it does by default)",
    )
    parser.add_argument(
        "--pin",
        choices=pinning.MODES,
        default="split",
        help="where the benchmark and the server's threads for its connections run: "
        "split (this process on one CPU, the server threads on another; the default), "
        "shared (all on one CPU) or none (see tests/benchmarks/pinning.py)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="instead: gets, iteration, flush and purge on a store of --scale-keys keys",
    )
    parser.add_argument("--scale-keys", type=int, default=1_000_000)
    parser.add_argument(
        "--settings-request",
        action="store_true",
        help="instead: only the settings request (20 gets of a 100-key store), with and "
        "without a local cache and as raw DB-API code",
    )
    parser.add_argument(
        "--profile",
        metavar="PHASE",
        help="instead: profile django_keyval in one phase (get_hit, set_new, ...) with "
        "pyinstrument and print where the time goes",
    )
    args = parser.parse_args(argv)
    if args.n < 100 or args.rounds < 1:
        parser.error("--n must be at least 100 and --rounds at least 1")
    if args.big_gets is None:
        args.big_gets = max(10, args.n // 100)
    return args


# Django's DatabaseCache keeps its entries here, beside django_keyval's table.
CACHE_TABLE = "keyval_bench_cache"


def configure(database: Database) -> None:
    from tests.benchmarks.caches import cache_settings
    from tests.benchmarks.settings_request import keyval_settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-keyval-benchmark-not-secret",
        USE_TZ=True,
        INSTALLED_APPS=["django_keyval"],
        DATABASES={"default": database.django_settings()},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        # The stores of the settings request have local caches.
        KEYVAL=keyval_settings(),
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": CACHE_TABLE,
                "TIMEOUT": None,
                "OPTIONS": {"MAX_ENTRIES": 10**9},
            },
            # The cache comparison (tests/benchmarks/caches.py).
            **cache_settings(CACHE_TABLE),
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "django_keyval", verbosity=0)
    call_command("createcachetable", verbosity=0)


def log(message: str) -> None:
    print(message, flush=True)


def machine(database: Database, raw_connection: Any) -> dict[str, Any]:
    from tests.benchmarks.runner import load_average

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": database.describe(raw_connection),
        "django_database_options": database.django_settings().get("OPTIONS", {}),
        "load_average_at_start": load_average(),
    }


def benchmark(args: argparse.Namespace, database: Database) -> dict[str, Any]:
    from django.db import connection

    from tests.benchmarks.plain import PlainTableSystem
    from tests.benchmarks.systems import CacheSystem, KeyValSystem, RawSystem

    raw = RawSystem(database)
    # On raw code's connection: the pinning below covers it.
    plain = PlainTableSystem(database, raw.connection)
    kv = KeyValSystem()
    systems = [raw, plain, kv, CacheSystem()]
    info = machine(database, raw.connection)
    log(f"{info['database']}; Python {info['python']}, Django {info['django']}")
    log(f"Django's OPTIONS: {info['django_database_options']}")
    log(f"{info['cpus']} CPUs, load average {info['load_average_at_start']}")
    connection.ensure_connection()
    server_threads = [database.server_thread(c) for c in (raw.connection, connection.connection)]
    info["pinning"], unpin = pinning.pin(args.pin, server_threads)
    log(f"CPUs: {info['pinning']}")
    try:
        return run_benchmark(args, database, raw, kv, systems, info)
    finally:
        unpin()


def run_benchmark(
    args: argparse.Namespace,
    database: Database,
    raw: Any,
    kv: Any,
    systems: list[Any],
    info: dict[str, Any],
) -> dict[str, Any]:
    from django.db import connection

    from django_keyval.models import Entry
    from tests.benchmarks import caches, plain, runner, scale, settings_request

    if args.settings_request:
        info["load_average_at_end"] = runner.load_average()
        return {
            "benchmark": "settings request: local cache vs uncached vs raw DB-API",
            "command": "python -m tests.benchmarks " + " ".join(sys.argv[1:]),
            "machine": info,
            "settings_request": settings_request.run(raw, args.rounds, log),
        }
    big = os.urandom(runner.MIB)
    for system in systems:
        system.clear()
        for kind in ("bytes", "pickle"):
            system.set_big(kind, big)
    runner.check_systems(systems, big)

    log(f"warming up, then {args.rounds} rounds of {args.n} keys per phase and system")
    runner.run_round(systems, 0, min(args.n, 1000), 5, None, log)
    # The planner's statistics as a live server keeps them (autovacuum), taken
    # while the stores hold n keys: with those of fresh, empty tables,
    # PostgreSQL's generic plans (of raw code's prepared statements) read a
    # whole store for each get_many(). (DatabaseCache's table is keyed by its
    # primary key alone, and is not prepared.)
    keys, prepared = runner.keys_for(0, args.n), systems[:3]
    for system in prepared:
        runner.fill(system, keys)
    database.analyze(raw.connection, [Entry._meta.db_table, CACHE_TABLE, plain.TABLE])
    for system in prepared:
        runner.empty(system, keys)
    if args.profile:
        scale.profile(kv, args.profile, args.n, args.big_gets)
        return {}
    results = runner.Results()
    started = time.monotonic()
    for round_ in range(1, args.rounds + 1):
        runner.run_round(systems, round_, args.n, args.big_gets, results, log)
    elapsed = time.monotonic() - started

    queries = {system.name: runner.count_queries(system) for system in systems[2:]}
    queries[raw.name] = runner.raw_statements()
    queries[systems[1].name] = runner.raw_statements(whole_iteration=True)
    target_set = connection.vendor
    if target_set == "postgresql" and not database.prepared:
        target_set = "postgresql_defaults"
    summary = runner.summarize(results, target_set, systems)
    log("")
    log(runner.format_table(summary, queries, systems))
    log("")
    log("Rates are medians of the rounds; each ratio is the median of per-round ratios")
    log("(min-max over the rounds). Queries per call as Django's debug cursor counts them.")
    request = settings_request.run(raw, args.rounds, log)
    log("")
    log("The cache comparison: the same workload on KeyValCache, DatabaseCache, RedisCache")
    cache_comparison = caches.run(args.n, args.rounds, log)
    plans = scale.query_plans("bench", ["user:1:000001"])
    if connection.vendor == "postgresql":
        log("")
        log(scale.format_plans(plans))
    info["load_average_at_end"] = runner.load_average()
    return {
        "benchmark": "django_keyval vs raw DB-API vs DatabaseCache",
        "command": "python -m tests.benchmarks " + " ".join(sys.argv[1:]),
        "n": args.n,
        "rounds": args.rounds,
        "big_gets": args.big_gets,
        "seconds": round(elapsed, 1),
        "machine": info,
        "phases": summary,
        "queries_per_call": queries,
        "settings_request": request,
        "caches": cache_comparison,
        "query_plans": plans,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database = DATABASES[args.db]()
    database.prepared = not args.no_prepare
    database.create()
    try:
        configure(database)
        if args.scale:
            from tests.benchmarks import scale

            report = scale.run(database, args.scale_keys, log)
        else:
            report = benchmark(args, database)
    finally:
        if settings.configured:
            from django.db import connections

            connections.close_all()
        database.drop()
    if report:
        path = args.json or os.path.join(
            tempfile.gettempdir(),
            f"keyval-benchmark-{database.vendor}{'-scale' if args.scale else ''}.json",
        )
        with open(path, "w") as file:
            json.dump(report, file, indent=2)
        log(f"\nResults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
