"""Each operation makes the fewest queries it can (the cheapest guard of performance).

These tests run inside pytest-django's transaction, so a KeyVal call that
needs a transaction of its own shows as a SAVEPOINT / RELEASE pair around
its statements.
"""

from __future__ import annotations

import math
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext

from django_keyval import KeyVal
from django_keyval.exceptions import CorruptValue
from django_keyval.models import Entry
from django_keyval.sql import cursors, operations_for
from django_keyval.sql.base import FLUSH_BATCH, KEYS_PAGE
from tests.helpers import WRONG_MAC, tamper

# Tests on ``kv`` run through the sync methods, then through their async twins,
# which must make the same queries.
pytestmark = [pytest.mark.django_db, pytest.mark.twins]

SAVEPOINT = 2  # SAVEPOINT and RELEASE SAVEPOINT


@pytest.fixture
def filled(kv: KeyVal) -> KeyVal:
    kv.set_many({"a": 1, "b": 2, "n": 10})
    return kv


@pytest.mark.parametrize(
    "operation",
    [
        lambda kv: kv.get("a"),
        lambda kv: kv.get("missing", None),
        lambda kv: kv.exists("a"),
        lambda kv: kv.delete("a"),
        lambda kv: kv.add("new", 1),
        lambda kv: kv.add("a", 1),
        lambda kv: kv.touch("a", 10),
        lambda kv: kv.ttl("a"),
        lambda kv: kv.keys(),
        lambda kv: kv.count("a"),
        lambda kv: kv.delete_prefix("a"),
        lambda kv: kv.flush(),
        lambda kv: kv.flush_all(),
        lambda kv: kv.stores(),
        lambda kv: kv.get_many(["a", "b", "c"]),
        lambda kv: kv.delete_many(["a", "b", "c"]),
        lambda kv: list(kv.items()),
        lambda kv: list(kv.iter_keys()),
        lambda kv: kv.set("new", 1),
    ],
)
def test_single_statement_operations_make_one_query(filled, operation, django_assert_num_queries):
    with django_assert_num_queries(1):
        operation(filled)


def one_statement_set() -> bool:
    """Whether set() is one statement: ON CONFLICT ... RETURNING, or MySQL's upsert."""
    return connection.vendor == "mysql" or operations_for(connection).can_return


def test_set_overwriting_is_one_query_where_the_database_tells_new_from_overwritten(
    filled, django_assert_num_queries
):
    # Only SQLite before 3.35 (no RETURNING) tries an insert, then an update.
    with django_assert_num_queries(1 if one_statement_set() else 2):
        assert filled.set("a", 2) is False


def test_set_over_an_expired_entry_is_one_query(filled, django_assert_num_queries):
    filled.set("old", 1, ttl=0.01)
    time.sleep(0.02)
    with django_assert_num_queries(1 if one_statement_set() else 2):
        assert filled.set("old", 2) is True


@pytest.mark.parametrize(
    "operation",
    [
        lambda kv: kv.set("new", 1),
        lambda kv: kv.set("a", 2),
        lambda kv: kv.get("a"),
        lambda kv: kv.get("missing", None),
        lambda kv: kv.exists("a"),
        lambda kv: kv.delete("a"),
        lambda kv: kv.pop("a"),
    ],
)
def test_single_key_operations_never_count_select_then_write_or_open_a_transaction(
    filled, operation
):
    if not one_statement_set():
        pytest.skip("SQLite without RETURNING sets in two statements")
    if not operations_for(connection).pop_is_atomic:
        pytest.skip("MySQL has no DELETE ... RETURNING")
    with CaptureQueriesContext(connection) as captured:
        operation(filled)
    (statement,) = [query["sql"] for query in captured.captured_queries]
    assert "COUNT(" not in statement.upper()
    assert not statement.upper().startswith(("SAVEPOINT", "BEGIN"))


def test_get_many_makes_one_query_per_batch(kv, django_assert_num_queries):
    keys = [f"k{i}" for i in range(2500)]
    with django_assert_num_queries(3):
        kv.get_many(keys)


def test_set_many_makes_one_query_per_batch(kv, django_assert_num_queries):
    mapping = {f"k{i}": i for i in range(2500)}
    batches = math.ceil(2500 / operations_for(connection).batch_size(7))
    with django_assert_num_queries(batches + SAVEPOINT):
        kv.set_many(mapping)
    assert batches <= 18


def test_pop_is_one_statement_where_the_database_deletes_returning(
    filled, django_assert_num_queries
):
    # MySQL (not MariaDB) has no DELETE ... RETURNING: it locks, then deletes.
    expected = 1 if operations_for(connection).pop_is_atomic else 2 + SAVEPOINT
    with django_assert_num_queries(expected):
        assert filled.pop("a") == 1


def test_pop_of_a_corrupt_value_puts_it_back_in_one_more_query(filled, django_assert_num_queries):
    tamper("test", "a", mac=WRONG_MAC)
    statements = 1 if operations_for(connection).pop_is_atomic else 2 + SAVEPOINT
    with django_assert_num_queries(statements + 1), pytest.raises(CorruptValue):
        filled.pop("a")
    assert Entry.objects.filter(store="test", key="a").exists()


def test_incr_locks_then_writes(filled, django_assert_num_queries):
    with django_assert_num_queries(2 + SAVEPOINT):
        filled.incr("n")


def test_iteration_makes_one_query_per_page(kv, django_assert_num_queries):
    kv.set_many({f"k{i:06}": i for i in range(2 * KEYS_PAGE + 500)})
    with django_assert_num_queries(3):
        assert len(list(kv.iter_keys())) == 2 * KEYS_PAGE + 500


def test_flush_deletes_in_batches(kv, django_assert_num_queries):
    kv.set_many({f"k{i:04}": i for i in range(2 * FLUSH_BATCH + 1)})
    with django_assert_num_queries(3):
        kv.flush()
    assert kv.count() == 0


def test_flush_all_deletes_in_batches(kv, other_kv, api, django_assert_num_queries):
    kv.set_many({f"k{i:04}": i for i in range(FLUSH_BATCH)})
    other_kv.set_many({f"k{i:04}": i for i in range(FLUSH_BATCH + 1)})
    with django_assert_num_queries(3):
        api(KeyVal).flush_all()
    assert KeyVal.stores() == []


def test_purge_expired_makes_one_query_when_nothing_expired(filled, api, django_assert_num_queries):
    with django_assert_num_queries(1):
        api(KeyVal).purge_expired()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's prepared statements")
def test_postgresql_prepares_statements_when_the_project_enables_them(filled):
    # As OPTIONS={"prepare_threshold": 0} would; the cursor is made again for it.
    dbapi_connection = connection.connection
    previous, dbapi_connection.prepare_threshold = dbapi_connection.prepare_threshold, 0
    delattr(connections[DEFAULT_DB_ALIAS], cursors._ATTRIBUTE)
    try:
        assert filled.get("a") == 1
        assert filled.set("big", b"x" * 100_000) is True
        assert filled.get("big") == b"x" * 100_000
        assert filled.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [statement for (statement,) in cursor.fetchall()]
        assert any(statement.startswith("SELECT") for statement in prepared), prepared
        # Statements built around a list of keys are not prepared (see sql/cursors.py).
        assert not any(" IN (" in statement for statement in prepared), prepared
    finally:
        dbapi_connection.prepare_threshold = previous
        delattr(connections[DEFAULT_DB_ALIAS], cursors._ATTRIBUTE)


@pytest.mark.sync_only
def test_errors_on_kept_cursors_arrive_as_djangos_exceptions(kv):
    # The kept cursors translate driver errors as Django's cursor wrapper does.
    with (
        cursors.cursor_for(DEFAULT_DB_ALIAS) as (ops, cursor),
        pytest.raises(DatabaseError) as info,
    ):
        cursor.execute(ops.sql("SELECT 1 FROM keyval_no_such_table WHERE 1 = %s"), (1,))
    assert type(info.value).__module__ == "django.db.utils"
    assert info.value.__cause__ is not None
    assert type(info.value.__cause__).__module__ != "django.db.utils"


# Local cache (KEYVAL["STORES"][name]["LOCAL_CACHE"]). Outside pytest-django's
# transaction: inside one that wrote the store, reads go to the database.

CACHED = "cached"


def declare_cached(settings, **options):
    settings.KEYVAL = {"STORES": {CACHED: {"LOCAL_CACHE": options or True}}}
    return KeyVal(CACHED)


@pytest.mark.django_db(transaction=True)
def test_fifty_reads_of_a_cached_store_in_a_request_are_one_validation_and_one_refill(
    settings, django_assert_num_queries
):
    kv = declare_cached(settings)
    kv.set_many({f"k{i}": i for i in range(100)})
    with django_assert_num_queries(2), KeyVal.snapshot():
        for i in range(50):
            kv.get(f"k{i}")
    with django_assert_num_queries(1), KeyVal.snapshot():
        for i in range(50):
            kv.get_default(f"k{i * 3}")


@pytest.mark.django_db(transaction=True)
def test_reads_of_a_cached_store_within_max_staleness_make_no_query(
    settings, django_assert_num_queries
):
    kv = declare_cached(settings, MAX_STALENESS=60)
    kv.set_many({f"k{i}": i for i in range(100)})
    kv.get("k0")
    with django_assert_num_queries(0):
        for i in range(50):
            kv.get_default(f"k{i * 3}")
            kv.exists(f"k{i}")
        kv.get_many(["k1", "k2", "missing"])


@pytest.mark.django_db(transaction=True)
def test_a_cached_store_leaves_the_other_stores_queries_alone(settings, django_assert_num_queries):
    declare_cached(settings)
    plain = KeyVal("plain")
    plain.set("a", 1)
    with KeyVal.snapshot():
        for operation in [
            lambda: plain.get("a"),
            lambda: plain.exists("a"),
            lambda: plain.get_many(["a"]),
            lambda: plain.delete("a"),
        ]:
            with django_assert_num_queries(1):
                operation()
        with django_assert_num_queries(1 if one_statement_set() else 2):
            plain.set("a", 2)
