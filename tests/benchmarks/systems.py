"""The systems compared: django_keyval, raw DB-API code, and Django's DatabaseCache.

Each offers the same operations on keys of its own, so the runner can time
them side by side. Raw code does what a hand-written store would: one
parameterised statement per operation on the entry table (under a store of its
own), autocommit, values pickled but not signed.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator, Sequence
from typing import Any

from django.core.cache import caches

from django_keyval import KeyVal
from django_keyval.models import Entry
from django_keyval.sql.base import KEYS_PAGE
from tests.benchmarks.databases import Database


class System:
    """What the runner times: single-key operations, get_many, iteration, 1 MiB reads."""

    name = ""
    supports_iteration = True

    def clear(self) -> None:
        raise NotImplementedError

    def set(self, key: str, value: Any) -> Any:
        raise NotImplementedError

    def get(self, key: str) -> Any:
        """Return the value of ``key``, or None if it is missing."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        raise NotImplementedError

    def iter_keys(self) -> Iterator[str]:
        raise NotImplementedError

    def delete(self, key: str) -> Any:
        raise NotImplementedError

    def set_big(self, kind: str, value: bytes) -> None:
        """Store ``value`` (1 MiB) as ``kind``: "bytes" as it is, "pickle" pickled (and signed)."""
        raise NotImplementedError

    def get_big(self, kind: str) -> Any:
        raise NotImplementedError


class KeyValSystem(System):
    name = "django_keyval"

    def __init__(self) -> None:
        self.kv = KeyVal("bench")
        self.big = {
            "bytes": KeyVal("bench-big-bytes", serializer="bytes"),
            "pickle": KeyVal("bench-big-pickle"),
        }
        self.get = self._get  # type: ignore[method-assign]
        self.set = self.kv.set  # type: ignore[method-assign]
        self.exists = self.kv.exists  # type: ignore[method-assign]
        self.get_many = self.kv.get_many  # type: ignore[method-assign]
        self.iter_keys = self.kv.iter_keys  # type: ignore[method-assign]
        self.delete = self.kv.delete  # type: ignore[method-assign]

    def _get(self, key: str) -> Any:
        return self.kv.get(key, None)

    def clear(self) -> None:
        self.kv.flush()
        for kv in self.big.values():
            kv.flush()

    def set_big(self, kind: str, value: bytes) -> None:
        self.big[kind].set(f"big-{kind}", value)

    def get_big(self, kind: str) -> Any:
        return self.big[kind].get(f"big-{kind}")


class CacheSystem(System):
    """Django's DatabaseCache (TIMEOUT=None, MAX_ENTRIES large), in its own table."""

    name = "DatabaseCache"
    supports_iteration = False  # The cache API has no way to list keys.

    def __init__(self) -> None:
        cache = caches["default"]
        self.cache = cache
        self.set = cache.set  # type: ignore[method-assign]
        self.get = cache.get  # type: ignore[method-assign]
        self.exists = cache.has_key  # type: ignore[method-assign]
        self.get_many = cache.get_many  # type: ignore[method-assign]
        self.delete = cache.delete  # type: ignore[method-assign]

    def clear(self) -> None:
        self.cache.clear()

    def set_big(self, kind: str, value: bytes) -> None:
        self.cache.set(f"big-{kind}", value)

    def get_big(self, kind: str) -> Any:
        return self.cache.get(f"big-{kind}")


class RawSystem(System):
    """Plain DB-API code on a connection of its own, one statement per operation."""

    name = "raw DB-API"
    store = "raw"
    big_store = "raw-big"

    def __init__(self, database: Database) -> None:
        self.connection = database.connect()
        self.cursor = self.connection.cursor()
        q, p = database.quote, database.placeholder
        t, store, key, value = q(Entry._meta.db_table), q("store"), q("key"), q("value")
        expires = q("expires_at")
        live = f"({expires} IS NULL OR {expires} > {p})"
        columns = ", ".join(
            map(q, ["store", "key", "value", "serializer", "mac", "expires_at", "updated_at"])
        )
        insert = f"INSERT INTO {t} ({columns}) VALUES ({p}, {p}, {p}, {p}, NULL, NULL, {p})"
        updates = ["value", "serializer", "expires_at", "updated_at"]
        if database.vendor == "mysql":
            assignments = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in updates)
            self.set_sql = f"{insert} ON DUPLICATE KEY UPDATE {assignments}"
            # The index hint django_keyval gives MariaDB for ranges and lists of keys:
            # the primary key, (store, key) there (migration 0005).
            source = f"{t} FORCE INDEX (PRIMARY)"
        else:
            assignments = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in updates)
            self.set_sql = f"{insert} ON CONFLICT ({store}, {key}) DO UPDATE SET {assignments}"
            source = t
        where = f"{store} = {p} AND {key} = {p}"
        # Reads of one key test the expiry in Python, as django_keyval does.
        self.get_sql = f"SELECT {value}, {expires} FROM {t} WHERE {where}"
        self.exists_sql = f"SELECT {expires} FROM {t} WHERE {where}"
        self.delete_sql = f"DELETE FROM {t} WHERE {where} AND {live}"
        self.get_many_sql = (
            f"SELECT {key}, {value}, {expires} FROM {source} "
            f"WHERE {store} = {p} AND {key} IN ({{keys}})"
        )
        self.page_sql = (
            f"SELECT {key} FROM {source} WHERE {store} = {p} AND {live} AND {key} > {p} "
            f"ORDER BY {key} LIMIT {KEYS_PAGE}"
        )
        self.clear_sql = f"DELETE FROM {t} WHERE {store} = {p}"
        self.placeholder = p

    def clear(self) -> None:
        self.cursor.execute(self.clear_sql, (self.store,))
        self.cursor.execute(self.clear_sql, (self.big_store,))

    def set(self, key: str, value: Any) -> Any:
        self.cursor.execute(
            self.set_sql, (self.store, key, pickle.dumps(value, 5), "pickle", time.time())
        )

    def get(self, key: str) -> Any:
        cursor = self.cursor
        cursor.execute(self.get_sql, (self.store, key))
        row = cursor.fetchone()
        if row is None or (row[1] is not None and row[1] <= time.time()):
            return None
        return pickle.loads(row[0])

    def exists(self, key: str) -> bool:
        cursor = self.cursor
        cursor.execute(self.exists_sql, (self.store, key))
        row = cursor.fetchone()
        return row is not None and (row[0] is None or row[0] > time.time())

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        cursor = self.cursor
        sql = self.get_many_sql.format(keys=", ".join([self.placeholder] * len(keys)))
        cursor.execute(sql, (self.store, *keys))
        now = time.time()
        return {
            key: pickle.loads(value)
            for key, value, expires_at in cursor.fetchall()
            if expires_at is None or expires_at > now
        }

    def iter_keys(self) -> Iterator[str]:
        # Keyset pages, as django_keyval reads them, so memory stays flat.
        cursor, after = self.cursor, ""
        while True:
            cursor.execute(self.page_sql, (self.store, time.time(), after))
            page = [key for (key,) in cursor.fetchall()]
            yield from page
            if len(page) < KEYS_PAGE:
                return
            after = page[-1]

    def delete(self, key: str) -> Any:
        self.cursor.execute(self.delete_sql, (self.store, key, time.time()))
        return self.cursor.rowcount > 0

    def set_big(self, kind: str, value: bytes) -> None:
        payload = value if kind == "bytes" else pickle.dumps(value, 5)
        params = (self.big_store, f"big-{kind}", payload, kind, time.time())
        self.cursor.execute(self.set_sql, params)

    def get_big(self, kind: str) -> Any:
        cursor = self.cursor
        cursor.execute(self.get_sql, (self.big_store, f"big-{kind}"))
        payload, _ = cursor.fetchone()
        return payload if kind == "bytes" else pickle.loads(payload)

    def close(self) -> None:
        self.connection.close()
