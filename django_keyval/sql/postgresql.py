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
    # A live entry, written so that the planner has one condition to plan rather
    # than an OR it weighs the expires_at index for: without prepared statements
    # (Django's default) every statement is planned again on every call, and
    # this form took a tenth off a get() (about 20 µs of 200 µs, through psycopg's
    # unnamed statements) when gets still carried it; the writes and deletes that
    # test liveness do. The same rows: 'Infinity' is above every time.
    live = "COALESCE({expires_at}, 'Infinity') > %s"
    # One statement for any number of keys (an array parameter), where an IN
    # list makes one per length: it is prepared once, when prepared statements
    # are on (see sql/cursors.py). Each key is looked up on its own in the
    # (store, key) index, through a LATERAL subquery with LIMIT 1 that the
    # planner can neither flatten nor turn into a scan of the store. Written
    # as "store = %s AND key = ANY(%s)", a generic plan made before the table
    # was first analyzed (after a bulk load, say) looks up the store alone in
    # the index and filters every row of the store: 25 times slower at 5,000
    # keys, and worse with every key added.
    get_many_sql = (
        "SELECT found.* FROM (SELECT %s::text AS store) AS wanted_store "
        "CROSS JOIN unnest(%s::text[]) AS wanted(key) "
        "CROSS JOIN LATERAL (SELECT {key}, {value}, {serializer}, {mac}, {expires_at} "
        "FROM {table} WHERE {store} = wanted_store.store AND {key} = wanted.key LIMIT 1) "
        "AS found"
    )
    # The rows to delete are found as get_many_sql finds them, then deleted by id.
    delete_many_sql = (
        "DELETE FROM {table} WHERE {id} = ANY(ARRAY("
        "SELECT found.{id} FROM (SELECT %s::text AS store) AS wanted_store "
        "CROSS JOIN unnest(%s::text[]) AS wanted(key) "
        "CROSS JOIN LATERAL (SELECT {id} FROM {table} "
        "WHERE {store} = wanted_store.store AND {key} = wanted.key AND {live} LIMIT 1) AS found"
        "))"
    )
    # One batch in one statement, oldest expiry first. SKIP LOCKED passes over
    # the rows a writer holds (it may be reviving them): the purge never waits
    # for a lock, so it can never be part of a deadlock; those rows are left
    # for the next purge. FOR UPDATE checks the condition again on the newest
    # version of each row it locks, and the rows stay locked until deleted.
    # Each batch statement below collects the ids of its locked rows into an
    # array once (an InitPlan), then deletes them through the primary key.
    # Written as "id IN (SELECT ... LIMIT ...)", with statistics that see few
    # expired rows (taken before a mass expiry), it can be planned as a join
    # that runs the SELECT again for every expired row, minutes per batch on a
    # million rows; written as a join with the SELECT, with no statistics at
    # all (before the first ANALYZE), as a hash join that reads the whole
    # table for every batch.
    purge_sql = (
        "DELETE FROM {table} WHERE {id} = ANY(ARRAY("
        "SELECT {id} FROM {table} WHERE {expires_at} <= %s "
        "ORDER BY {expires_at} LIMIT %s FOR UPDATE SKIP LOCKED"
        "))"
    )
    # A batch of flush() locks its rows before deleting them: a row deleted
    # meanwhile is skipped and the next one taken, so a short batch means the
    # store is empty (as of the statement's start).
    flush_sql = (
        "DELETE FROM {table} WHERE {id} = ANY(ARRAY("
        "SELECT {id} FROM {table} WHERE {store} = %s ORDER BY {key} LIMIT %s FOR UPDATE"
        "))"
    )
    flush_all_sql = (
        "DELETE FROM {table} WHERE {id} = ANY(ARRAY("
        "SELECT {id} FROM {table} ORDER BY {id} LIMIT %s FOR UPDATE"
        "))"
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
