"""The SQL of each supported database, chosen by ``connection.vendor``."""

from __future__ import annotations

import functools

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from django_keyval.sql.base import Operations

# The ``connection.vendor`` of each database the store runs on.
VENDORS = ("sqlite", "postgresql", "mysql")
SUPPORTED = "SQLite, PostgreSQL, MySQL and MariaDB"

_cache: dict[tuple[str, str], Operations] = {}


@functools.cache
def entry_model() -> type[Model]:
    """Return the Entry model, looked up when first needed: importing the package (and
    this module) must not need the app registry."""
    return apps.get_model("django_keyval", "Entry")


def operations_class(vendor: str) -> type[Operations] | None:
    """Return the Operations class of the database ``vendor`` (a ``connection.vendor``),
    or None for a database the store does not support.

    Its class attributes and classmethods need no connection to a table, such as
    the collation the field's migration asks for.
    """
    if vendor == "postgresql":
        from django_keyval.sql.postgresql import PostgreSQLOperations

        return PostgreSQLOperations
    if vendor == "mysql":
        from django_keyval.sql.mysql import MySQLOperations

        return MySQLOperations
    if vendor == "sqlite":
        from django_keyval.sql.sqlite import SQLiteOperations

        return SQLiteOperations
    return None


def unsupported(alias: str, vendor: str) -> str:
    """Return the sentence that says the store cannot run on database ``alias``."""
    return (
        f"The database {alias!r} is {vendor!r}, which django-keyval does not support: "
        f"it runs on {SUPPORTED}."
    )


def is_conflict(exc: BaseException) -> bool:
    """Return whether ``exc`` is a deadlock or serialization failure the database rolled back.

    Asks each database's Operations class about the driver's error that Django's
    ``DatabaseError`` wraps (only its own driver's errors are conflicts to a class).
    """
    cause = exc.__cause__
    if cause is None:
        return False
    return any(
        ops_class is not None and ops_class.is_conflict(cause)
        for ops_class in map(operations_class, VENDORS)
    )


def operations_for(connection: BaseDatabaseWrapper) -> Operations:
    """Return the statements for ``connection``'s database, built once per alias.

    Raise ImproperlyConfigured for a database the store does not support.
    """
    cache_key = (connection.alias, connection.vendor)
    ops = _cache.get(cache_key)
    if ops is None:
        ops_class = operations_class(connection.vendor)
        if ops_class is None:
            raise ImproperlyConfigured(unsupported(connection.alias, connection.vendor))
        ops = _cache[cache_key] = ops_class(connection, entry_model())
    return ops
