"""What PostgreSQL does better: one statement for any list of keys, rows locked in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from django_keyval.sql.base import Operations


class PostgreSQLOperations(Operations):
    pop_is_atomic = True
    # The SQLSTATEs deadlock_detected and serialization_failure.
    conflict_sqlstates = frozenset({"40P01", "40001"})

    # fmt: off
    # One statement for any number of keys (an array parameter), where an IN
    # list makes one per length: it is prepared once, when prepared statements
    # are on (see sql/cursors.py), and its plan looks each key up in the index.
    get_many_sql = (
        "SELECT {key}, {value}, {serializer}, {mac} FROM {table} "
        "WHERE {store} = %s AND {key} = ANY(%s) AND {live}"
    )
    delete_many_sql = "DELETE FROM {table} WHERE {store} = %s AND {key} = ANY(%s) AND {live}"
    # One batch in one statement, oldest expiry first. SKIP LOCKED passes over
    # the rows a writer holds (it may be reviving them): the purge never waits
    # for a lock, so it can never be part of a deadlock; those rows are left
    # for the next purge. FOR UPDATE checks the condition again on the newest
    # version of each row it locks, and the rows stay locked until deleted.
    # Each batch statement below joins its locked rows as a table: written as
    # "id IN (SELECT ... LIMIT ...)", with statistics that see few expired rows
    # (taken before a mass expiry), it can be planned as a join that runs the
    # SELECT again for every expired row, minutes per batch on a million rows.
    purge_sql = (
        "DELETE FROM {table} USING ("
        "SELECT {id} FROM {table} WHERE {expires_at} <= %s "
        "ORDER BY {expires_at} LIMIT %s FOR UPDATE SKIP LOCKED"
        ") AS batch WHERE {table}.{id} = batch.{id}"
    )
    # A batch of flush() locks its rows before deleting them: a row deleted
    # meanwhile is skipped and the next one taken, so a short batch means the
    # store is empty (as of the statement's start).
    flush_sql = (
        "DELETE FROM {table} USING ("
        "SELECT {id} FROM {table} WHERE {store} = %s ORDER BY {key} LIMIT %s FOR UPDATE"
        ") AS batch WHERE {table}.{id} = batch.{id}"
    )
    flush_all_sql = (
        "DELETE FROM {table} USING ("
        "SELECT {id} FROM {table} ORDER BY {id} LIMIT %s FOR UPDATE"
        ") AS batch WHERE {table}.{id} = batch.{id}"
    )
    # The planner's row estimate, refreshed by ANALYZE and autovacuum (-1: never analyzed).
    estimate_sql = "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)"
    # fmt: on

    @classmethod
    def exact_collation(cls, connection: BaseDatabaseWrapper) -> str | None:
        # "C" compares UTF-8 bytes, which sort as code points do.
        return "C"

    @classmethod
    def estimated_rows(cls, cursor: CursorWrapper, table: str) -> int | None:
        # to_regclass() reads an SQL name: quoted, as Django quotes the table's.
        return super().estimated_rows(cursor, cursor.db.ops.quote_name(table))

    @classmethod
    def is_conflict(cls, error: BaseException) -> bool:
        # psycopg 3 names the SQLSTATE sqlstate, psycopg2 pgcode.
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        return sqlstate in cls.conflict_sqlstates

    def keys_in(self, sql: str, batch: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        return sql, (list(batch),)
