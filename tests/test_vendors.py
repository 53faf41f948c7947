"""What each database does its own way, as sql/ says it (collations, conflicts, row
estimates), and what a database the store does not support gets."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from django_keyval import KeyVal
from django_keyval.checks import check_databases
from django_keyval.models import Entry
from django_keyval.sql import cursors, is_conflict, operations_class, operations_for
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


def psycopg_errors() -> list[tuple[BaseException, bool]]:
    psycopg = pytest.importorskip("psycopg")
    return [
        (psycopg.errors.DeadlockDetected("deadlock detected"), True),
        (psycopg.errors.SerializationFailure("could not serialize access"), True),
        (psycopg.errors.UniqueViolation("duplicate key value"), False),
    ]


def mysqldb_errors() -> list[tuple[BaseException, bool]]:
    # mysqlclient is in the dev group, not the test group (it builds against the
    # client library): without it, only these cases skip.
    mysqldb = pytest.importorskip("MySQLdb")
    return [
        (mysqldb.OperationalError(1213, "Deadlock found when trying to get lock"), True),
        (mysqldb.OperationalError(1205, "Lock wait timeout exceeded"), True),
        (mysqldb.IntegrityError(1062, "Duplicate entry"), False),
        (mysqldb.OperationalError(), False),
    ]


def sqlite3_errors() -> list[tuple[BaseException, bool]]:
    return [(sqlite3.OperationalError("database is locked"), False)]


DRIVERS = [psycopg_errors, mysqldb_errors, sqlite3_errors]


@pytest.mark.parametrize("driver_errors", DRIVERS)
def test_deadlocks_and_serialization_failures_are_conflicts(driver_errors):
    for driver_error, conflict in driver_errors():
        assert is_conflict(raised_by_django(driver_error)) is conflict, driver_error


@pytest.mark.parametrize("driver_errors", DRIVERS)
def test_each_vendor_knows_only_its_own_drivers_conflicts(driver_errors):
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


# A database the store does not support


@contextlib.contextmanager
def vendor_of(alias: str, vendor: str) -> Iterator[BaseDatabaseWrapper]:
    """Make the connection ``alias`` say its database is ``vendor`` until the block ends.

    Its kept cursors are dropped, as a new connection has none: the store looks
    the vendor up when it makes them.
    """
    connection = connections[alias]
    connection.vendor = vendor
    kept = connection.__dict__.pop(cursors._ATTRIBUTE, None)
    try:
        yield connection
    finally:
        del connection.vendor
        connection.__dict__.pop(cursors._ATTRIBUTE, None)
        if kept is not None:
            setattr(connection, cursors._ATTRIBUTE, kept)


UNSUPPORTED = (
    "The database 'default' is 'oracle', which django-keyval does not support: it runs on "
    "SQLite, PostgreSQL, MySQL and MariaDB."
)


def test_operations_on_an_unsupported_database_are_improperly_configured():
    with vendor_of("default", "oracle") as faked, pytest.raises(ImproperlyConfigured) as raised:
        operations_for(faked)
    assert str(raised.value) == UNSUPPORTED


def test_the_first_operation_on_an_unsupported_database_is_improperly_configured():
    with vendor_of("default", "oracle"), pytest.raises(ImproperlyConfigured) as raised:
        KeyVal("s").set("k", 1)
    assert str(raised.value) == UNSUPPORTED


def test_the_store_works_again_once_the_database_is_supported():
    with vendor_of("default", "oracle"), pytest.raises(ImproperlyConfigured):
        KeyVal("s").get("k")
    KeyVal("s").set("k", 1)
    assert KeyVal("s").get("k") == 1


def test_an_unsupported_database_takes_no_collation():
    with vendor_of("default", "oracle") as faked:
        field = Entry._meta.get_field("key")
        assert field.db_parameters(faked)["collation"] is None


class EntryOnDefaultRouter:
    """Keeps the entry table on "default" only."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default" if app_label == "django_keyval" else None


def test_an_unsupported_database_the_store_can_be_routed_to_is_e007():
    with vendor_of("other", "oracle"):
        errors = check_databases(databases=["default", "other"])
    assert len(errors) == 1, errors
    (error,) = errors
    assert error.id == "django_keyval.E007"
    assert error.level == checks.ERROR
    assert error.msg == (
        "The database 'other' is 'oracle', which django-keyval does not support: it runs on "
        "SQLite, PostgreSQL, MySQL and MariaDB."
    )
    assert error.hint == (
        "Route the store to another database with KEYVAL['DATABASE'], or keep its table off "
        "'other' with a database router's allow_migrate()."
    )


def test_supported_databases_pass_the_database_check():
    assert check_databases(databases=["default", "other"]) == []


def test_the_database_check_looks_only_at_the_databases_django_names():
    with vendor_of("other", "oracle"):
        assert check_databases(databases=None) == []
        assert check_databases(databases=["default"]) == []


def test_an_unsupported_database_besides_keyval_database_passes(settings):
    settings.KEYVAL = {"DATABASE": "default"}
    with vendor_of("other", "oracle"):
        assert check_databases(databases=["default", "other"]) == []


def test_an_unsupported_keyval_database_is_e007(settings):
    settings.KEYVAL = {"DATABASE": "other"}
    with vendor_of("other", "oracle"):
        assert [e.id for e in check_databases(databases=["other"])] == ["django_keyval.E007"]


@pytest.mark.parametrize("database", [None, "default"])
def test_an_unsupported_lock_database_is_e007(settings, database):
    settings.KEYVAL = {"DATABASE": database, "LOCK_DATABASE": "other"}
    settings.DATABASE_ROUTERS = ["tests.test_vendors.EntryOnDefaultRouter"]
    with vendor_of("other", "oracle"):
        errors = check_databases(databases=["default", "other"])
    assert [(e.id, e.hint) for e in errors] == [
        (
            "django_keyval.E007",
            "Keep the locks on another database with KEYVAL['LOCK_DATABASE'].",
        )
    ]
    assert "'other'" in errors[0].msg


def test_an_unsupported_database_of_the_store_and_its_locks_gets_both_hints(settings):
    settings.KEYVAL = {"DATABASE": "other", "LOCK_DATABASE": "other"}
    with vendor_of("other", "oracle"):
        (error,) = check_databases(databases=["default", "other"])
    assert error.hint == (
        "Route the store to another database with KEYVAL['DATABASE'], or keep its table off "
        "'other' with a database router's allow_migrate(). "
        "Keep the locks on another database with KEYVAL['LOCK_DATABASE']."
    )


def test_an_unsupported_database_the_routers_keep_the_table_off_passes(settings):
    settings.DATABASE_ROUTERS = ["tests.test_vendors.EntryOnDefaultRouter"]
    with vendor_of("other", "oracle"):
        assert check_databases(databases=["default", "other"]) == []


# Django's own database checks query MySQL's server.
@pytest.mark.django_db(databases=["default", "other"])
def test_check_command_with_the_database_reports_e007():
    with vendor_of("other", "oracle"), pytest.raises(SystemCheckError) as raised:
        call_command("check", databases=["other"])
    assert "django_keyval.E007" in str(raised.value)


def test_check_command_without_a_database_skips_e007(capsys):
    with vendor_of("other", "oracle"):
        call_command("check")
    assert "django_keyval.E007" not in capsys.readouterr().err
