"""The statements of local caches: store generations, and reads that fill a local copy."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from django_keyval.sql.base import Operations, statements_for
from django_keyval.sql.rows import KeyedRow, Row, keyed_rows, stored_row


def new_generation() -> int:
    """Return a new generation: random, so that equal generations mean the same writes
    even after a restore or a flush of the generation table (it fits a signed BIGINT)."""
    return random.getrandbits(62)


class Generations:
    """Generation reads and bumps, and the reads that fill a local copy.

    Built from the entry table's statements (``ops``), in their placeholder style.
    """

    # fmt: off
    read_sql = "SELECT {generation} FROM {gen_table} WHERE {store} = %s"
    # Takes the row's lock until the transaction ends: the writers of a cached
    # store bump first, so they queue on this row instead of deadlocking on entries.
    bump_sql = (
        "INSERT INTO {gen_table} ({store}, {generation}) VALUES (%s, %s) "
        "ON CONFLICT ({store}) DO UPDATE SET {generation} = EXCLUDED.{generation}"
    )
    bump_mysql_sql = (
        "INSERT INTO {gen_table} ({store}, {generation}) VALUES (%s, %s) "
        "ON DUPLICATE KEY UPDATE {generation} = VALUES({generation})"
    )
    bump_every_sql = "UPDATE {gen_table} SET {generation} = %s"
    # A whole store, one row more than the caller will keep (to tell it is too big).
    load_sql = (
        "SELECT {key}, {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {live} LIMIT %s"
    )
    fill_sql = (
        "SELECT {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {key} = %s AND {live}"
    )
    fill_many_sql = (
        "SELECT {key}, {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {key} IN ({keys}) AND {live}"
    )
    # fmt: on

    def __init__(self, ops: Operations, connection: BaseDatabaseWrapper) -> None:
        self.ops = ops
        quote = connection.ops.quote_name
        model = apps.get_model("django_keyval", "Generation")
        names = {
            **ops.names,
            "gen_table": quote(model._meta.db_table),
            "generation": quote("generation"),
        }
        if connection.vendor == "mysql":
            self.bump_sql = self.bump_mysql_sql
        for attribute in ("read_sql", "bump_sql", "bump_every_sql", "load_sql", "fill_sql"):
            setattr(self, attribute, ops.sql(getattr(self, attribute).format(**names)))
        self.fill_many_sql = self.fill_many_sql.format(**names)

    def read(self, cursor: CursorWrapper, store: str) -> int | None:
        """Return the generation of ``store``, or None if it was never bumped."""
        cursor.execute(self.read_sql, (store,))
        row = cursor.fetchone()
        return None if row is None else int(row[0])

    def bump(self, cursor: CursorWrapper, stores: Iterable[str]) -> None:
        """Give each of ``stores`` a new generation. Run in the transaction of the write."""
        for store in sorted(stores):  # One order in every process: no deadlock between bumps.
            cursor.execute(self.bump_sql, (store, new_generation()))

    def bump_every(self, cursor: CursorWrapper) -> None:
        """Give every store that has a generation a new one."""
        cursor.execute(self.bump_every_sql, (new_generation(),))

    def load(self, cursor: CursorWrapper, store: str, now: float, limit: int) -> list[KeyedRow]:
        """Return the live entries of ``store``, at most ``limit`` + 1 of them."""
        cursor.execute(self.load_sql, (store, now, limit + 1))
        return keyed_rows(cursor.fetchall())

    def fill(self, cursor: CursorWrapper, store: str, key: str, now: float) -> Row | None:
        """Return the live entry ``key`` of ``store`` with its expiry, or None."""
        cursor.execute(self.fill_sql, (store, key, now))
        return stored_row(cursor.fetchone())

    def fill_many(
        self, cursor: CursorWrapper, store: str, keys: Sequence[str], now: float
    ) -> list[KeyedRow]:
        """Return the live entries among ``keys`` of ``store`` with their expiries."""
        rows: list[KeyedRow] = []
        for batch in self.ops.batches(keys, 1):
            listed = ", ".join(["%s"] * len(batch))
            cursor.execute(
                self.ops.sql(self.fill_many_sql.format(keys=listed)), (store, *batch, now)
            )
            rows += keyed_rows(cursor.fetchall())
        return rows


def local_cache_statements(ops: Operations, connection: BaseDatabaseWrapper) -> frozenset[str]:
    """Return the statements of local caches that are the same on every call (for
    psycopg to prepare, as it prepares the entry table's: see sql/cursors.py)."""
    generations = generations_for(ops, connection)
    return frozenset(
        {generations.read_sql, generations.bump_sql, generations.load_sql, generations.fill_sql}
    )


def generations_for(ops: Operations, connection: BaseDatabaseWrapper) -> Generations:
    """Return the generation statements for ``connection``, in the style of ``ops``."""
    return statements_for(Generations, ops, connection)
