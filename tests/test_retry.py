"""A deadlock is retried outside the caller's transaction, and reaches the caller inside one."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from django_keyval import KeyVal
from django_keyval.models import Entry
from django_keyval.retry import is_conflict
from tests.processes import session_id, wait_until, waiting_for_a_lock

# "other" watches the victim: PostgreSQL shows a transaction the same statistics until it ends.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


@pytest.fixture
def deadlock(db: None) -> Any:
    """Return ``run(call)``: run ``call()`` in a thread that deadlocks with this one.

    The other thread's ``call`` must lock "a" then "b" (set_many does, in key
    order). This thread holds "b", waits until ``call`` waits for it, then asks
    for "a", and is made the heavier transaction so that the database chooses
    ``call``'s as the victim. Return what ``call`` returned or raised.
    """
    if connection.vendor == "sqlite":
        pytest.skip("SQLite locks the whole database: no deadlocks")
    kv = KeyVal("deadlock")
    kv.set_many({"a": 0, "b": 0})
    KeyVal("ballast").set_many({f"k{i}": i for i in range(50)})

    def run(call: Any) -> Any:
        outcome: list[Any] = []
        sessions: list[int] = []

        def victim() -> None:
            try:
                sessions.append(session_id())
                outcome.append(call())
            except DatabaseError as exc:
                outcome.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=victim)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # The victim's backend, with the default 1 s, finds the deadlock first.
                    cursor.execute("SET LOCAL deadlock_timeout = '30s'")
            # MariaDB rolls back the transaction that wrote least: not this one.
            Entry.objects.filter(store="ballast").update(updated_at=time.time())
            Entry.objects.select_for_update().get(store="deadlock", key="b")
            thread.start()
            # It locked "a", and waits for "b".
            wait_until(
                lambda: bool(sessions) and waiting_for_a_lock(sessions[0]),
                what="the other thread's wait for the lock",
            )
            Entry.objects.select_for_update().get(store="deadlock", key="a")
        thread.join(timeout=60)
        (result,) = outcome
        return result

    return run


def test_a_deadlock_outside_the_callers_transaction_is_retried(deadlock, caplog):
    caplog.set_level(logging.DEBUG, logger="django_keyval.retry")
    kv = KeyVal("deadlock")

    assert deadlock(lambda: kv.set_many({"a": 1, "b": 1})) is None

    assert kv.get_many(["a", "b"]) == {"a": 1, "b": 1}
    assert [record.args[0] for record in caplog.records] == ["set_many"]


def test_a_deadlock_inside_the_callers_transaction_reaches_the_caller(deadlock, caplog):
    caplog.set_level(logging.DEBUG, logger="django_keyval.retry")
    kv = KeyVal("deadlock")

    def in_a_transaction() -> None:
        with transaction.atomic():
            kv.set_many({"a": 1, "b": 1})

    error = deadlock(in_a_transaction)

    assert isinstance(error, DatabaseError)
    assert is_conflict(error)
    assert kv.get_many(["a", "b"]) == {"a": 0, "b": 0}
    assert caplog.records == []


def test_other_errors_are_not_conflicts(db):
    with pytest.raises(DatabaseError) as raised, connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert not is_conflict(raised.value)
    assert not is_conflict(ValueError("not from a database"))
