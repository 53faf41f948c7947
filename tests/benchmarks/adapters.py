"""python -m tests.benchmarks.adapters --db sqlite|postgres|mysql [--n N] [--rounds R].

The minimalkv and py-key-value backends of django_keyval.contrib, against
KeyVal itself on the same values (what each adapter costs), and minimalkv's
own SQL store (``minimalkv.db.sql.SQLAlchemyStore``) on the same database (what
minimalkv users have without this app). Values are 100 random bytes (minimalkv)
or ``{"v": <60 characters>}`` (py-key-value); each phase puts or gets N fresh
keys, one call per key. Prints the median rate of the rounds, in calls per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings

from tests.benchmarks.databases import DATABASES, MYSQL, PG, SQLITE_PRAGMAS, Database


def sqlalchemy_url(database: Database) -> str:
    """Return the SQLAlchemy URL of the benchmark's database, through Django's drivers."""
    if database.vendor == "sqlite":
        return f"sqlite:///{database.django_settings()['NAME']}"
    if database.vendor == "postgresql":
        return f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{database.name}"
    user = MYSQL["user"] + (f":{MYSQL['password']}" if MYSQL["password"] else "")
    return f"mysql+mysqldb://{user}@{MYSQL['host']}:{MYSQL['port']}/{database.name}?charset=utf8mb4"


def rate(calls: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return calls / (time.perf_counter() - started)


def minimalkv_phases(database: Database, n: int) -> dict[str, Callable[[int], float]]:
    from minimalkv.db.sql import SQLAlchemyStore
    from sqlalchemy import MetaData, create_engine, event

    from django_keyval import KeyVal
    from django_keyval.contrib.minimalkv import KeyValStore

    value = os.urandom(100)
    adapter, kv = KeyValStore("bench_minimalkv"), KeyVal("bench_kv", serializer="bytes")
    engine = create_engine(sqlalchemy_url(database))
    if database.vendor == "sqlite":
        # The same pragmas (WAL, synchronous=NORMAL) as Django's connections.
        event.listen(engine, "connect", lambda dbapi, _: dbapi.executescript(SQLITE_PRAGMAS))
    metadata = MetaData()
    sql_store = SQLAlchemyStore(engine, metadata, "bench_sa")
    metadata.create_all(sql_store.bind)

    def keys(round_: int) -> list[str]:
        return [f"r{round_}k{i:06d}" for i in range(n)]

    def put(store_put: Callable[[str, bytes], Any]) -> Callable[[int], float]:
        return lambda round_: rate(n, lambda: [store_put(k, value) for k in keys(round_)])

    def get(store_get: Callable[[str], Any]) -> Callable[[int], float]:
        return lambda round_: rate(n, lambda: [store_get(k) for k in keys(round_)])

    return {
        "minimalkv put: KeyValStore": put(adapter.put),
        "minimalkv put: KeyVal.set": put(kv.set),
        "minimalkv put: SQLAlchemyStore": put(sql_store.put),
        "minimalkv get: KeyValStore": get(adapter.get),
        "minimalkv get: KeyVal.get": get(kv.get),
        "minimalkv get: SQLAlchemyStore": get(sql_store.get),
    }


def py_key_value_phases(n: int) -> dict[str, Callable[[int], float]]:
    from django_keyval import KeyVal
    from django_keyval.contrib.py_key_value import KeyValStore

    value = {"v": "x" * 60}
    adapter, kv = KeyValStore(), KeyVal("bench_kv_json", serializer="json")

    def keys(round_: int) -> list[str]:
        return [f"r{round_}k{i:06d}" for i in range(n)]

    def timed(make: Callable[[str], Any]) -> Callable[[int], float]:
        async def calls(round_: int) -> None:
            for key in keys(round_):
                await make(key)

        return lambda round_: rate(n, lambda: asyncio.run(calls(round_)))

    return {
        "py-key-value put: KeyValStore": timed(lambda k: adapter.put(k, value, collection="pkv")),
        "py-key-value put: KeyVal.aset": timed(lambda k: kv.aset(k, value)),
        "py-key-value get: KeyValStore": timed(lambda k: adapter.get(k, collection="pkv")),
        "py-key-value get: KeyVal.aget": timed(lambda k: kv.aget(k)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.adapters")
    parser.add_argument("--db", choices=sorted(DATABASES), default="sqlite")
    parser.add_argument("--n", type=int, default=2000, help="keys per phase (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    args = parser.parse_args(argv)
    database = DATABASES[args.db]()
    database.create()
    try:
        settings.configure(
            SECRET_KEY="django-keyval-benchmark-not-secret",
            USE_TZ=True,
            INSTALLED_APPS=["django_keyval"],
            DATABASES={"default": database.django_settings()},
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", "django_keyval", verbosity=0)
        phases = {**minimalkv_phases(database, args.n), **py_key_value_phases(args.n)}
        rates: dict[str, list[float]] = {name: [] for name in phases}
        for round_ in range(args.rounds + 1):  # Round 0 warms up.
            for name, phase in phases.items():
                measured = phase(round_)
                if round_:
                    rates[name].append(measured)
        print(f"{database.vendor}, {args.n} keys per phase, median of {args.rounds} rounds")
        for name, per_round in rates.items():
            print(f"{name:<36} {statistics.median(per_round):>10,.0f} calls/s")
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
