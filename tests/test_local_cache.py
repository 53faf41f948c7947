"""The local cache of a store declared with LOCAL_CACHE: what it serves, and when it reads again."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_keyval import KeyVal, localcache
from django_keyval.localcache import copies
from django_keyval.models import Entry, Generation
from django_keyval.sql.generations import Generations
from django_keyval.transfer import export_lines, header_line, import_lines

pytestmark = pytest.mark.django_db(transaction=True)

STORE = "cached"


def declare(settings: Any, **options: Any) -> None:
    """Give the store "cached" a local cache with ``options`` (the defaults for none)."""
    settings.KEYVAL = {"STORES": {STORE: {"LOCAL_CACHE": options or True}}}


def move_clock_on(monkeypatch: pytest.MonkeyPatch, clock: str, seconds: float) -> None:
    """Make ``time.<clock>`` read ``seconds`` later, without waiting (a busy machine can't
    make a test that waits for a short deadline miss it)."""
    real = getattr(time, clock)
    monkeypatch.setattr(time, clock, lambda: real() + seconds)


@pytest.fixture
def cached(settings: Any) -> KeyVal:
    declare(settings)
    return KeyVal(STORE)


def count_queries(call: Callable[[], Any]) -> tuple[int, Any]:
    """Return how many queries ``call()`` ran on the default database, and its result."""
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured.captured_queries), result


# What the cache serves


def test_reads_through_the_cache_see_the_stored_values(cached):
    cached.set_many({"a": 1, "b": [1, 2]})
    with KeyVal.snapshot():
        assert cached.get("a") == 1
        assert cached["b"] == [1, 2]
        assert cached.get_default("missing", 5) == 5
        assert cached.get_many(["a", "b", "missing"]) == {"a": 1, "b": [1, 2]}
        assert cached.exists("a")
        assert "b" in cached
        assert "missing" not in cached
        assert cached.ttl("a") is None
        with pytest.raises(KeyError):
            cached.get("missing")
        with pytest.raises(KeyError):
            cached.ttl("missing")


def test_mutable_values_are_fresh_objects_on_every_read(cached):
    cached.set("list", [1])
    with KeyVal.snapshot():
        cached.get("list").append(2)
        assert cached.get("list") == [1]


# Query budgets


def test_fifty_reads_in_a_snapshot_cost_one_validation_and_one_refill(cached):
    cached.set_many({f"k{i}": i for i in range(20)})

    def fifty_reads() -> list[Any]:
        with KeyVal.snapshot():
            return [cached.get_default(f"k{i % 25}") for i in range(50)]

    queries, values = count_queries(fifty_reads)
    assert queries == 2
    assert values[:25] == [*range(20), None, None, None, None, None]
    # The next snapshot validates; nothing changed, so nothing is read again.
    assert count_queries(fifty_reads)[0] == 1


@pytest.fixture
def persistent_connections() -> Iterator[None]:
    """Keep the connection between requests, as CONN_MAX_AGE does: the statements
    that open a connection (MySQL's) are not the cache's."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_a_request_is_a_snapshot(cached, persistent_connections):
    cached.set_many({"a": 1, "b": 2})

    def request() -> list[Any]:
        request_started.send(sender=None)
        try:
            return [cached.get("a") + cached.get("b") for _ in range(25)]
        finally:
            request_finished.send(sender=None)

    assert count_queries(request)[0] == 2
    assert count_queries(request)[0] == 1


def test_outside_a_snapshot_every_read_validates_without_a_refill(cached):
    cached.set("a", 1)
    assert count_queries(lambda: cached.get("a"))[0] == 2
    assert count_queries(lambda: cached.get("a"))[0] == 1
    assert count_queries(lambda: cached.get_default("missing"))[0] == 1


def test_reads_within_max_staleness_cost_no_query(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set_many({"a": 1, "b": 2})
    kv.get("a")
    queries, _ = count_queries(lambda: [kv.get_default(k) for k in ["a", "b", "x"] * 20])
    assert queries == 0


def test_misses_are_cached(cached):
    cached.set("a", 1)
    with KeyVal.snapshot():
        cached.get_default("a")
        assert count_queries(lambda: cached.get_default("missing"))[0] == 0
        assert count_queries(lambda: cached.exists("missing"))[0] == 0


def test_a_big_store_is_cached_key_by_key(settings):
    declare(settings, LOAD_ALL_MAX_KEYS=3)
    kv = KeyVal(STORE)
    kv.set_many({f"k{i}": i for i in range(5)})
    with KeyVal.snapshot():
        # Validation, the load that finds the store too big, then the key.
        assert count_queries(lambda: kv.get("k1"))[0] == 3
        assert count_queries(lambda: kv.get("k1"))[0] == 0
        assert count_queries(lambda: kv.get_default("missing"))[0] == 1
        assert count_queries(lambda: kv.get_default("missing"))[0] == 0
        assert count_queries(lambda: kv.get_many(["k1", "k2", "k3"]))[0] == 1
        assert count_queries(lambda: kv.get_many(["k1", "k2", "k3"]))[1] == {
            "k1": 1,
            "k2": 2,
            "k3": 3,
        }


def test_without_load_all_every_store_is_cached_key_by_key(settings):
    declare(settings, LOAD_ALL_MAX_KEYS=0)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    with KeyVal.snapshot():
        assert count_queries(lambda: kv.get("a"))[0] == 2
        assert count_queries(lambda: kv.get("a"))[0] == 0


def test_uncached_stores_make_their_usual_queries(cached):
    plain = KeyVal("plain")
    assert (
        count_queries(lambda: plain.set("a", 1))[0] == count_queries(lambda: plain.set("a", 2))[0]
    )
    with KeyVal.snapshot():
        assert count_queries(lambda: plain.get("a"))[0] == 1
        assert count_queries(lambda: plain.get("a"))[0] == 1
    assert not Generation.objects.filter(store="plain").exists()


# Expiry


def test_an_entry_expires_in_the_copy(cached, monkeypatch):
    cached.set("short", 1, ttl=60)
    with KeyVal.snapshot():
        assert cached.get("short") == 1
        move_clock_on(monkeypatch, "time", 61)
        assert count_queries(lambda: cached.get_default("short"))[0] == 0
        assert cached.get_default("short") is None
        assert not cached.exists("short")


# Read-your-writes


@pytest.mark.parametrize(
    "write",
    [
        lambda kv: kv.set("a", 2),
        lambda kv: kv.set_many({"a": 2}),
        lambda kv: kv.incr("a"),
        lambda kv: kv.modify("a", lambda old: old + 1),
        lambda kv: kv.delete("a") and kv.add("a", 2),
        lambda kv: kv.pop("a") and kv.set("a", 2),
        lambda kv: kv.delete_many(["a"]) and kv.set("a", 2),
        lambda kv: kv.delete_prefix("a") and kv.set("a", 2),
        lambda kv: kv.flush() or kv.set("a", 2),
        lambda kv: KeyVal.flush_all() or kv.set("a", 2),
    ],
)
def test_the_writing_process_reads_its_write_at_once(settings, write):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    with KeyVal.snapshot():
        assert kv.get("a") == 1
        write(kv)
        assert kv.get("a") == 2
    assert kv.get("a") == 2


def test_every_write_path_bumps_the_generation(cached):
    def generation() -> int:
        return Generation.objects.get(store=STORE).generation

    cached.set("a", 1)
    writes = [
        lambda: cached.set("a", 2),
        lambda: cached.add("b", 1),
        lambda: cached.touch("a", 10),
        lambda: cached.incr("n"),
        lambda: cached.decr("n"),
        lambda: cached.modify("a", lambda old: old),
        lambda: cached.pop("b"),
        lambda: cached.delete("a"),
        lambda: cached.set_many({"a": 1, "b": 2}),
        lambda: cached.delete_many(["a"]),
        lambda: cached.delete_prefix("b"),
        lambda: cached.get_or_set("c", 1),
        lambda: cached.flush(),
        lambda: KeyVal.flush_all(),
        lambda: localcache.touch_store(STORE),
    ]
    seen = {generation()}
    for write in writes:
        write()
        seen.add(generation())
    assert len(seen) == len(writes) + 1


def test_a_write_to_the_store_elsewhere_in_this_process_drops_other_scopes(cached):
    cached.set("a", 1)
    with KeyVal.snapshot():
        assert cached.get("a") == 1

        def write() -> None:
            KeyVal(STORE).set("a", 2)
            connection.close()

        other = threading.Thread(target=write)
        other.start()
        other.join()
        assert cached.get("a") == 2


# Writes that bypass the app


def test_an_out_of_band_write_is_seen_after_touch(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    assert kv.get("a") == 1
    Entry.objects.filter(store=STORE, key="a").update(expires_at=time.time() - 1)
    assert kv.get_default("a") == 1
    localcache.touch_store(STORE)
    assert kv.get_default("a") is None


def test_an_out_of_band_write_is_seen_after_max_age(settings, monkeypatch):
    declare(settings, MAX_STALENESS=600, MAX_AGE=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    assert kv.get("a") == 1
    Entry.objects.filter(store=STORE, key="a").update(expires_at=time.time() - 1)
    assert kv.get_default("a") == 1
    move_clock_on(monkeypatch, "monotonic", 61)
    assert kv.get_default("a") is None


def test_touch_command_bumps_and_drops(settings):
    from django.core.management import call_command

    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    kv.get("a")
    Entry.objects.filter(store=STORE, key="a").update(expires_at=time.time() - 1)
    before = Generation.objects.get(store=STORE).generation
    call_command("keyval", "touch", STORE, "--database", "default", verbosity=0)
    assert Generation.objects.get(store=STORE).generation != before
    assert kv.get_default("a") is None


# Transactions


def test_inside_a_transaction_reads_see_its_own_writes(cached):
    cached.set("a", 1)
    with transaction.atomic():
        cached.set("a", 2)
        assert cached.get("a") == 2
        assert cached.get_many(["a"]) == {"a": 2}
    assert cached.get("a") == 2


def test_a_rollback_publishes_nothing(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    assert kv.get("a") == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        kv.set("a", 2)
        assert kv.get("a") == 2
        raise RuntimeError
    assert kv.get("a") == 1
    # Nor is the value read inside it kept: the next read is served from a copy at 1.
    assert count_queries(lambda: kv.get("a")) == (0, 1)


def test_a_savepoint_rollback_publishes_nothing(cached):
    cached.set("a", 1)
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            cached.set("a", 2)
            raise RuntimeError
        assert cached.get("a") == 1
    assert cached.get("a") == 1


def test_a_transaction_that_did_not_write_the_store_reads_the_copy(cached):
    cached.set("a", 1)
    with KeyVal.snapshot():
        cached.get("a")
        with transaction.atomic():
            assert count_queries(lambda: cached.get("a")) == (0, 1)


def test_the_atomic_operations_go_to_the_database(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set_many({"n": 1, "p": "x"})
    kv.get("n")
    Entry.objects.filter(store=STORE, key="n").update(
        value=Entry.objects.get(store=STORE, key="n").value
    )
    assert count_queries(lambda: kv.incr("n"))[0] >= 2
    assert kv.get("n") == 2
    assert kv.add("n", 5) is False
    assert kv.set("n", 3) is False
    assert kv.pop("p") == "x"


# Failures


def test_a_failed_validation_raises_by_default(cached, monkeypatch):
    cached.set("a", 1)
    cached.get("a")

    def fail(*args: Any) -> None:
        raise DatabaseError("down")

    monkeypatch.setattr(Generations, "read", fail)
    with pytest.raises(DatabaseError):
        cached.get("a")


def test_serve_stale_on_error_serves_the_copy_for_a_while_and_logs_once(
    settings, monkeypatch, caplog
):
    declare(settings, SERVE_STALE_ON_ERROR=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    kv.get("a")

    def fail(*args: Any) -> None:
        raise DatabaseError("down")

    monkeypatch.setattr(Generations, "read", fail)
    with caplog.at_level(logging.WARNING, logger="django_keyval.localcache"):
        assert kv.get("a") == 1
        assert kv.get("a") == 1
    assert len(caplog.records) == 1
    move_clock_on(monkeypatch, "monotonic", 61)
    with pytest.raises(DatabaseError):
        kv.get("a")


# Threads, async, settings


def test_concurrent_refills_in_one_process_happen_once(settings, monkeypatch):
    declare(settings, MAX_STALENESS=60)
    KeyVal(STORE).set("a", 1)
    loads = []
    real_load = copies._load

    def counting_load(*args: Any) -> Any:
        loads.append(1)
        time.sleep(0.1)
        return real_load(*args)

    monkeypatch.setattr(copies, "_load", counting_load)
    barrier = threading.Barrier(4)
    results = []

    def reader() -> None:
        barrier.wait()
        results.append(KeyVal(STORE).get("a"))
        connection.close()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1, 1, 1, 1]
    assert loads == [1]


def test_async_twins_read_through_the_cache(cached, monkeypatch):
    cached.set_many({"a": 1, "b": 2})
    # The sync twins run in another thread, on its own connection: count the statements.
    calls: list[str] = []
    for name in ("read", "load"):
        real = getattr(Generations, name)
        monkeypatch.setattr(
            Generations, name, lambda *args, real=real, name=name: calls.append(name) or real(*args)
        )

    async def request() -> list[Any]:
        async with KeyVal.asnapshot():
            values = [await cached.aget("a"), await cached.aget_many(["b"])]
            values += [await cached.aexists("c"), await cached.attl("a")]
        await sync_to_async(connections.close_all, thread_sensitive=True)()
        return values

    assert asyncio.run(request()) == [1, {"b": 2}, False, None]
    assert calls == ["read", "load"]
    asyncio.run(request())
    assert calls == ["read", "load", "read"]


def test_override_settings_clears_the_copies(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    kv.get("a")
    Entry.objects.filter(store=STORE, key="a").update(expires_at=time.time() - 1)
    declare(settings, MAX_STALENESS=30)
    assert kv.get_default("a") is None


def test_clear_forces_a_refill(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    kv.get("a")
    Entry.objects.filter(store=STORE, key="a").update(expires_at=time.time() - 1)
    localcache.clear()
    assert kv.get_default("a") is None


# The other writers: import and the admin


def test_an_import_bumps_the_cached_stores_it_writes(settings):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    lines = [header_line(), *(line for line, _ in export_lines([STORE]))]
    kv.set("a", 2)
    assert kv.get("a") == 2
    import_lines(line.encode() for line in lines)
    assert kv.get("a") == 1


def test_admin_deletes_bump_the_cached_stores(settings, admin_client):
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set_many({"a": 1, "b": 2})
    assert kv.get("a") == 1
    before = Generation.objects.get(store=STORE).generation
    pk = Entry.objects.get(store=STORE, key="a").pk
    data = {"action": "delete_selected", "_selected_action": [str(pk)], "post": "yes"}
    admin_client.post(reverse("admin:django_keyval_entry_changelist"), data)
    assert Generation.objects.get(store=STORE).generation != before
    assert kv.get_default("a") is None
    assert kv.get("b") == 2


# Routing


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_validation_and_refills_read_the_write_database(settings):
    # "other" plays a replica that lags behind forever: it never gets the writes.
    settings.DATABASE_ROUTERS = ["tests.test_routing.ReplicaRouter"]
    declare(settings, MAX_STALENESS=60)
    kv = KeyVal(STORE)
    kv.set("a", 1)
    assert KeyVal(STORE, using="other").get_default("a") is None
    assert kv.get("a") == 1
    kv.set("a", 2)
    assert kv.get("a") == 2
    with CaptureQueriesContext(connections["other"]) as on_replica:
        localcache.clear()
        assert kv.get("a") == 2
    assert on_replica.captured_queries == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's prepared statements")
def test_postgresql_prepares_the_validation_when_the_project_enables_it(cached):
    from django_keyval.sql import cursors

    cached.set("a", 1)
    dbapi_connection = connection.connection
    previous, dbapi_connection.prepare_threshold = dbapi_connection.prepare_threshold, 0
    delattr(connection, cursors._ATTRIBUTE)
    try:
        assert cached.get("a") == 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [statement for (statement,) in cursor.fetchall()]
        assert any('"generation" FROM' in statement for statement in prepared), prepared
    finally:
        dbapi_connection.prepare_threshold = previous
        delattr(connection, cursors._ATTRIBUTE)


def test_a_request_inside_a_snapshot_gives_the_snapshot_back(cached, persistent_connections):
    cached.set("a", 1)
    with KeyVal.snapshot():
        cached.get("a")
        request_started.send(sender=None)
        request_finished.send(sender=None)
        assert count_queries(lambda: cached.get("a")) == (0, 1)
