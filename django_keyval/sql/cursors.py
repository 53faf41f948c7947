"""Cursors for django_keyval's statements: made once per connection, cheap to get again.

Every statement still runs through Django's cursor wrapper, so execute
wrappers, error translation, the broken-transaction check and query logging
(``DEBUG``, ``assertNumQueries``) see it as they see the ORM's. What is saved
per call is the cursor's construction, and what the stock backends redo on
every statement:

* Django's wrapper runs each statement through three calls, and builds a new
  error-translating function around ``fetchone()`` on each call; ours does
  the same checks in one call (see LeanCursorWrapper).
* SQLite: Django rewrites ``%s`` to ``?`` with a regular expression on every
  ``execute()``; our statements are written with ``?`` once (except while
  queries are logged, when Django's cursor must see the ``%s`` form).
* PostgreSQL (psycopg 3): statements use server-side binding and read results
  in binary, where Django's default cursor binds parameters on the client and
  reads text, in which a value comes as hex digits of twice its size. When the
  project enables prepared statements (``OPTIONS["prepare_threshold"]``),
  psycopg prepares the frequent ones; else each is an unnamed statement.

Backends that customise cursors (``create_cursor()``, ``make_cursor()``) or
tools that wrap ``connection.cursor()`` (django-debug-toolbar) get their own
cursors unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, NamedTuple

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from django_keyval.sql import operations_for
from django_keyval.sql.base import Operations
from django_keyval.sql.generations import local_cache_statements
from django_keyval.sql.leases import lease_statements

# Django's own CursorWrapper.execute, unless a tool had replaced it before this import.
_STOCK_EXECUTE: Any = CursorWrapper.execute
if _STOCK_EXECUTE.__module__ != CursorWrapper.__module__:  # pragma: no cover
    _STOCK_EXECUTE = None


class LeanCursorWrapper(CursorWrapper):
    """Django's cursor wrapper with its per-call work cut down.

    execute() does what Django's does (the broken-transaction check, error
    translation) in one call, and hands over to Django's whenever execute
    wrappers are installed or a tool has patched it (Sentry does). The fetch
    methods translate errors without building a wrapper function per call.
    Errors are translated by the same context manager as Django's, entered
    only once there is an error.
    """

    def execute(self, sql: Any, params: Any = None) -> Any:
        db = self.db
        if db.execute_wrappers or CursorWrapper.execute is not _STOCK_EXECUTE:
            return super().execute(sql, params)
        if db.needs_rollback:
            db.validate_no_broken_transaction()
        try:
            if params is None:
                return self.cursor.execute(sql)
            return self.cursor.execute(sql, params)
        except Exception:
            with db.wrap_database_errors:
                raise

    def fetchone(self) -> Any:
        try:
            return self.cursor.fetchone()
        except Exception:
            with self.db.wrap_database_errors:
                raise

    def fetchmany(self, size: int | None = None) -> Any:
        try:
            return self.cursor.fetchmany() if size is None else self.cursor.fetchmany(size)
        except Exception:
            with self.db.wrap_database_errors:
                raise

    def fetchall(self) -> Any:
        try:
            return self.cursor.fetchall()
        except Exception:
            with self.db.wrap_database_errors:
                raise


class Cursor:
    """``with`` gives ``(ops, cursor)``; leaving it keeps the cursor open for the next call."""

    __slots__ = ("pair",)

    def __init__(self, ops: Operations, cursor: CursorWrapper) -> None:
        self.pair = (ops, cursor)

    def __enter__(self) -> tuple[Operations, CursorWrapper]:
        return self.pair

    def __exit__(self, *exc_info: object) -> None:
        return None


class _Fresh:
    """``with`` gives ``(ops, connection.cursor())`` and closes that cursor on leaving."""

    __slots__ = ("connection", "cursor")

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def __enter__(self) -> tuple[Operations, CursorWrapper]:
        self.cursor = self.connection.cursor()
        return operations_for(self.connection), self.cursor

    def __exit__(self, *exc_info: object) -> None:
        self.cursor.close()


class _Cursors(NamedTuple):
    """The cursors kept on one Django connection, for the thread that made them."""

    dbapi_connection: Any
    thread: int
    plain: Cursor
    logged: Cursor


_ATTRIBUTE = "_django_keyval_cursors"


@functools.lru_cache(maxsize=16)
def _with_qmarks(ops: Operations) -> Operations:
    return ops.with_placeholder("?")


@functools.cache
def _preparing_cursor_class() -> type[Any]:
    import psycopg

    class PreparingCursor(psycopg.Cursor[Any]):
        """A psycopg cursor with server-side parameters that lets psycopg prepare only
        django_keyval's fixed statements.

        A statement built for one call (around a list of keys) runs unprepared:
        prepared, each length of list would take a place in psycopg's cache of
        100 statements, pushing out the fixed ones, and its generic plan would
        check the list item by item where a one-off plan hashes it.
        """

        fixed: frozenset[str] = frozenset()

        def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
            if query not in self.fixed:
                options.setdefault("prepare", False)
            return super().execute(query, params, **options)

    return PreparingCursor


def _stock(connection: BaseDatabaseWrapper, method: str) -> bool:
    """Return whether ``connection``'s backend has Django's own ``method``."""
    return str(getattr(type(connection), method).__module__).startswith("django.db.backends.")


def _make(connection: BaseDatabaseWrapper) -> _Cursors:
    # Django's cursor() runs its checks first: not in an event loop, the
    # health check, the connection opened, the thread allowed to use it. While
    # queries are logged, its driver cursor runs them, so that the log shows
    # their SQL as it shows the ORM's.
    django_cursor = connection.cursor()
    dbapi_connection = connection.connection
    ops = plain_ops = operations_for(connection)
    driver_cursor = logged_driver_cursor = django_cursor.cursor
    if _stock(connection, "create_cursor"):
        if connection.vendor == "sqlite":
            plain_ops, driver_cursor = _with_qmarks(ops), dbapi_connection.cursor()
        elif hasattr(dbapi_connection, "prepare_threshold"):
            # psycopg 3 (psycopg2 has no such attribute). With Django's default
            # OPTIONS (no prepare_threshold) psycopg prepares nothing: each
            # statement is sent as an unnamed one (parse, bind and execute in
            # one round trip), which a pooler in transaction mode passes through.
            import psycopg

            driver_cursor = _preparing_cursor_class()(dbapi_connection)
            driver_cursor.fixed = (
                ops.fixed_statements()
                | local_cache_statements(ops, connection)
                | lease_statements(ops, connection)
            )
            # Results in binary: a BLOB arrives as it is stored, not in hex at twice its size.
            driver_cursor.format = psycopg.pq.Format.BINARY
    plain: CursorWrapper
    if _stock(connection, "make_cursor"):
        plain = LeanCursorWrapper(driver_cursor, connection)
    else:
        plain = connection.make_cursor(driver_cursor)
    cursors = _Cursors(
        dbapi_connection,
        threading.get_ident(),
        Cursor(plain_ops, plain),
        Cursor(ops, connection.make_debug_cursor(logged_driver_cursor)),
    )
    setattr(connection, _ATTRIBUTE, cursors)
    return cursors


def cursor_for(alias: str) -> Cursor | _Fresh:
    """Return ``(ops, cursor)`` for the database ``alias`` in this thread, to use in ``with``.

    The cursor stays open with its connection: every use fetches its results
    at once, so no statement is left half-read for the next.
    """
    connection = connections[alias]
    if "cursor" in connection.__dict__:
        # Something wraps this connection's cursor() (django-debug-toolbar
        # does, to record queries): let it see every cursor.
        return _Fresh(connection)
    cursors: _Cursors | None = getattr(connection, _ATTRIBUTE, None)
    if (
        cursors is None
        or cursors.dbapi_connection is not connection.connection
        or cursors.thread != threading.get_ident()
        or (connection.health_check_enabled and not connection.health_check_done)  # type: ignore[attr-defined]
        or asyncio._get_running_loop() is not None
    ):
        cursors = _make(connection)
    return cursors.logged if connection.queries_logged else cursors.plain
