"""What SQLite does differently: no FOR UPDATE, and RETURNING from version 3.35."""

from __future__ import annotations

import sqlite3
import time

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from django_keyval.sql.base import Operations
from django_keyval.sql.rows import Row, stored_row


class SQLiteOperations(Operations):
    # fmt: off
    # SQLite has no SELECT ... FOR UPDATE. A write takes the database's write
    # lock (waiting for it up to the busy timeout), so starting with a no-op
    # UPDATE locks before reading, and a transaction that only read first
    # cannot fail to upgrade later.
    lock_returning_sql = (
        "UPDATE {table} SET {expires_at} = {expires_at} WHERE {store} = %s AND {key} = %s "
        "RETURNING {value}, {serializer}, {mac}, {expires_at}"
    )
    take_write_lock_sql = (
        "UPDATE {table} SET {expires_at} = {expires_at} WHERE {store} = %s AND {key} = %s"
    )
    lock_sql = (
        "SELECT {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "WHERE {store} = %s AND {key} = %s"
    )
    # fmt: on

    def __init__(self, connection: BaseDatabaseWrapper, model: type[Model]) -> None:
        super().__init__(connection, model)
        # RETURNING came with SQLite 3.35, for DELETE as for INSERT.
        self.pop_is_atomic = self.can_return
        # Django assumes SQLite's historical limit of 999 parameters; builds
        # since 3.32 allow 32766, and Python 3.11+ can ask.
        getlimit = getattr(connection.connection, "getlimit", None)
        if getlimit is not None:
            self.max_params = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def between_batches(self, cursor: CursorWrapper, seconds: float) -> None:
        # SQLite's write lock has no queue: a writer kept waiting tries again
        # now and then (its busy handler sleeps in between), and would find the
        # next batch holding the lock every time. Leaving the lock free as long
        # as each batch held it lets other writers in.
        if cursor.db.get_autocommit():
            time.sleep(seconds)

    def lock(self, cursor: CursorWrapper, store: str, key: str) -> Row | None:
        if self.can_return:
            cursor.execute(self.lock_returning_sql, (store, key))
            return stored_row(cursor.fetchone())
        cursor.execute(self.take_write_lock_sql, (store, key))
        return super().lock(cursor, store, key)
