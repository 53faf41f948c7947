"""The SQL of each supported database, chosen by ``connection.vendor``."""

from __future__ import annotations

import functools

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from django_keyval.sql.base import Operations

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


def operations_for(connection: BaseDatabaseWrapper) -> Operations:
    """Return the statements for ``connection``'s database, built once per alias."""
    cache_key = (connection.alias, connection.vendor)
    ops = _cache.get(cache_key)
    if ops is None:
        ops_class = operations_class(connection.vendor) or Operations
        ops = _cache[cache_key] = ops_class(connection, entry_model())
    return ops
