"""The statements on the entry table, and the vendor facts each database class overrides.

The statements here are PostgreSQL's and SQLite's (INSERT ... ON CONFLICT,
RETURNING). sql/postgresql.py, sql/sqlite.py and sql/mysql.py subclass
Operations and override what their database writes or does differently:
statements, flags, and classmethods such as exact_collation().
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from django_keyval.exceptions import KeyValError
from django_keyval.keys import prefix_upper_bound
from django_keyval.sql.rows import (
    Encoded,
    KeyedRow,
    Row,
    as_encoded,
    is_live,
    keyed_rows,
    keyed_values,
    stored_row,
)

T = TypeVar("T")

# How often a write retries after losing a race to a concurrent writer that
# deleted or expired the row between two statements.
MAX_RACES = 20

# Bytes of values one multi-row INSERT carries, at most (and one value more).
BATCH_BYTES = 4 * 1024 * 1024

# Rows fetched per query when iterating over keys, and over keys with values.
# A page of keys is at most a few MB (keys are up to 255 characters) and most
# stores fit in one; each further page costs a round trip and a new index seek.
KEYS_PAGE = 10_000
ITEMS_PAGE = 100

# Rows one statement of flush() and flush_all() deletes at most: outside the
# caller's transaction each batch commits on its own, so no writer waits long.
FLUSH_BATCH = 1000


class Operations:
    """The statements of every store operation, with names quoted for one database.

    Each method takes a cursor and the values it needs (``now`` is the
    caller's ``time.time()``); none opens a transaction. A live entry is one
    whose expiry is NULL or later than ``now``.

    How a statement is declared: a class attribute whose name ends in
    ``_sql`` (None for one the database does without, such as purge_sql),
    written with Django's ``%s`` for parameters and ``{name}`` fields for
    names: ``{table}``, the columns (``{id}``, ``{store}``, ``{key}``,
    ``{value}``, ``{serializer}``, ``{mac}``, ``{expires_at}``,
    ``{updated_at}``) and ``{live}``, the condition of a live entry.
    __init__ formats every statement once, with the names quoted for the
    connection, and sets the result on the instance. Three fields survive
    that formatting, for the statements built around a list on each call:
    ``{rows}`` (the VALUES of upsert_many_sql), ``{keys}`` (the IN lists of
    get_many_sql and delete_many_sql) and ``{ids}`` (delete_expired_sql). The
    method running such a statement fills its field with ``%s`` marks and
    passes the result through sql(), as it does the statements over a range
    of keys (see key_range()), which are built per call from ``self.names``.

    SQLite's driver takes ``?``, not ``%s``: sql/cursors.py runs a copy of
    these operations made once by with_placeholder("?"), whose statements
    already have ``?`` (Django's own cursor, which needs ``%s``, runs this
    object's while queries are logged). On PostgreSQL with prepared
    statements on, sql/cursors.py's PreparingCursor lets psycopg prepare
    fixed_statements(), the statements without a surviving field, and runs
    the ones built per call unprepared.

    The classmethods (exact_collation(), estimated_rows(), is_conflict()) say
    what needs no entry table, reached through sql.operations_class().
    """

    # Whether the database has DELETE ... RETURNING: pop() is then pop_sql, one
    # statement; else lock() and delete_key_sql, which callers wrap in a transaction.
    pop_is_atomic = False
    # How the statements mark parameters (see with_placeholder()).
    placeholder = "%s"
    # The parameters of one row of upsert_many_sql's {rows}.
    row_placeholders = "(%s, %s, %s, %s, %s, %s, %s)"

    # fmt: off
    live = "({expires_at} IS NULL OR {expires_at} > %s)"
    # The reads of one key test its expiry here rather than in SQL (see is_live()):
    # a statement with one condition fewer is planned faster where it is planned
    # on every call (unnamed on PostgreSQL, 200 -> 181 us a get; MariaDB 180 -> 164 us).
    get_sql = (
        "SELECT {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {key} = %s"
    )
    expiry_sql = "SELECT {expires_at} FROM {table} WHERE {store} = %s AND {key} = %s"
    touch_sql = (
        "UPDATE {table} SET {expires_at} = %s "
        "WHERE {store} = %s AND {key} = %s AND {live}"
    )
    delete_sql = "DELETE FROM {table} WHERE {store} = %s AND {key} = %s AND {live}"
    # Inserts the entry, or replaces an expired one; a live entry is left alone.
    add_sql = (
        "INSERT INTO {table} ({store}, {key}, {value}, {serializer}, {mac}, {expires_at}, "
        "{updated_at}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT ({store}, {key}) DO UPDATE SET "
        "{value} = EXCLUDED.{value}, {serializer} = EXCLUDED.{serializer}, "
        "{mac} = EXCLUDED.{mac}, {expires_at} = EXCLUDED.{expires_at}, "
        "{updated_at} = EXCLUDED.{updated_at} "
        "WHERE {table}.{expires_at} IS NOT NULL AND {table}.{expires_at} <= %s"
    )
    # Inserts the entry or overwrites the one there, and tells which through the
    # updated_at it writes: "now" when it inserted or replaced an expired entry,
    # the next float above "now" when it overwrote a live one. RETURNING reads
    # back what this statement wrote under the row's lock, so of several
    # processes setting a new key exactly one is told it was new. (SET
    # expressions see the row as it was before the statement.)
    set_sql = (
        "INSERT INTO {table} ({store}, {key}, {value}, {serializer}, {mac}, {expires_at}, "
        "{updated_at}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT ({store}, {key}) DO UPDATE SET "
        "{value} = EXCLUDED.{value}, {serializer} = EXCLUDED.{serializer}, "
        "{mac} = EXCLUDED.{mac}, {expires_at} = EXCLUDED.{expires_at}, "
        "{updated_at} = CASE WHEN {table}.{expires_at} IS NULL OR {table}.{expires_at} > %s "
        "THEN %s ELSE EXCLUDED.{updated_at} END "
        "RETURNING {updated_at}"
    )
    update_live_sql = (
        "UPDATE {table} SET {value} = %s, {serializer} = %s, {mac} = %s, {expires_at} = %s, "
        "{updated_at} = %s WHERE {store} = %s AND {key} = %s AND {live}"
    )
    replace_value_sql = (
        "UPDATE {table} SET {value} = %s, {serializer} = %s, {mac} = %s, {updated_at} = %s "
        "WHERE {store} = %s AND {key} = %s"
    )
    lock_sql = (
        "SELECT {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {key} = %s FOR UPDATE"
    )
    delete_key_sql = "DELETE FROM {table} WHERE {store} = %s AND {key} = %s"
    pop_sql = (
        "DELETE FROM {table} WHERE {store} = %s AND {key} = %s "
        "RETURNING {value}, {serializer}, {mac}, {expires_at}"
    )
    upsert_many_sql = (
        "INSERT INTO {table} ({store}, {key}, {value}, {serializer}, {mac}, {expires_at}, "
        "{updated_at}) VALUES {rows} "
        "ON CONFLICT ({store}, {key}) DO UPDATE SET "
        "{value} = EXCLUDED.{value}, {serializer} = EXCLUDED.{serializer}, "
        "{mac} = EXCLUDED.{mac}, {expires_at} = EXCLUDED.{expires_at}, "
        "{updated_at} = EXCLUDED.{updated_at}"
    )
    get_many_sql = (
        "SELECT {key}, {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {key} IN ({keys})"
    )
    delete_many_sql = "DELETE FROM {table} WHERE {store} = %s AND {key} IN ({keys}) AND {live}"
    # One batch each; ordered, so that concurrent flushes lock rows in the same order.
    flush_sql = (
        "DELETE FROM {table} WHERE {id} IN ("
        "SELECT {id} FROM {table} WHERE {store} = %s ORDER BY {key} LIMIT %s)"
    )
    flush_all_sql = (
        "DELETE FROM {table} WHERE {id} IN (SELECT {id} FROM {table} ORDER BY {id} LIMIT %s)"
    )
    stores_sql = "SELECT DISTINCT {store} FROM {table} WHERE {live} ORDER BY {store}"
    expired_ids_sql = (
        "SELECT {id} FROM {table} WHERE {expires_at} <= %s ORDER BY {expires_at} LIMIT %s"
    )
    delete_expired_sql = "DELETE FROM {table} WHERE {id} IN ({ids}) AND {expires_at} <= %s"
    # One batch of purge_expired() in one statement, taking (now, limit), where the
    # database has one; None: expired_ids_sql, then delete_expired_sql.
    purge_sql: str | None = None
    # The database's estimate of how many rows a table holds, read without
    # counting them; None where it keeps none (SQLite). See estimated_rows().
    estimate_sql: str | None = None
    # fmt: on

    def __init__(self, connection: BaseDatabaseWrapper, model: type[Model]) -> None:
        quote = connection.ops.quote_name
        columns = ("id", "store", "key", "value", "serializer", "mac", "expires_at", "updated_at")
        self.names = {name: quote(name) for name in columns}
        self.names["table"] = quote(model._meta.db_table)
        self.names["live"] = self.live.format(**self.names)
        # The fields filled per call ({rows}, {keys}, {ids}) survive formatting.
        self.names.update(rows="{rows}", keys="{keys}", ids="{ids}")
        for attribute, statement in self._statements():
            setattr(self, attribute, statement.format(**self.names))
        self.max_params = connection.features.max_query_params or 10_000
        # INSERT ... RETURNING: PostgreSQL, SQLite 3.35+, MariaDB 10.5+.
        self.can_return = bool(connection.features.can_return_columns_from_insert)
        # What the SELECTs over a range of keys read from (see MySQLOperations).
        self.key_range_source = self.names["table"]

    @classmethod
    def exact_collation(cls, connection: BaseDatabaseWrapper) -> str | None:
        """Return the collation that compares and sorts text by code point on
        ``connection``, or None where the default one does (SQLite's BINARY).

        The store and key columns take it (see fields.ExactCharField), from their
        first migration on: no table is needed to ask.
        """
        return None

    @classmethod
    def estimated_rows(cls, cursor: CursorWrapper, table: str) -> int | None:
        """Return the database's estimate of how many rows ``table`` (its name in the
        database) holds, or None where it keeps none."""
        if cls.estimate_sql is None:
            return None
        cursor.execute(cls.estimate_sql, (table,))
        row = cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    @classmethod
    def is_conflict(cls, error: BaseException) -> bool:
        """Return whether ``error``, raised by this database's driver, is a deadlock or
        serialization failure the database rolled back (so that retry.py runs the
        operation again)."""
        return False

    def with_placeholder(self, placeholder: str) -> Operations:
        """Return a copy of these statements marking parameters with ``placeholder``
        (SQLite's driver takes ``?``) instead of Django's ``%s``."""
        other = copy.copy(self)
        other.placeholder = placeholder
        for attribute, statement in self._statements():
            setattr(other, attribute, statement.replace("%s", placeholder))
        return other

    def fixed_statements(self) -> frozenset[str]:
        """Return the statements that are the same on every call (not built per call
        around a list of keys or a range of them)."""
        return frozenset(sql for _, sql in self._statements() if "{" not in sql)

    def _statements(self) -> Iterator[tuple[str, str]]:
        """Yield ``(attribute, statement)`` for each statement (``*_sql``) that is not None."""
        for attribute in dir(self):
            if attribute.endswith("_sql"):
                statement = getattr(self, attribute)
                if statement is not None:
                    yield attribute, statement

    def sql(self, statement: str) -> str:
        """Return ``statement``, built with ``%s`` for parameters, in this object's style."""
        if self.placeholder == "%s":
            return statement
        return statement.replace("%s", self.placeholder)

    # Single keys

    def get(self, cursor: CursorWrapper, store: str, key: str, now: float) -> Encoded | None:
        """Return the live entry's ``(payload, serializer, mac)``, or None if it is missing."""
        cursor.execute(self.get_sql, (store, key))
        row = cursor.fetchone()
        if row is None:
            return None
        payload, serializer, mac, expires_at = row
        if not is_live(expires_at, now):
            return None
        if type(payload) is not bytes or (mac is not None and type(mac) is not bytes):
            return as_encoded(row[:3])  # psycopg2's memoryview
        return Encoded(payload, serializer, mac)

    def exists(self, cursor: CursorWrapper, store: str, key: str, now: float) -> bool:
        cursor.execute(self.expiry_sql, (store, key))
        row = cursor.fetchone()
        return row is not None and is_live(row[0], now)

    def expiry(
        self, cursor: CursorWrapper, store: str, key: str, now: float
    ) -> tuple[float | None] | None:
        """Return ``(expires_at,)`` of a live entry, or None if it is missing."""
        cursor.execute(self.expiry_sql, (store, key))
        row = cursor.fetchone()
        return None if row is None or not is_live(row[0], now) else (row[0],)

    def touch(
        self, cursor: CursorWrapper, store: str, key: str, expires_at: float | None, now: float
    ) -> bool:
        cursor.execute(self.touch_sql, (expires_at, store, key, now))
        return bool(cursor.rowcount > 0)

    def delete(self, cursor: CursorWrapper, store: str, key: str, now: float) -> bool:
        cursor.execute(self.delete_sql, (store, key, now))
        return bool(cursor.rowcount > 0)

    def add(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        """Write the entry unless a live one exists; return whether it was written."""
        payload, serializer, mac = encoded
        cursor.execute(self.add_sql, (store, key, payload, serializer, mac, expires_at, now, now))
        return bool(cursor.rowcount > 0)

    def update_live(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        payload, serializer, mac = encoded
        params = (payload, serializer, mac, expires_at, now, store, key, now)
        cursor.execute(self.update_live_sql, params)
        return bool(cursor.rowcount > 0)

    def set(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        """Write the entry; return True if no live entry was there before.

        One statement where INSERT ... RETURNING works (see set_sql), else add()
        then update_live(): each decides under the row's lock, so of several
        processes setting the same new key exactly one sees True, the one whose
        add() inserted it.
        """
        if self.can_return:
            payload, serializer, mac = encoded
            overwritten_at = math.nextafter(now, math.inf)
            params = (store, key, payload, serializer, mac, expires_at, now, now, overwritten_at)
            cursor.execute(self.set_sql, params)
            (written_at,) = cursor.fetchone()
            return bool(written_at != overwritten_at)
        for _ in range(MAX_RACES):
            if self.add(cursor, store, key, encoded, expires_at, now):
                return True
            if self.update_live(cursor, store, key, encoded, expires_at, now):
                return False
        raise KeyValError(f"set({key!r}) in store {store!r} lost {MAX_RACES} races in a row")

    def replace_value(
        self, cursor: CursorWrapper, store: str, key: str, encoded: Encoded, now: float
    ) -> None:
        """Overwrite the value of an entry the caller holds locked, keeping its expiry."""
        payload, serializer, mac = encoded
        cursor.execute(self.replace_value_sql, (payload, serializer, mac, now, store, key))

    def lock(self, cursor: CursorWrapper, store: str, key: str) -> Row | None:
        """Return the entry (live or expired) and lock it until the transaction ends."""
        cursor.execute(self.lock_sql, (store, key))
        return stored_row(cursor.fetchone())

    def pop(self, cursor: CursorWrapper, store: str, key: str) -> Row | None:
        """Delete the entry (live or expired) and return it. Unless pop_is_atomic, run
        inside a transaction."""
        if self.pop_is_atomic:
            cursor.execute(self.pop_sql, (store, key))
            return stored_row(cursor.fetchone())
        row = self.lock(cursor, store, key)
        if row is not None:
            cursor.execute(self.delete_key_sql, (store, key))
        return row

    # Many keys

    def batch_size(self, params_each: int) -> int:
        """Return how many items of ``params_each`` parameters one statement takes."""
        return max(1, min(1000, (self.max_params - 4) // params_each))

    def batches(
        self,
        items: Sequence[T],
        params_each: int,
        size_of: Callable[[T], int] | None = None,
    ) -> Iterator[Sequence[T]]:
        """Split ``items`` into batches that fit one statement's parameters and,
        with ``size_of``, about BATCH_BYTES of data."""
        count = self.batch_size(params_each)
        batch: list[T] = []
        batch_bytes = 0
        for item in items:
            batch.append(item)
            batch_bytes += size_of(item) if size_of else 0
            if len(batch) >= count or batch_bytes >= BATCH_BYTES:
                yield batch
                batch, batch_bytes = [], 0
        if batch:
            yield batch

    def get_many(
        self, cursor: CursorWrapper, store: str, keys: Sequence[str], now: float
    ) -> list[tuple[str, bytes, str, bytes | None]]:
        """Return ``(key, payload, serializer, mac)`` of the live entries among ``keys``."""
        rows: list[tuple[str, bytes, str, bytes | None]] = []
        for batch in self.batches(keys, 1):
            sql, listed = self.keys_in(self.get_many_sql, batch)
            cursor.execute(sql, (store, *listed))
            # The expiry is tested here, as get() does: see get_sql.
            fetched = [
                (key, payload, serializer, mac)
                for key, payload, serializer, mac, expires_at in cursor.fetchall()
                if is_live(expires_at, now)
            ]
            if fetched and not isinstance(fetched[0][1], bytes):
                # psycopg2 reads BLOBs as memoryview; the other drivers give bytes.
                fetched = keyed_values(fetched)
            rows += fetched
        return rows

    def set_many(
        self,
        cursor: CursorWrapper,
        store: str,
        entries: Sequence[tuple[str, Encoded]],
        expires_at: float | None,
        now: float,
    ) -> None:
        """Upsert ``entries``. Run inside a transaction: it may take several statements."""
        placeholders = self.row_placeholders
        # Rows are locked in key order, the same in every process: two
        # set_many() calls on overlapping keys wait for each other instead of
        # deadlocking.
        entries = sorted(entries, key=lambda entry: entry[0])
        for batch in self.batches(entries, 7, size_of=lambda entry: len(entry[1].payload)):
            sql = self.sql(self.upsert_many_sql.format(rows=", ".join([placeholders] * len(batch))))
            params: list[Any] = []
            for key, (payload, serializer, mac) in batch:
                params += [store, key, payload, serializer, mac, expires_at, now]
            cursor.execute(sql, params)

    def delete_many(
        self, cursor: CursorWrapper, store: str, keys: Sequence[str], now: float
    ) -> int:
        deleted = 0
        for batch in self.batches(keys, 1):
            sql, listed = self.keys_in(self.delete_many_sql, batch)
            cursor.execute(sql, (store, *listed, now))
            deleted += int(cursor.rowcount)
        return deleted

    def keys_in(self, sql: str, batch: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        """Return ``sql`` with its list of keys ready for ``batch``, and the parameters
        that fill the list."""
        return self.sql(sql.format(keys=", ".join(["%s"] * len(batch)))), tuple(batch)

    # Prefixes and whole stores

    def key_range(
        self, store: str, prefix: str, after: str | None, now: float
    ) -> tuple[str, list[Any]]:
        """Return the WHERE clause and parameters of the live keys of ``store`` under ``prefix``.

        A prefix is a range of keys rather than a LIKE pattern: keys compare by
        code point, so the range stays on the (store, key) index and ``%``,
        ``_`` and ``\\`` are ordinary characters.
        """
        names = self.names
        where, params = [f"{names['store']} = %s", names["live"]], [store, now]
        if after is not None:
            where.append(f"{names['key']} > %s")
            params.append(after)
        elif prefix:
            where.append(f"{names['key']} >= %s")
            params.append(prefix)
        upper = prefix_upper_bound(prefix)
        if upper is not None:
            where.append(f"{names['key']} < %s")
            params.append(upper)
        return " AND ".join(where), params

    def keys(
        self,
        cursor: CursorWrapper,
        store: str,
        prefix: str,
        now: float,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[str]:
        where, params = self.key_range(store, prefix, after, now)
        sql = f"SELECT {self.names['key']} FROM {self.key_range_source} WHERE {where} "
        sql += f"ORDER BY {self.names['key']}"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        cursor.execute(self.sql(sql), params)
        return [key for (key,) in cursor.fetchall()]

    def items(
        self,
        cursor: CursorWrapper,
        store: str,
        prefix: str,
        now: float,
        after: str | None,
        limit: int,
    ) -> list[KeyedRow]:
        names = self.names
        where, params = self.key_range(store, prefix, after, now)
        sql = (
            f"SELECT {names['key']}, {names['value']}, {names['serializer']}, {names['mac']}, "
            f"{names['expires_at']} FROM {self.key_range_source} WHERE {where} "
            f"ORDER BY {names['key']} LIMIT %s"
        )
        cursor.execute(self.sql(sql), [*params, limit])
        return keyed_rows(cursor.fetchall())

    def count(self, cursor: CursorWrapper, store: str, prefix: str, now: float) -> int:
        where, params = self.key_range(store, prefix, None, now)
        sql = f"SELECT COUNT(*) FROM {self.key_range_source} WHERE {where}"
        cursor.execute(self.sql(sql), params)
        (count,) = cursor.fetchone()
        return int(count)

    def delete_prefix(self, cursor: CursorWrapper, store: str, prefix: str, now: float) -> int:
        where, params = self.key_range(store, prefix, None, now)
        cursor.execute(self.sql(f"DELETE FROM {self.names['table']} WHERE {where}"), params)
        return int(cursor.rowcount)

    def flush(self, cursor: CursorWrapper, store: str) -> None:
        """Delete every entry of ``store``, FLUSH_BATCH rows per statement."""
        self._in_batches(cursor, self.flush_sql, (store,))

    def flush_all(self, cursor: CursorWrapper) -> None:
        """Delete every entry, FLUSH_BATCH rows per statement."""
        self._in_batches(cursor, self.flush_all_sql, ())

    def _in_batches(self, cursor: CursorWrapper, sql: str, params: tuple[Any, ...]) -> None:
        # A short batch means no row was left: the statement deletes every row its
        # SELECT finds (SQLite runs one writer at a time, PostgreSQL locks them
        # first and MySQL's DELETE reads the latest rows).
        while True:
            started = time.monotonic()
            cursor.execute(sql, (*params, FLUSH_BATCH))
            if cursor.rowcount < FLUSH_BATCH:
                return
            self.between_batches(cursor, time.monotonic() - started)

    def between_batches(self, cursor: CursorWrapper, seconds: float) -> None:
        """Called after each full batch of flush(), which held its locks for ``seconds``."""

    def stores(self, cursor: CursorWrapper, now: float) -> list[str]:
        cursor.execute(self.stores_sql, (now,))
        return [store for (store,) in cursor.fetchall()]

    def purge_expired(self, cursor: CursorWrapper, now: float, limit: int) -> tuple[int, bool]:
        """Delete up to ``limit`` expired entries, oldest expiry first.

        Return how many were deleted and whether more may remain.
        """
        if self.purge_sql is not None:
            cursor.execute(self.purge_sql, (now, limit))
            return int(cursor.rowcount), bool(cursor.rowcount == limit)
        cursor.execute(self.expired_ids_sql, (now, limit))
        ids = [entry_id for (entry_id,) in cursor.fetchall()]
        if not ids:
            return 0, False
        sql = self.sql(self.delete_expired_sql.format(ids=", ".join(["%s"] * len(ids))))
        cursor.execute(sql, (*ids, now))
        return int(cursor.rowcount), len(ids) == limit


_statement_sets: dict[tuple[Any, str, str, str], Any] = {}
StatementSet = TypeVar("StatementSet")


def statements_for(
    kind: Callable[[Operations, BaseDatabaseWrapper], StatementSet],
    ops: Operations,
    connection: BaseDatabaseWrapper,
) -> StatementSet:
    """Return ``kind(ops, connection)``, a set of statements built once per database
    alias, vendor and placeholder style (generations, leases)."""
    cache_key = (kind, connection.alias, connection.vendor, ops.placeholder)
    found = _statement_sets.get(cache_key)
    if found is None:
        found = _statement_sets[cache_key] = kind(ops, connection)
    return found
