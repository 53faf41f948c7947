"""What MySQL and MariaDB do differently: ON DUPLICATE KEY UPDATE instead of ON CONFLICT."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable, Sequence

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from django_keyval.exceptions import ValueTooLarge
from django_keyval.sql.base import Operations
from django_keyval.sql.rows import Encoded

# Tells the caller, through the connection's insert id, whether the statement
# wrote a new entry: LAST_INSERT_ID(id) when it inserted or replaced an
# expired entry (the insert id is then non-zero), LAST_INSERT_ID(0) when a live
# entry was there. It comes first in the SET list because MySQL evaluates the
# assignments left to right, and {expires_at} must still be the old expiry.
_REPORT_NEW = "{id} = IF({live}, {id} + LAST_INSERT_ID(0), LAST_INSERT_ID({id}))"


# Values travel as base64 text, decoded by the server (FROM_BASE64()):
# mysqlclient escapes bytes into a _binary'...' literal of up to twice their
# size, which the server parses about twice as slowly as it decodes base64 (1 MiB
# values: 24.6 writes/s escaped, 44.3/s in base64, MariaDB 10.11, mysqlclient
# 2.3); small values cost the same either way.
VALUE = "FROM_BASE64(%s)"

# A statement must fit MySQL's max_allowed_packet (16 MiB by default), so
# larger values are written in pieces of this size, appended in the same
# transaction.
PIECE_SIZE = 4 * 1024 * 1024

# No value can be longer than max_allowed_packet (CONCAT() refuses a longer
# result). Values up to this size fit any supported server's default, and are
# batched by set_many(); larger ones ask the server for its limit first, and
# are written one by one.
CHECKED_SIZE = 1024 * 1024


def _keep_live(column: str) -> str:
    return f"{{{column}}} = IF({{live}}, {{{column}}}, VALUES({{{column}}}))"


class MySQLOperations(Operations):
    # ER_LOCK_DEADLOCK and ER_LOCK_WAIT_TIMEOUT (which is how a deadlock ends when
    # innodb_deadlock_detect is off).
    conflict_errors = frozenset({1213, 1205})

    # fmt: off
    row_placeholders = f"(%s, %s, {VALUE}, %s, %s, %s, %s)"
    insert_sql = (
        "INSERT INTO {table} ({store}, {key}, {value}, {serializer}, {mac}, {expires_at}, "
        f"{{updated_at}}) VALUES {row_placeholders} ON DUPLICATE KEY UPDATE "
    )
    add_sql = insert_sql + ", ".join([
        _REPORT_NEW,
        *map(_keep_live, ["value", "serializer", "mac", "updated_at", "expires_at"]),
    ])
    set_sql = insert_sql + ", ".join([
        _REPORT_NEW,
        "{value} = VALUES({value}), {serializer} = VALUES({serializer}), {mac} = VALUES({mac}), "
        "{updated_at} = VALUES({updated_at}), {expires_at} = VALUES({expires_at})",
    ])
    upsert_many_sql = (
        "INSERT INTO {table} ({store}, {key}, {value}, {serializer}, {mac}, {expires_at}, "
        "{updated_at}) VALUES {rows} ON DUPLICATE KEY UPDATE "
        "{value} = VALUES({value}), {serializer} = VALUES({serializer}), {mac} = VALUES({mac}), "
        "{updated_at} = VALUES({updated_at}), {expires_at} = VALUES({expires_at})"
    )
    update_live_sql = (
        f"UPDATE {{table}} SET {{value}} = {VALUE}, {{serializer}} = %s, {{mac}} = %s, "
        "{expires_at} = %s, {updated_at} = %s WHERE {store} = %s AND {key} = %s AND {live}"
    )
    replace_value_sql = (
        f"UPDATE {{table}} SET {{value}} = {VALUE}, {{serializer}} = %s, {{mac}} = %s, "
        "{updated_at} = %s WHERE {store} = %s AND {key} = %s"
    )
    # The primary key named, as for ranges (see __init__): left to itself, MariaDB
    # reads a list of keys a sixth more slowly.
    get_many_sql = (
        "SELECT {key}, {value}, {serializer}, {mac}, {expires_at} FROM {table} "
        "FORCE INDEX (PRIMARY) WHERE {store} = %s AND {key} IN ({keys})"
    )
    append_sql = (
        f"UPDATE {{table}} SET {{value}} = CONCAT({{value}}, {VALUE}) "
        "WHERE {store} = %s AND {key} = %s"
    )
    # One batch in one statement, walking the expires_at index in order, so that
    # concurrent purges lock rows in the same order (a deadlock with a writer is
    # retried, see retry.py).
    purge_sql = "DELETE FROM {table} WHERE {expires_at} <= %s ORDER BY {expires_at} LIMIT %s"
    # One batch of flush() or flush_all(), in index order. (MariaDB sorts the
    # whole store for "ORDER BY key" alone, with the utf8mb4 connections Django
    # opens: naming both columns of the index lets it read just one batch.)
    flush_sql = "DELETE FROM {table} WHERE {store} = %s ORDER BY {store}, {key} LIMIT %s"
    flush_all_sql = "DELETE FROM {table} ORDER BY {id} LIMIT %s"
    max_packet_sql = "SELECT @@max_allowed_packet"
    # InnoDB's estimate from its index statistics; it can be off by tens of percent.
    estimate_sql = (
        "SELECT TABLE_ROWS FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
    )
    # fmt: on

    def __init__(self, connection: BaseDatabaseWrapper, model: type[Model]) -> None:
        super().__init__(connection, model)
        # MariaDB has DELETE ... RETURNING; MySQL has not.
        self.pop_is_atomic = bool(connection.mysql_is_mariadb)  # type: ignore[attr-defined]
        # The statements over a range of keys name the primary key, (store, key)
        # here (migration 0005): MariaDB plans "store = %s AND key > %s ORDER BY
        # key LIMIT n" as a walk over the whole store unless told.
        self.key_range_source = f"{self.names['table']} FORCE INDEX (PRIMARY)"

    @classmethod
    def exact_collation(cls, connection: BaseDatabaseWrapper) -> str | None:
        # MySQL's and MariaDB's default collations fold case and accents and ignore
        # trailing spaces; their binary NO PAD collations do none of that.
        if connection.mysql_is_mariadb:  # type: ignore[attr-defined]
            return "utf8mb4_nopad_bin"
        return "utf8mb4_0900_bin"

    @classmethod
    def is_conflict(cls, error: BaseException) -> bool:
        # mysqlclient's errors carry the MySQL error number first.
        return (
            type(error).__module__.startswith("MySQLdb")
            and bool(error.args)
            and error.args[0] in cls.conflict_errors
        )

    def _in_pieces(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        write: Callable[[Encoded], bool | None],
    ) -> bool | None:
        """Run ``write`` with the value, or with its first piece and append the rest,
        each in base64 (see VALUE).

        ``write`` returns False when it left the row alone (nothing to append).
        """
        payload = encoded.payload
        if len(payload) > CHECKED_SIZE:
            self._check_size(cursor, store, key, len(payload))
        if len(payload) <= PIECE_SIZE:
            return write(encoded._replace(payload=b64encode(payload)))
        with transaction.atomic(using=cursor.db.alias):
            wrote = write(encoded._replace(payload=b64encode(payload[:PIECE_SIZE])))
            if wrote is not False:
                for start in range(PIECE_SIZE, len(payload), PIECE_SIZE):
                    piece = b64encode(payload[start : start + PIECE_SIZE])
                    cursor.execute(self.append_sql, (piece, store, key))
            return wrote

    def _check_size(self, cursor: CursorWrapper, store: str, key: str, size: int) -> None:
        cursor.execute(self.max_packet_sql)
        (limit,) = cursor.fetchone()
        if size > int(limit):
            raise ValueTooLarge(
                f"the value of key {key!r} in store {store!r} is {size:,} bytes, more than "
                f"the {int(limit):,} bytes the database accepts (its max_allowed_packet); "
                "nothing was written"
            )

    def add(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        def write(encoded: Encoded) -> bool:
            payload, serializer, mac = encoded
            params = (store, key, payload, serializer, mac, expires_at, now, now, *[now] * 5)
            cursor.execute(self.add_sql, params)
            return bool(cursor.lastrowid)

        return bool(self._in_pieces(cursor, store, key, encoded, write))

    def set(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        created = False

        def write(encoded: Encoded) -> None:
            nonlocal created
            payload, serializer, mac = encoded
            params = (store, key, payload, serializer, mac, expires_at, now, now)
            cursor.execute(self.set_sql, params)
            created = bool(cursor.lastrowid)

        self._in_pieces(cursor, store, key, encoded, write)
        return created

    def update_live(
        self,
        cursor: CursorWrapper,
        store: str,
        key: str,
        encoded: Encoded,
        expires_at: float | None,
        now: float,
    ) -> bool:
        def write(encoded: Encoded) -> bool:
            return Operations.update_live(self, cursor, store, key, encoded, expires_at, now)

        return bool(self._in_pieces(cursor, store, key, encoded, write))

    def replace_value(
        self, cursor: CursorWrapper, store: str, key: str, encoded: Encoded, now: float
    ) -> None:
        def write(encoded: Encoded) -> None:
            Operations.replace_value(self, cursor, store, key, encoded, now)

        self._in_pieces(cursor, store, key, encoded, write)

    def set_many(
        self,
        cursor: CursorWrapper,
        store: str,
        entries: Sequence[tuple[str, Encoded]],
        expires_at: float | None,
        now: float,
    ) -> None:
        # A batch of small values holds up to BATCH_BYTES plus one value, which
        # travels as base64, 4/3 of its size: CHECKED_SIZE keeps it in a packet.
        small = [
            (key, encoded._replace(payload=b64encode(encoded.payload)))
            for key, encoded in entries
            if len(encoded.payload) <= CHECKED_SIZE
        ]
        super().set_many(cursor, store, small, expires_at, now)
        for key, encoded in entries:
            if len(encoded.payload) > CHECKED_SIZE:
                self.set(cursor, store, key, encoded, expires_at, now)
