"""The paths of databases without RETURNING, on each database of the run.

MySQL and SQLite before 3.35 have no INSERT ... RETURNING, and MySQL no DELETE
... RETURNING: there set() tries an insert then an update, pop() locks the row
then deletes it, SQLite locks a row with an UPDATE then reads it, and a lease is
taken and its fence read in a transaction. Built without RETURNING, the
statements take those paths on the databases at hand (PostgreSQL keeps its
DELETE ... RETURNING pop), so that the tests below, collected from the modules
that own them, check them for the same guarantees, across real processes too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from django_keyval import KeyVal, sql
from django_keyval.sql import base, operations_for
from tests.sql.test_atomicity import (  # noqa: F401 (collected here as well)
    test_concurrent_add_of_a_new_key_succeeds_for_exactly_one_process,
    test_concurrent_add_of_an_expired_key_succeeds_for_exactly_one_process,
    test_concurrent_incr_counts_each_increment_exactly_once,
    test_concurrent_modify_of_a_new_key_starts_from_the_default_once,
    test_concurrent_pop_deletes_the_key,
    test_concurrent_pop_gives_the_value_to_exactly_one_process,
    test_concurrent_set_of_a_new_key_returns_true_to_exactly_one_process,
    test_concurrent_set_of_an_expired_key_returns_true_to_exactly_one_process,
)
from tests.sql.test_lock_processes import (  # noqa: F401
    test_processes_taking_turns_never_hold_a_lock_together,
)
from tests.test_locks import (  # noqa: F401
    test_a_held_lock_is_not_acquired_without_blocking,
    test_acquire_and_release_without_with,
    test_each_acquisition_gets_a_greater_fence,
    test_flush_flush_all_and_purge_expired_leave_leases_alone,
    test_release_after_expiry_raises_locklost_and_leaves_the_new_holder_alone,
)
from tests.test_store import (  # noqa: F401
    test_add_an_existing_key_returns_false_and_keeps_the_value,
    test_add_replaces_an_expired_key,
    test_modify_stores_and_returns_the_new_value,
    test_pop_expired_key_is_missing,
    test_pop_missing_key_raises_keyerror,
    test_pop_returns_the_value_and_deletes_the_key,
    test_set_returns_false_when_overwriting,
    test_set_returns_true_for_a_new_key,
    test_set_returns_true_when_overwriting_an_expired_key,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _forget_statements(alias: str) -> None:
    """Drop what django-keyval built for ``alias``: its statements, and the cursors
    that hold them (rebuilt on the next operation)."""
    connection = connections[alias]
    sql._cache.pop((alias, connection.vendor), None)
    for key in [key for key in base._statement_sets if key[1] == alias]:
        del base._statement_sets[key]
    connection.close()


@pytest.fixture(autouse=True)
def without_returning() -> Iterator[None]:
    alias = "default"
    _forget_statements(alias)
    ops = operations_for(connections[alias])
    ops.can_return = False
    # MariaDB and SQLite 3.35+ pop with DELETE ... RETURNING: MySQL and older SQLite cannot.
    ops.pop_is_atomic = connections[alias].vendor == "postgresql"
    yield
    _forget_statements(alias)


def statements(operation: Callable[[], object]) -> list[str]:
    """Return the first word of each statement ``operation`` sends, BEGIN and COMMIT
    (which SQLite's log shows) left out."""
    with CaptureQueriesContext(connections["default"]) as captured:
        operation()
    words = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    return [word for word in words if word not in ("BEGIN", "COMMIT")]


def test_the_paths_without_returning_send_what_readme_says():
    kv = KeyVal("test")
    kv.set("k", 1)
    lease = kv.lock("report", ttl=30)
    if connections["default"].vendor == "mysql":
        # MySQL tells a new key from an overwritten one and takes a lease in one
        # upsert; only pop() changes: the entry locked, then deleted.
        assert statements(lambda: kv.set("k", 2)) == ["INSERT"]
        assert statements(lambda: kv.incr("k")) == ["SELECT", "UPDATE"]
        assert statements(lambda: kv.pop("k")) == ["SELECT", "DELETE"]
        assert statements(lease.acquire) == ["INSERT"]
        return
    # README's counts for SQLite before 3.35 (PostgreSQL, which locks with
    # SELECT ... FOR UPDATE instead of an UPDATE, keeps its one-statement pop).
    locking = ["SELECT"] if connections["default"].vendor == "postgresql" else ["UPDATE", "SELECT"]
    assert statements(lambda: kv.set("new", 1)) == ["INSERT"]
    assert statements(lambda: kv.set("k", 2)) == ["INSERT", "UPDATE"]
    assert statements(lambda: kv.incr("k")) == [*locking, "UPDATE"]
    assert statements(lambda: kv.modify("k", lambda old: old + 1)) == [*locking, "UPDATE"]
    if connections["default"].vendor == "sqlite":
        assert statements(lambda: kv.pop("k")) == [*locking, "DELETE"]
    assert statements(lease.acquire) == ["INSERT", "SELECT"]
