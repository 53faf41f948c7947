"""What PostgreSQL does better: set() and pop() in one statement each."""

from __future__ import annotations

from django.db.backends.utils import CursorWrapper

from django_keyval.codec import Encoded
from django_keyval.sql.base import Operations, Row, as_bytes, as_mac


class PostgreSQLOperations(Operations):
    pop_is_atomic = True

    # fmt: off
    # Overwrites a live entry or inserts a new one, and says which: xmax is 0
    # only in a freshly inserted row version. An expired entry matches neither
    # branch (no row is returned), and set() falls back to add().
    set_sql = (
        "INSERT INTO {table} ({store}, {key}, {value}, {serializer}, {mac}, {expires_at}, "
        "{updated_at}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT ({store}, {key}) DO UPDATE SET "
        "{value} = EXCLUDED.{value}, {serializer} = EXCLUDED.{serializer}, "
        "{mac} = EXCLUDED.{mac}, {expires_at} = EXCLUDED.{expires_at}, "
        "{updated_at} = EXCLUDED.{updated_at} "
        "WHERE {table}.{expires_at} IS NULL OR {table}.{expires_at} > %s "
        "RETURNING (xmax = 0)"
    )
    pop_sql = (
        "DELETE FROM {table} WHERE {store} = %s AND {key} = %s "
        "RETURNING {value}, {serializer}, {mac}, {expires_at}"
    )
    # fmt: on

    def set(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        payload, tag, mac = encoded
        cursor.execute(self.set_sql, (store, key, payload, tag, mac, expires_at, now, now))
        row = cursor.fetchone()
        if row is not None:
            return bool(row[0])
        return super().set(cursor, store, key, encoded, expires_at, now)

    def pop(self, cursor: CursorWrapper, store: str, key: str) -> Row | None:
        cursor.execute(self.pop_sql, (store, key))
        row = cursor.fetchone()
        return None if row is None else Row(as_bytes(row[0]), row[1], as_mac(row[2]), row[3])
