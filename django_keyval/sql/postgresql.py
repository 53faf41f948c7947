"""What PostgreSQL does better: pop() in one statement, rows locked in batches."""

from __future__ import annotations

from django.db.backends.utils import CursorWrapper

from django_keyval.sql.base import Operations, Row, as_bytes, as_mac


class PostgreSQLOperations(Operations):
    pop_is_atomic = True

    # fmt: off
    pop_sql = (
        "DELETE FROM {table} WHERE {store} = %s AND {key} = %s "
        "RETURNING {value}, {serializer}, {mac}, {expires_at}"
    )
    # One batch in one statement, oldest expiry first. SKIP LOCKED passes over
    # the rows a writer holds (it may be reviving them): the purge never waits
    # for a lock, so it can never be part of a deadlock; those rows are left
    # for the next purge. The outer condition is checked again on the newest
    # version of each row.
    purge_sql = (
        "DELETE FROM {table} WHERE {id} IN ("
        "SELECT {id} FROM {table} WHERE {expires_at} <= %s "
        "ORDER BY {expires_at} LIMIT %s FOR UPDATE SKIP LOCKED"
        ") AND {expires_at} <= %s"
    )
    # A batch of flush() locks its rows before deleting them: a row deleted
    # meanwhile is skipped and the next one taken, so a short batch means the
    # store is empty (as of the statement's start).
    flush_sql = (
        "DELETE FROM {table} WHERE {id} IN ("
        "SELECT {id} FROM {table} WHERE {store} = %s ORDER BY {key} LIMIT %s FOR UPDATE)"
    )
    flush_all_sql = (
        "DELETE FROM {table} WHERE {id} IN ("
        "SELECT {id} FROM {table} ORDER BY {id} LIMIT %s FOR UPDATE)"
    )
    # fmt: on

    def pop(self, cursor: CursorWrapper, store: str, key: str) -> Row | None:
        cursor.execute(self.pop_sql, (store, key))
        row = cursor.fetchone()
        return None if row is None else Row(as_bytes(row[0]), row[1], as_mac(row[2]), row[3])

    def purge_expired(self, cursor: CursorWrapper, now: float, limit: int) -> tuple[int, bool]:
        cursor.execute(self.purge_sql, (now, limit, now))
        return int(cursor.rowcount), bool(cursor.rowcount == limit)
