"""Locks: leases with an owner token and a fencing token, judged by the database's clock.

The tests on ``kv`` run through the sync methods (``lock()``, ``acquire()``,
``with``), then through their async twins (``alock()``, ``aacquire()``,
``async with``). They commit for real: a lock refuses to be taken inside a
transaction on its database, which is where the ordinary test transaction
would put it. The races between processes are in tests/sql/test_lock_processes.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connections, transaction

from django_keyval import KeyVal
from django_keyval.exceptions import KeyValError, LockInTransaction, LockLost, LockTimeout
from django_keyval.locks import MAX_POLL, Lease
from django_keyval.models import Lease as LeaseRow
from django_keyval.sql.cursors import cursor_for
from django_keyval.sql.leases import leases_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.twins]

# Seconds a loaded machine may take between two statements of one test.
SLACK = 2.0


def row(name: str, *, store: str = "test", using: str = "default") -> LeaseRow:
    return LeaseRow.objects.using(using).get(store=store, name=name)


def expire_lease(name: str, *, store: str = "test") -> None:
    """Make the lease ``name`` expired, as if its ttl had run out a second ago."""
    past = row(name, store=store).expires_at - 3600
    LeaseRow.objects.filter(store=store, name=name).update(expires_at=past)


# Acquiring and releasing


def test_with_runs_the_body_holding_the_lease_and_releases_it(kv):
    with kv.lock("report", ttl=30) as lease:
        assert lease.owned()
        assert lease.fence == 1
    assert not lease.owned()
    with kv.lock("report", ttl=30, blocking=False) as again:
        assert again.fence == 2


def test_acquire_and_release_without_with(kv):
    lease = kv.lock("report", ttl=30)
    assert lease.fence is None
    assert not lease.owned()
    assert lease.acquire() is True
    assert lease.owned()
    assert lease.release() is None
    assert not lease.owned()
    assert lease.fence == 1


def test_each_acquisition_gets_a_greater_fence(kv):
    fences = []
    for _ in range(5):
        lease = kv.lock("report", ttl=30)
        lease.acquire()
        fences.append(lease.fence)
        lease.release()
    assert fences == [1, 2, 3, 4, 5]


def test_a_lease_can_be_acquired_again_after_its_release(kv):
    lease = kv.lock("report", ttl=30)
    lease.acquire()
    lease.release()
    lease.acquire()
    assert (lease.fence, lease.owned()) == (2, True)
    lease.release()


def test_acquiring_a_lease_it_holds_raises_runtimeerror(kv):
    lease = kv.lock("report", ttl=30)
    lease.acquire()
    with pytest.raises(RuntimeError, match="already held"):
        lease.acquire()
    assert lease.owned()
    lease.release()


def test_locks_of_other_names_and_stores_are_independent(kv, other_kv):
    with kv.lock("a", ttl=30), kv.lock("b", ttl=30) as b, other_kv.lock("a", ttl=30) as other:
        assert (b.fence, other.fence) == (1, 1)


def test_a_lock_name_obeys_the_key_rules(kv):
    with pytest.raises(TypeError):
        kv.lock(1, ttl=30)
    with pytest.raises(KeyValError, match="lock name"):
        kv.lock("x" * 256, ttl=30)
    with pytest.raises(KeyValError, match="lock name"):
        kv.lock("a\x00b", ttl=30)
    with kv.lock("x" * 255, ttl=30), kv.lock("", ttl=30), kv.lock("ké", ttl=30):
        pass


@pytest.mark.parametrize("ttl", [0, -1, None, float("inf")])
def test_a_lock_needs_a_positive_ttl(kv, ttl):
    with pytest.raises(ValueError):
        kv.lock("report", ttl=ttl)


def test_ttl_and_timeout_take_timedeltas(kv):
    with kv.lock("report", ttl=timedelta(seconds=30), timeout=timedelta(seconds=1)) as lease:
        assert lease.owned()


@pytest.mark.parametrize("timeout", [-1, float("nan")])
def test_a_negative_timeout_raises_valueerror(kv, timeout):
    with pytest.raises(ValueError):
        kv.lock("report", ttl=30, timeout=timeout)


# Held by another owner


def test_a_held_lock_is_not_acquired_without_blocking(kv):
    with kv.lock("report", ttl=30) as holder:
        other = kv.lock("report", ttl=30, blocking=False)
        assert other.acquire() is False
        assert other.fence is None
        assert holder.owned()


def test_with_raises_locktimeout_and_skips_the_body_when_not_acquired(kv):
    ran = []
    with (
        kv.lock("report", ttl=30),
        pytest.raises(LockTimeout),
        kv.lock("report", ttl=30, blocking=False),
    ):
        ran.append(True)
    assert ran == []
    assert issubclass(LockTimeout, KeyValError)


def test_acquire_gives_up_after_its_timeout(kv):
    with kv.lock("report", ttl=30):
        started = time.monotonic()
        assert kv.lock("report", ttl=30, timeout=0.3).acquire() is False
        waited = time.monotonic() - started
    assert 0.3 <= waited < 0.3 + SLACK


def test_with_raises_locktimeout_after_its_timeout(kv):
    with kv.lock("report", ttl=30):
        started = time.monotonic()
        with (
            pytest.raises(LockTimeout, match="held by another owner"),
            kv.lock("report", ttl=30, timeout=0.2),
        ):
            pass
        assert time.monotonic() - started >= 0.2


def test_a_waiter_acquires_once_the_lease_expires(kv):
    holder = kv.lock("report", ttl=0.5)
    # Timed from before the holder's acquire: its lease then runs at least 0.5 s
    # of the wait, however late this process gets back to it.
    started = time.monotonic()
    holder.acquire()
    with kv.lock("report", ttl=30, timeout=5) as waiter:
        waited = time.monotonic() - started
        assert waiter.fence == 2
    assert 0.4 <= waited < 0.5 + MAX_POLL + SLACK


# Losing the lease


def test_release_after_expiry_raises_locklost_and_leaves_the_new_holder_alone(kv):
    old = kv.lock("report", ttl=30)
    old.acquire()
    expire_lease("report")
    new = kv.lock("report", ttl=30)
    assert new.acquire()
    before = row("report")
    with pytest.raises(LockLost):
        old.release()
    assert new.owned()
    assert row("report").expires_at == before.expires_at
    assert row("report").fence == new.fence == 2
    new.release()


def test_extend_after_expiry_raises_locklost_and_leaves_the_new_holder_alone(kv):
    old = kv.lock("report", ttl=30)
    old.acquire()
    expire_lease("report")
    new = kv.lock("report", ttl=30)
    assert new.acquire()
    before = row("report")
    with pytest.raises(LockLost):
        old.extend(600)
    assert not old.owned()
    assert new.owned()
    assert row("report").expires_at == before.expires_at
    new.release()


def test_release_of_an_expired_lease_nobody_took_raises_locklost(kv):
    lease = kv.lock("report", ttl=30)
    lease.acquire()
    expire_lease("report")
    with pytest.raises(LockLost, match="expired"):
        lease.release()
    assert issubclass(LockLost, KeyValError)


def test_release_of_a_lease_never_acquired_raises_locklost_and_changes_nothing(kv):
    holder = kv.lock("report", ttl=30)
    holder.acquire()
    before = row("report")
    with pytest.raises(LockLost, match="not held"):
        kv.lock("report", ttl=30).release()
    with pytest.raises(LockLost, match="not held"):
        kv.lock("report", ttl=30).extend(5)
    assert holder.owned()
    assert (row("report").expires_at, row("report").owner) == (before.expires_at, before.owner)
    holder.release()


@pytest.mark.sync_only
def test_a_release_by_another_owner_token_does_nothing_to_the_lease():
    holder = KeyVal("test").lock("report", ttl=30)
    holder.acquire()
    before = row("report")
    with cursor_for("default") as (ops, cursor):
        leases = leases_for(ops, cursor.db)
        assert leases.release(cursor, "test", "report", "0" * 32) is False
        assert leases.extend(cursor, "test", "report", "0" * 32, 1) is False
    after = row("report")
    assert (after.owner, after.fence, after.expires_at) == (
        before.owner,
        before.fence,
        before.expires_at,
    )
    holder.release()


def test_release_twice_raises_locklost(kv):
    lease = kv.lock("report", ttl=30)
    lease.acquire()
    lease.release()
    with pytest.raises(LockLost):
        lease.release()


def test_release_warn_only_logs_instead_of_raising(kv, caplog):
    lease = kv.lock("report", ttl=30)
    lease.acquire()
    expire_lease("report")
    with caplog.at_level(logging.WARNING, logger="django_keyval.locks"):
        assert lease.release(warn_only=True) is None
    assert "cannot release lock 'report' of store 'test': its lease expired" in caplog.text


def test_with_raises_locklost_when_the_lease_expired_under_the_body(kv):
    with pytest.raises(LockLost), kv.lock("report", ttl=30):
        expire_lease("report")


def test_with_keeps_the_bodys_exception_and_logs_a_lost_lease(kv, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="django_keyval.locks"),
        pytest.raises(ZeroDivisionError),
        kv.lock("report", ttl=30),
    ):
        expire_lease("report")
        1 / 0  # noqa: B018
    assert "its lease expired" in caplog.text


def test_with_releases_when_the_body_raises(kv):
    with pytest.raises(ZeroDivisionError), kv.lock("report", ttl=30):
        1 / 0  # noqa: B018
    with kv.lock("report", ttl=30, blocking=False) as lease:
        assert lease.fence == 2


# Extending


def test_extend_sets_the_expiry_from_now(kv):
    with kv.lock("report", ttl=1) as lease:
        lease.extend(600)
        assert 600 - SLACK < row("report").expires_at - time.time() <= 600 + SLACK
        lease.extend(timedelta(seconds=30))
        assert 30 - SLACK < row("report").expires_at - time.time() <= 30 + SLACK


def test_extend_keeps_the_lease_past_its_first_ttl(kv):
    with kv.lock("report", ttl=1) as lease:
        lease.extend(30)
        time.sleep(1.1)
        assert lease.owned()
        assert kv.lock("report", ttl=30, blocking=False).acquire() is False


@pytest.mark.parametrize("seconds", [0, -5, None])
def test_extend_needs_a_positive_number_of_seconds(kv, seconds):
    with kv.lock("report", ttl=30) as lease:
        with pytest.raises(ValueError):
            lease.extend(seconds)
        assert lease.owned()


# Lock rows are not values


def test_lock_names_are_not_keys(kv):
    with kv.lock("k", ttl=30) as lease:
        assert kv.keys() == []
        assert kv.count() == 0
        assert not kv.exists("k")
        assert kv.get("k", None) is None
        assert kv.set("k", "value") is True
        assert kv.get("k") == "value"
        assert kv.delete("k") is True
        assert lease.owned()
        assert KeyVal.stores() == []


@pytest.mark.sync_only
def test_export_leaves_locks_out():
    kv = KeyVal("test")
    kv.set("a", 1)
    with kv.lock("a", ttl=30), kv.lock("held", ttl=30):
        out = StringIO()
        call_command("keyval", "export", "-o", "-", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()[1:]]
    assert [(line["store"], line["key"]) for line in lines] == [("test", "a")]


def test_flush_flush_all_and_purge_expired_leave_leases_alone(kv, api):
    with kv.lock("held", ttl=30) as held:
        expired = kv.lock("expired", ttl=30)
        expired.acquire()
        expire_lease("expired")
        kv.set("k", 1, ttl=0.01)
        time.sleep(0.02)
        kv.flush()
        api(KeyVal).flush_all()
        api(KeyVal).purge_expired()
        assert held.owned()
        assert LeaseRow.objects.count() == 2
    # The fences go on from where they were.
    with kv.lock("held", ttl=30) as again, kv.lock("expired", ttl=30) as other:
        assert (again.fence, other.fence) == (2, 2)


# The database's clock, not the client's


@pytest.mark.parametrize("skew", [3600, -3600])
def test_a_holder_with_a_skewed_clock_changes_nothing(kv, skew):
    real_time = time.time
    with mock.patch("time.time", lambda: real_time() + skew):
        holder = kv.lock("report", ttl=1)
        assert holder.acquire()
        assert holder.owned()
    # Unskewed, another owner finds it held, until the ttl (by the server's clock) ran out.
    assert kv.lock("report", ttl=30, blocking=False).acquire() is False
    time.sleep(1.1)
    with mock.patch("time.time", lambda: real_time() + skew):
        assert not holder.owned()
        with pytest.raises(LockLost):
            holder.release()
    with kv.lock("report", ttl=30, blocking=False) as lease:
        assert lease.fence == 2


@pytest.mark.parametrize("skew", [3600, -3600])
def test_a_waiter_with_a_skewed_clock_waits_for_the_ttl(kv, skew):
    holder = kv.lock("report", ttl=30)
    holder.acquire()
    real_time = time.time
    with mock.patch("time.time", lambda: real_time() + skew):
        assert kv.lock("report", ttl=30, blocking=False).acquire() is False
        holder.extend(0.3)
        time.sleep(0.4)
        with kv.lock("report", ttl=30, blocking=False) as lease:
            assert lease.fence == 2


# Transactions


def test_a_lock_inside_a_transaction_on_its_database_raises(kv):
    with transaction.atomic():
        with pytest.raises(LockInTransaction, match="KEYVAL\\['LOCK_DATABASE'\\]"):
            kv.lock("report", ttl=30).acquire()
        with pytest.raises(LockInTransaction), kv.lock("report", ttl=30):
            pass
    assert not LeaseRow.objects.exists()
    assert issubclass(LockInTransaction, KeyValError)


def test_release_and_extend_inside_a_transaction_on_its_database_raise(kv):
    lease = kv.lock("report", ttl=30)
    lease.acquire()
    with transaction.atomic():
        with pytest.raises(LockInTransaction, match="extended inside a transaction"):
            lease.extend(60)
        with pytest.raises(LockInTransaction, match="released inside a transaction"):
            lease.release()
    assert lease.owned()
    lease.release()


def test_a_failed_lock_leaves_the_transaction_usable(kv):
    with transaction.atomic():
        kv.set("k", 1)
        with pytest.raises(LockInTransaction):
            kv.lock("report", ttl=30).acquire()
        kv.set("k", 2)
    assert kv.get("k") == 2


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_lock_routed_to_another_database_works_inside_a_transaction(kv, settings):
    settings.KEYVAL = {"LOCK_DATABASE": "other"}
    with transaction.atomic():
        kv.set("k", 1)
        with kv.lock("report", ttl=30) as lease:
            assert lease.owned()
            # Visible on "other" at once, to any process.
            assert row("report", using="other").fence == 1
    assert not LeaseRow.objects.using("default").exists()


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_locks_follow_the_stores_database_without_lock_database(api):
    kv = api(KeyVal("test", using="other"))
    with kv.lock("report", ttl=30):
        assert row("report", using="other").fence == 1
    assert not LeaseRow.objects.using("default").exists()


# Queries


@pytest.mark.sync_only
def test_acquire_release_and_extend_are_one_query_each(django_assert_num_queries):
    lease = KeyVal("test").lock("report", ttl=30)
    with django_assert_num_queries(1):
        lease.acquire()
    with django_assert_num_queries(1):
        lease.extend(60)
    with django_assert_num_queries(1):
        assert lease.owned()
    with django_assert_num_queries(1):
        lease.release()
    with django_assert_num_queries(0):
        assert not lease.owned()


@pytest.mark.sync_only
def test_a_lost_race_is_one_query_and_no_integrity_error(django_assert_num_queries):
    holder = KeyVal("test").lock("report", ttl=30)
    holder.acquire()
    with django_assert_num_queries(1):
        assert KeyVal("test").lock("report", ttl=30, blocking=False).acquire() is False


@pytest.mark.sync_only
def test_lease_repr_says_whether_it_is_held():
    lease = KeyVal("test").lock("report", ttl=30)
    assert repr(lease) == "<Lease 'report' of store 'test', fence None, not held>"
    with lease:
        assert repr(lease) == "<Lease 'report' of store 'test', fence 1, held>"
    assert isinstance(lease, Lease)


# In an event loop


@pytest.fixture
def _close_thread_connections() -> Any:
    yield
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


@pytest.mark.sync_only
@pytest.mark.usefixtures("_close_thread_connections")
def test_async_with_in_an_event_loop():
    kv = KeyVal("test")

    async def scenario() -> tuple[Any, ...]:
        async with kv.alock("report", ttl=30) as lease:
            owned = await lease.aowned()
            taken = await kv.alock("report", ttl=30, blocking=False).aacquire()
            await lease.aextend(60)
        other = kv.alock("report", ttl=30, timeout=1)
        acquired = await other.aacquire()
        await other.arelease()
        return owned, taken, lease.fence, acquired, other.fence

    assert asyncio.run(scenario()) == (True, False, 1, True, 2)


@pytest.mark.sync_only
@pytest.mark.usefixtures("_close_thread_connections")
def test_async_waiters_do_not_block_the_event_loop():
    kv = KeyVal("test")

    async def scenario() -> list[int | None]:
        async def take() -> int | None:
            async with kv.alock("report", ttl=30, timeout=10) as lease:
                await asyncio.sleep(0.01)
                return lease.fence

        return list(await asyncio.gather(*(take() for _ in range(5))))

    assert sorted(asyncio.run(scenario())) == [1, 2, 3, 4, 5]  # type: ignore[type-var]
