"""Each operation makes the fewest queries it can (the cheapest guard of performance).

These tests run inside pytest-django's transaction, so a KeyVal call that
needs a transaction of its own shows as a SAVEPOINT / RELEASE pair around
its statements.
"""

from __future__ import annotations

import math

import pytest
from django.db import connection

from django_keyval import KeyVal
from django_keyval.sql import operations_for

pytestmark = pytest.mark.django_db

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
        lambda kv: KeyVal.flush_all(),
        lambda kv: KeyVal.stores(),
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


def test_set_overwriting_is_one_query_where_the_database_tells_new_from_overwritten(
    filled, django_assert_num_queries
):
    # SQLite's upsert cannot report insert-or-update; it tries the insert first.
    expected = 2 if connection.vendor == "sqlite" else 1
    with django_assert_num_queries(expected):
        assert filled.set("a", 2) is False


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


def test_pop_is_one_statement_in_a_transaction(filled, django_assert_num_queries):
    mysql_without_returning = getattr(connection, "mysql_is_mariadb", True) is False
    statements = 2 if mysql_without_returning else 1
    with django_assert_num_queries(statements + SAVEPOINT):
        filled.pop("a")


def test_incr_locks_then_writes(filled, django_assert_num_queries):
    with django_assert_num_queries(2 + SAVEPOINT):
        filled.incr("n")


def test_iteration_makes_one_query_per_page(kv, django_assert_num_queries):
    kv.set_many({f"k{i:04}": i for i in range(2500)})
    with django_assert_num_queries(3):
        assert len(list(kv.iter_keys())) == 2500


def test_purge_expired_makes_one_query_when_nothing_expired(filled, django_assert_num_queries):
    with django_assert_num_queries(1):
        KeyVal.purge_expired()
