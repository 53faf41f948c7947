"""The KeyVal facade: a handle on one named store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.backends.utils import CursorWrapper

from django_keyval.aio import AsyncMethods
from django_keyval.codec import Encoded, decode, encode
from django_keyval.conf import get_config
from django_keyval.exceptions import KeyValError, StoreDisconnected
from django_keyval.keys import validate_key
from django_keyval.routing import db_for_read, db_for_write
from django_keyval.sentinels import MISSING
from django_keyval.serializers import get_serializer
from django_keyval.sql import operations_for
from django_keyval.sql.base import ITEMS_PAGE, KEYS_PAGE, MAX_RACES, Operations, Row
from django_keyval.ttl import DEFAULT_TTL, TTL, expiry, ttl_seconds

T = TypeVar("T")


def _is_live(row: Row, now: float) -> bool:
    return row.expires_at is None or row.expires_at > now


def _check_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is {type(value).__name__}, not an int: {value!r}")
    return value


def _paged(
    fetch: Callable[[str | None], list[T]], chunk: int, key_of: Callable[[T], str]
) -> Iterator[T]:
    """Yield from ``fetch(after)`` page by page, each page starting after the last key seen."""
    after = None
    while True:
        page = fetch(after)
        yield from page
        if len(page) < chunk:
            return
        after = key_of(page[-1])


class KeyVal(AsyncMethods):
    """A handle on the key-value store ``name``, kept in the database.

    ``using`` pins the store to a database alias (else ``KEYVAL['DATABASE']``,
    else the database routers, with the hint ``store=name``); ``ttl`` is the
    store's default time to live; ``serializer`` names the serializer of new
    writes (else ``KEYVAL['SERIALIZER']``).
    """

    def __init__(
        self,
        name: str,
        *,
        using: str | None = None,
        ttl: TTL = DEFAULT_TTL,
        serializer: str | None = None,
    ) -> None:
        self._name = validate_key(name, "store name")
        if using is not None and not isinstance(using, str):
            raise TypeError(f"using must be a database alias (a str), not {using!r}")
        self._using = using
        self._default_ttl = ttl if ttl is DEFAULT_TTL else ttl_seconds(ttl)
        if serializer is not None:
            get_serializer(serializer)
        self._serializer = serializer
        self._connected = True

    @classmethod
    def connect(cls, name: str, **options: Any) -> KeyVal:
        """Return a handle on the store ``name``; the same as ``KeyVal(name, **options)``."""
        return cls(name, **options)

    def disconnect(self, name: str | None = None) -> None:
        """Close this handle: every store operation on it raises StoreDisconnected afterwards.

        ``name``, if given, must be this handle's store name (``ValueError`` otherwise).
        """
        store = self._store()
        if name is not None and name != store:
            raise ValueError(f"this handle is on store {store!r}, not {name!r}")
        self._connected = False

    @property
    def name(self) -> str:
        """The store's name."""
        return self._name

    def __repr__(self) -> str:
        state = "" if self._connected else " (disconnected)"
        return f"<KeyVal {self._name!r}{state}>"

    # Internals

    def _store(self) -> str:
        if not self._connected:
            raise StoreDisconnected(f"the handle on store {self._name!r} is disconnected")
        return self._name

    def _key(self, key: object) -> tuple[str, str]:
        return self._store(), validate_key(key)

    @contextmanager
    def _cursor(self, alias: str) -> Iterator[tuple[Operations, CursorWrapper]]:
        connection = connections[alias]
        with connection.cursor() as cursor:
            yield operations_for(connection), cursor

    def _encode(self, key: str, value: Any) -> Encoded:
        config = get_config()
        tag = self._serializer or config.serializer
        return encode(value, self._name, key, tag, config.sign_values)

    def _decode(self, key: str, payload: bytes, tag: str, mac: bytes | None) -> Any:
        return decode(self._name, key, payload, tag, mac, get_config().sign_values)

    def _expiry(self, ttl: TTL, now: float) -> float | None:
        if ttl is not DEFAULT_TTL:
            return expiry(ttl_seconds(ttl), now)
        if self._default_ttl is not DEFAULT_TTL:
            return expiry(self._default_ttl, now)
        return expiry(get_config().default_ttl, now)

    # The original app's operations

    def set(self, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> bool:
        """Store ``value`` under ``key``; return True if the key was new (or had expired).

        Exactly one of several processes setting the same new key gets True.
        One query on PostgreSQL and MySQL; at most two on SQLite.
        """
        store, key = self._key(key)
        now = time.time()
        expires_at = self._expiry(ttl, now)
        encoded = self._encode(key, value)
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            return ops.set(cursor, store, key, encoded, expires_at, now)

    def get(self, key: str, default: Any = MISSING) -> Any:
        """Return the value of ``key``.

        A missing key raises KeyError, unless ``default`` is given. One query.
        """
        store, key = self._key(key)
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            row = ops.get(cursor, store, key, time.time())
        if row is None:
            if default is MISSING:
                raise KeyError(key)
            return default
        return self._decode(key, row.payload, row.tag, row.mac)

    def get_default(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` if it is missing."""
        return self.get(key, default)

    def pop(self, key: str, default: Any = MISSING) -> Any:
        """Delete ``key`` and return its value; raise KeyError if it is missing, unless
        ``default`` is given.

        Atomic: of several processes popping the same key, exactly one gets the value.
        A value that fails to decode raises CorruptValue and stays stored.
        """
        store, key = self._key(key)
        alias = db_for_write(store, self._using)
        with transaction.atomic(using=alias), self._cursor(alias) as (ops, cursor):
            row = ops.pop(cursor, store, key)
            if row is not None and _is_live(row, time.time()):
                return self._decode(key, row.payload, row.tag, row.mac)
        if default is MISSING:
            raise KeyError(key)
        return default

    def pop_default(self, key: str, default: Any = None) -> Any:
        """Delete ``key`` and return its value, or ``default`` if it is missing."""
        return self.pop(key, default)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` is in the store (and has not expired). One query."""
        store, key = self._key(key)
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            return ops.exists(cursor, store, key, time.time())

    def delete(self, key: str, ignore_keyerror: bool = False) -> bool:
        """Delete ``key``; return True if it existed.

        A missing key raises KeyError, or returns False with ``ignore_keyerror``. One query.
        """
        store, key = self._key(key)
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            deleted = ops.delete(cursor, store, key, time.time())
        if not deleted and not ignore_keyerror:
            raise KeyError(key)
        return deleted

    def flush(self) -> None:
        """Delete every key of this store. One statement."""
        store = self._store()
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            ops.flush(cursor, store)

    @classmethod
    def flush_all(cls, using: str | None = None) -> None:
        """Delete every key of every store on the database ``using`` (else the routers')."""
        with connections[db_for_write(None, using)].cursor() as cursor:
            operations_for(cursor.db).flush_all(cursor)

    # Beyond the original

    def add(self, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> bool:
        """Store ``value`` only if ``key`` is missing (or expired); return True if it was added.

        Atomic. One query.
        """
        store, key = self._key(key)
        now = time.time()
        expires_at = self._expiry(ttl, now)
        encoded = self._encode(key, value)
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            return ops.add(cursor, store, key, encoded, expires_at, now)

    def get_or_set(self, key: str, default: Any, ttl: TTL = DEFAULT_TTL) -> Any:
        """Return the value of ``key``; if it is missing, add ``default`` (called first if
        callable) as add() does and return it.

        Concurrent callers all get the value that was stored. Runs on the write database.
        """
        store, key = self._key(key)
        value, encoded = MISSING, None
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            for _ in range(MAX_RACES):
                now = time.time()
                row = ops.get(cursor, store, key, now)
                if row is not None:
                    return self._decode(key, row.payload, row.tag, row.mac)
                if encoded is None:
                    value = default() if callable(default) else default
                    encoded = self._encode(key, value)
                if ops.add(cursor, store, key, encoded, self._expiry(ttl, now), now):
                    return value
        raise KeyValError(f"get_or_set({key!r}) in store {store!r} lost {MAX_RACES} races")

    def incr(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to the integer value of ``key`` and return the new value.

        Atomic across processes. A missing key counts as 0 and gets the store's
        default TTL; an existing key keeps its expiry. A value that is not an int
        raises TypeError and is left unchanged.
        """
        _check_int(delta, "delta")
        store = self._store()

        def add_delta(value: Any) -> int:
            return _check_int(value, f"the value of key {key!r} in store {store!r}") + delta

        result: int = self.modify(key, add_delta, 0)
        return result

    def decr(self, key: str, delta: int = 1) -> int:
        """Subtract ``delta`` from the integer value of ``key``; see incr()."""
        return self.incr(key, -_check_int(delta, "delta"))

    def modify(self, key: str, func: Callable[[Any], T], default: Any = MISSING) -> T:
        """Store ``func(old value)`` under ``key`` and return it, keeping the key's expiry.

        Atomic: the entry is locked from read to write. A missing key uses
        ``default`` (and gets the store's default TTL), or raises KeyError if
        none is given. If ``func`` raises, nothing changes and the exception
        propagates.
        """
        store, key = self._key(key)
        alias = db_for_write(store, self._using)
        for _ in range(MAX_RACES):
            with transaction.atomic(using=alias), self._cursor(alias) as (ops, cursor):
                now = time.time()
                row = ops.lock(cursor, store, key)
                if row is not None and _is_live(row, now):
                    value = func(self._decode(key, row.payload, row.tag, row.mac))
                    ops.replace_value(cursor, store, key, self._encode(key, value), now)
                    return value
                if default is MISSING:
                    raise KeyError(key)
                value = func(default)
                expires_at = self._expiry(DEFAULT_TTL, now)
                if ops.add(cursor, store, key, self._encode(key, value), expires_at, now):
                    return value
        raise KeyValError(f"modify({key!r}) in store {store!r} lost {MAX_RACES} races")

    def touch(self, key: str, ttl: TTL = DEFAULT_TTL) -> bool:
        """Reset the expiry of ``key`` to ``ttl`` from now; return True if the key exists.

        One query.
        """
        store, key = self._key(key)
        now = time.time()
        expires_at = self._expiry(ttl, now)
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            return ops.touch(cursor, store, key, expires_at, now)

    def ttl(self, key: str) -> float | None:
        """Return the seconds left before ``key`` expires, or None if it never expires.

        Raise KeyError if it is missing. One query.
        """
        store, key = self._key(key)
        now = time.time()
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            row = ops.expiry(cursor, store, key, now)
        if row is None:
            raise KeyError(key)
        (expires_at,) = row
        return None if expires_at is None else max(expires_at - now, 0.0)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return a dict of the values of those ``keys`` that exist. One query per batch."""
        store = self._store()
        wanted = list(dict.fromkeys(validate_key(key) for key in keys))
        if not wanted:
            return {}
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            rows = ops.get_many(cursor, store, wanted, time.time())
        found = {row.key: row for row in rows}
        return {
            key: self._decode(key, found[key].payload, found[key].tag, found[key].mac)
            for key in wanted
            if key in found
        }

    def set_many(self, mapping: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
        """Store every item of ``mapping``: all or nothing, in one transaction.

        Every key and value is checked before anything is written. One query per batch.
        """
        store = self._store()
        now = time.time()
        expires_at = self._expiry(ttl, now)
        entries = [
            (key, self._encode(key, value))
            for key, value in ((validate_key(key), value) for key, value in mapping.items())
        ]
        if not entries:
            return
        alias = db_for_write(store, self._using)
        with transaction.atomic(using=alias), self._cursor(alias) as (ops, cursor):
            ops.set_many(cursor, store, entries, expires_at, now)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete ``keys``; return how many live keys were deleted. One query per batch."""
        store = self._store()
        wanted = list(dict.fromkeys(validate_key(key) for key in keys))
        if not wanted:
            return 0
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            return ops.delete_many(cursor, store, wanted, time.time())

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` (taken literally); return how many.

        ``""`` empties the store. One statement.
        """
        store, prefix = self._store(), validate_key(prefix, "prefix")
        with self._cursor(db_for_write(store, self._using)) as (ops, cursor):
            return ops.delete_prefix(cursor, store, prefix, time.time())

    def keys(self, prefix: str = "") -> list[str]:
        """Return the keys starting with ``prefix``, sorted by code point. One query."""
        store, prefix = self._store(), validate_key(prefix, "prefix")
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            return ops.keys(cursor, store, prefix, time.time())

    def _key_page(self, prefix: str, after: str | None) -> list[str]:
        store = self._store()
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            return ops.keys(cursor, store, prefix, time.time(), after, KEYS_PAGE)

    def _item_page(self, prefix: str, after: str | None) -> list[tuple[str, Any]]:
        store = self._store()
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            rows = ops.items(cursor, store, prefix, time.time(), after, ITEMS_PAGE)
        return [(row.key, self._decode(row.key, row.payload, row.tag, row.mac)) for row in rows]

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Return an iterator over the keys starting with ``prefix``, in keys() order.

        Keys are fetched a chunk per query, so memory stays flat on any store size.
        """
        prefix = validate_key(prefix, "prefix")
        self._store()
        return _paged(lambda after: self._key_page(prefix, after), KEYS_PAGE, lambda key: key)

    def items(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Return an iterator over ``(key, value)`` for the keys starting with ``prefix``.

        Entries are fetched a chunk per query, in keys() order.
        """
        prefix = validate_key(prefix, "prefix")
        self._store()
        return _paged(
            lambda after: self._item_page(prefix, after), ITEMS_PAGE, lambda item: item[0]
        )

    def count(self, prefix: str = "") -> int:
        """Return the number of live keys starting with ``prefix``. One query."""
        store, prefix = self._store(), validate_key(prefix, "prefix")
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            return ops.count(cursor, store, prefix, time.time())

    @classmethod
    def stores(cls, using: str | None = None) -> list[str]:
        """Return the sorted names of the stores that hold at least one live key."""
        with connections[db_for_read(None, using)].cursor() as cursor:
            return operations_for(cursor.db).stores(cursor, time.time())

    @classmethod
    def purge_expired(cls, *, batch_size: int = 1000, using: str | None = None) -> int:
        """Delete expired entries of every store, ``batch_size`` rows per transaction;
        return how many were deleted."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        total, more = 0, True
        with connections[db_for_write(None, using)].cursor() as cursor:
            ops = operations_for(cursor.db)
            while more:
                deleted, more = ops.purge_expired(cursor, time.time(), batch_size)
                total += deleted
        return total

    # Dict-style access

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def __contains__(self, key: object) -> bool:
        return self.exists(key)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return self.iter_keys()

    def __len__(self) -> int:
        return self.count()
