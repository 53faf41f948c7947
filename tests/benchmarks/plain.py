"""The limit a user would build by hand: a plain key-value table, no store of ours.

``PlainTableSystem`` keeps its entries in a table of its own,
``(store, key, value)`` with ``PRIMARY KEY (store, key)``: no surrogate id, no
expiry column or index, no liveness check, no signature. Each operation is one
parameterised statement in autocommit, values are pickled. On PostgreSQL the
statements are prepared (psycopg's ``prepare=True``) and results are read in
binary; iteration reads every key in one statement. It is the reference that
``../shared/bench/peers.py`` calls raw_dbapi, beside the benchmark's other raw
reference (``RawSystem``, raw code on django_keyval's own table).
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Iterator, Sequence
from typing import Any

from tests.benchmarks.databases import Database
from tests.benchmarks.systems import System

TABLE = "keyval_bench_plain"

CREATE = {
    "sqlite": f"CREATE TABLE {TABLE} (store TEXT NOT NULL, key TEXT NOT NULL, "
    "value BLOB NOT NULL, PRIMARY KEY (store, key))",
    "postgresql": f"CREATE TABLE {TABLE} (store text NOT NULL, key text NOT NULL, "
    "value bytea NOT NULL, PRIMARY KEY (store, key))",
    # The key as VARBINARY (its UTF-8 bytes): exact, as django_keyval's keys are (a
    # utf8mb4_bin VARCHAR is PAD SPACE on MariaDB: 'k' = 'k ').
    "mysql": f"CREATE TABLE {TABLE} ("
    "store VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, "
    "`key` VARBINARY(1020) NOT NULL, value LONGBLOB NOT NULL, "
    "PRIMARY KEY (store, `key`)) ENGINE=InnoDB",
}


class PlainTableSystem(System):
    """One statement per operation on a plain ``(store, key, value)`` table."""

    name = "plain table"
    store = "plain"
    big_store = "plain-big"

    def __init__(self, database: Database, connection: Any) -> None:
        self.vendor = database.vendor
        self.connection = connection
        setup = connection.cursor()
        setup.execute(f"DROP TABLE IF EXISTS {TABLE}")
        setup.execute(CREATE[self.vendor])
        # MySQLdb hands back a VARBINARY key as bytes.
        self.decode_key = self.vendor == "mysql"
        if self.vendor == "postgresql":
            self.cursor = connection.cursor(binary=True)  # bytea as raw bytes, not hex
            self.options: dict[str, Any] = {"prepare": True}
        else:
            self.cursor = connection.cursor()
            self.options = {}
        p = "?" if self.vendor == "sqlite" else "%s"
        key = "`key`" if self.vendor == "mysql" else "key"
        where = f"store = {p} AND {key} = {p}"
        if self.vendor == "mysql":
            # The value travels as base64 text: MySQLdb escapes bytes into a literal,
            # which the server parses more slowly than FROM_BASE64() decodes.
            self.set_sql = (
                f"INSERT INTO {TABLE} (store, {key}, value) VALUES (%s, %s, FROM_BASE64(%s)) "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)"
            )
        else:
            value = "%b" if self.vendor == "postgresql" else "?"
            self.set_sql = (
                f"INSERT INTO {TABLE} (store, key, value) VALUES ({p}, {p}, {value}) "
                "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value"
            )
        self.get_sql = f"SELECT value FROM {TABLE} WHERE {where}"
        self.exists_sql = f"SELECT 1 FROM {TABLE} WHERE {where} LIMIT 1"
        self.delete_sql = f"DELETE FROM {TABLE} WHERE {where}"
        if self.vendor == "postgresql":
            self.get_many_sql = f"SELECT key, value FROM {TABLE} WHERE store = %s AND key = ANY(%s)"
        else:
            self.get_many_sql = (
                f"SELECT {key}, value FROM {TABLE} WHERE store = {p} AND {key} IN ({{keys}})"
            )
        self.iter_sql = f"SELECT {key} FROM {TABLE} WHERE store = {p} ORDER BY {key}"
        self.clear_sql = f"DELETE FROM {TABLE} WHERE store = {p}"
        self.placeholder = p

    def _execute(self, sql: str, params: Sequence[Any]) -> Any:
        self.cursor.execute(sql, params, **self.options)
        return self.cursor

    def _value(self, payload: bytes) -> Any:
        return base64.b64encode(payload) if self.vendor == "mysql" else payload

    def clear(self) -> None:
        self._execute(self.clear_sql, (self.store,))
        self._execute(self.clear_sql, (self.big_store,))

    def set(self, key: str, value: Any) -> Any:
        self._execute(self.set_sql, (self.store, key, self._value(pickle.dumps(value, 5))))

    def get(self, key: str) -> Any:
        row = self._execute(self.get_sql, (self.store, key)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def exists(self, key: str) -> bool:
        return self._execute(self.exists_sql, (self.store, key)).fetchone() is not None

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        if self.vendor == "postgresql":
            rows = self._execute(self.get_many_sql, (self.store, list(keys))).fetchall()
        else:
            sql = self.get_many_sql.format(keys=", ".join([self.placeholder] * len(keys)))
            rows = self._execute(sql, (self.store, *keys)).fetchall()
        if self.decode_key:
            return {key.decode(): pickle.loads(value) for key, value in rows}
        return {key: pickle.loads(value) for key, value in rows}

    def iter_keys(self) -> Iterator[str]:
        # One statement, its whole result fetched at once: the simplest a user writes.
        rows = self._execute(self.iter_sql, (self.store,)).fetchall()
        if self.decode_key:
            return (key.decode() for (key,) in rows)
        return (key for (key,) in rows)

    def delete(self, key: str) -> Any:
        return self._execute(self.delete_sql, (self.store, key)).rowcount > 0

    def set_big(self, kind: str, value: bytes) -> None:
        payload = value if kind == "bytes" else pickle.dumps(value, 5)
        self._execute(self.set_sql, (self.big_store, f"big-{kind}", self._value(payload)))

    def get_big(self, kind: str) -> Any:
        (payload,) = self._execute(self.get_sql, (self.big_store, f"big-{kind}")).fetchone()
        return payload if kind == "bytes" else pickle.loads(payload)
