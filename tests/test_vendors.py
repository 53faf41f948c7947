"""What each database does its own way, as sql/ says it: collations, conflicts, row estimates."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from django.db import DatabaseError, connection

from django_keyval.models import Entry
from django_keyval.sql import is_conflict, operations_class
from django_keyval.sql.mysql import MySQLOperations
from django_keyval.sql.postgresql import PostgreSQLOperations

pytestmark = pytest.mark.django_db

EXACT_COLLATIONS = {
    ("sqlite", False): None,
    ("postgresql", False): "C",
    ("mysql", False): "utf8mb4_0900_bin",
    ("mysql", True): "utf8mb4_nopad_bin",
}


def test_store_and_key_columns_take_the_exact_collation(vendor):
    ops_class = operations_class(vendor)
    assert ops_class is not None
    expected = ops_class.exact_collation(connection)
    assert expected == EXACT_COLLATIONS[vendor, getattr(connection, "mysql_is_mariadb", False)]
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, Entry._meta.db_table)
    collations = {column.name: column.collation for column in columns}
    assert collations["store"] == collations["key"] == expected


# Conflicts: the deadlocks and serialization failures retry.py runs again


def raised_by_django(driver_error: BaseException) -> DatabaseError:
    """Return ``driver_error`` wrapped as Django wraps a driver's error."""
    error = DatabaseError(*driver_error.args)
    error.__cause__ = driver_error
    return error


def driver_errors() -> list[Any]:
    psycopg = pytest.importorskip("psycopg")
    mysqldb = pytest.importorskip("MySQLdb")
    return [
        (psycopg.errors.DeadlockDetected("deadlock detected"), True),
        (psycopg.errors.SerializationFailure("could not serialize access"), True),
        (psycopg.errors.UniqueViolation("duplicate key value"), False),
        (mysqldb.OperationalError(1213, "Deadlock found when trying to get lock"), True),
        (mysqldb.OperationalError(1205, "Lock wait timeout exceeded"), True),
        (mysqldb.IntegrityError(1062, "Duplicate entry"), False),
        (mysqldb.OperationalError(), False),
        (sqlite3.OperationalError("database is locked"), False),
    ]


def test_deadlocks_and_serialization_failures_are_conflicts():
    for driver_error, conflict in driver_errors():
        assert is_conflict(raised_by_django(driver_error)) is conflict, driver_error


def test_each_vendor_knows_only_its_own_drivers_conflicts():
    for driver_error, conflict in driver_errors():
        module = type(driver_error).__module__
        assert PostgreSQLOperations.is_conflict(driver_error) is (
            conflict and module.startswith("psycopg")
        )
        assert MySQLOperations.is_conflict(driver_error) is (
            conflict and module.startswith("MySQLdb")
        )


def test_an_error_without_a_driver_error_is_no_conflict():
    assert not is_conflict(DatabaseError("no cause"))
    assert not is_conflict(ValueError("not from a database"))


# Row estimates: the admin's paginator takes them for large tables


def estimated_rows(table: str) -> int | None:
    ops_class = operations_class(connection.vendor)
    assert ops_class is not None
    with connection.cursor() as cursor:
        return ops_class.estimated_rows(cursor, table)


def test_the_row_estimate_is_a_number_where_the_database_keeps_one(vendor):
    estimate = estimated_rows(Entry._meta.db_table)
    if vendor == "sqlite":
        assert estimate is None
    else:
        assert isinstance(estimate, int)


def test_a_missing_table_has_no_row_estimate():
    assert estimated_rows("no_such_table") is None
