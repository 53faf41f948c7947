"""The KeyVal facade: a handle on one named store, and its operations on one key."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any, TypeVar

from django.db import connections, transaction

from django_keyval import signals
from django_keyval.aio import AsyncMethods
from django_keyval.bulk import BulkOperations
from django_keyval.changes import record_flush_all, recorder, recording_deletions
from django_keyval.conf import get_config
from django_keyval.exceptions import KeyValError
from django_keyval.localcache import asnapshot, snapshot, view, writing, writing_every
from django_keyval.locks import LockMethods
from django_keyval.retry import retry_conflicts
from django_keyval.routing import db_for_read, db_for_write, every_database
from django_keyval.sentinels import MISSING
from django_keyval.sql import operations_for
from django_keyval.sql.base import MAX_RACES
from django_keyval.sql.rows import Encoded, is_live
from django_keyval.ttl import DEFAULT_TTL, TTL, expiry

T = TypeVar("T")


def _check_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is {type(value).__name__}, not an int: {value!r}")
    return value


class KeyVal(AsyncMethods, BulkOperations, LockMethods):
    """A handle on the key-value store ``name``, kept in the database.

    ``using`` pins the store to a database alias (else ``KEYVAL['DATABASE']``,
    else the database routers, with the hint ``store=name``); ``ttl`` is the
    store's default time to live; ``serializer`` names the serializer of new
    writes (else ``KEYVAL['SERIALIZER']``).
    """

    # ``with KeyVal.snapshot():`` / ``async with KeyVal.asnapshot():`` read one version
    # of every cached store (localcache/scope.py).
    snapshot = staticmethod(snapshot)
    asnapshot = staticmethod(asnapshot)

    @classmethod
    def connect(cls, name: str, **options: Any) -> KeyVal:
        """Return a handle on the store ``name``; the same as ``KeyVal(name, **options)``."""
        return cls(name, **options)

    # The original app's operations

    @retry_conflicts
    def set(self, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> bool:
        """Store ``value`` under ``key``; return True if the key was new (or had expired).

        Exactly one of several processes setting the same new key gets True.
        One query on PostgreSQL and MySQL; at most two on SQLite.
        """
        store, key = self._key(key)
        now = time.time()
        expires_at = self._expiry(ttl, now)
        encoded = self._codec.encode(key, value)
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            if rec is None:
                return ops.set(cursor, store, key, encoded, expires_at, now)
            with rec.atomic():
                old = rec.old_value(ops, cursor, key, now)
                new = ops.set(cursor, store, key, encoded, expires_at, now)
                rec.changed(key, signals.MISSING if new else old, value, encoded)
            return new

    def get(self, key: str, default: Any = MISSING) -> Any:
        """Return the value of ``key``.

        A missing key raises KeyError, unless ``default`` is given. One query (none
        from a valid local copy, see the README's "Local cache").
        """
        store, key = self._key(key)
        cached = view(store, self._using)
        if cached is not None:
            value = cached.get(key, self._codec)
        else:
            with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
                row = ops.get(cursor, store, key, time.time())
            value = MISSING if row is None else self._codec.decode(key, *row)
        if value is MISSING:
            if default is MISSING:
                raise KeyError(key)
            return default
        return value

    def get_default(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` if it is missing."""
        return self.get(key, default)

    @retry_conflicts
    def pop(self, key: str, default: Any = MISSING) -> Any:
        """Delete ``key`` and return its value; raise KeyError if it is missing, unless
        ``default`` is given.

        Atomic: of several processes popping the same key, exactly one gets the value.
        One query where the database has DELETE ... RETURNING (all but MySQL). A
        value that fails to decode raises CorruptValue and is put back, unless the
        key was written again meanwhile.
        """
        store, key = self._key(key)
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            if rec is not None and rec.keep:
                # A store with a history pops, decodes and adds the version in one
                # transaction: a value that fails to decode rolls back all three.
                with transaction.atomic(using=alias):
                    row = ops.pop(cursor, store, key)
                    if row is not None and is_live(row.expires_at, time.time()):
                        value = self._codec.decode(key, row.payload, row.serializer, row.mac)
                        rec.deleted(key, value)
                        return value
            else:
                if ops.pop_is_atomic:
                    row = ops.pop(cursor, store, key)
                else:
                    with transaction.atomic(using=alias):
                        row = ops.pop(cursor, store, key)
                if row is not None and is_live(row.expires_at, time.time()):
                    try:
                        value = self._codec.decode(key, row.payload, row.serializer, row.mac)
                    except BaseException:
                        # The statement that read the entry deleted it, and no
                        # transaction is kept open around it to roll back (that
                        # would cost every pop two more round trips): a failed pop
                        # writes the entry back as add() would, so a live entry
                        # written since stays.
                        encoded = Encoded(row.payload, row.serializer, row.mac)
                        ops.add(cursor, store, key, encoded, row.expires_at, time.time())
                        raise
                    if rec is not None:
                        rec.signal_deleted([(key, value)])
                    return value
        if default is MISSING:
            raise KeyError(key)
        return default

    def pop_default(self, key: str, default: Any = None) -> Any:
        """Delete ``key`` and return its value, or ``default`` if it is missing."""
        return self.pop(key, default)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` is in the store (and has not expired).

        One query, or none from a valid local copy (see get()).
        """
        store, key = self._key(key)
        cached = view(store, self._using)
        if cached is not None:
            return cached.exists(key)
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            return ops.exists(cursor, store, key, time.time())

    @retry_conflicts
    def delete(self, key: str, ignore_keyerror: bool = False) -> bool:
        """Delete ``key``; return True if it existed.

        A missing key raises KeyError, or returns False with ``ignore_keyerror``. One query.
        """
        store, key = self._key(key)
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            now = time.time()
            if rec is None:
                deleted = ops.delete(cursor, store, key, now)
            else:
                with rec.atomic():
                    old = rec.old_value(ops, cursor, key, now)
                    deleted = ops.delete(cursor, store, key, now)
                    if deleted:
                        rec.deleted(key, old)
        if not deleted and not ignore_keyerror:
            raise KeyError(key)
        return deleted

    @retry_conflicts
    def flush(self) -> None:
        """Delete every key of this store.

        In batches of 1000 rows: outside the caller's transaction each batch
        commits on its own, so other writers never wait long. One query for a
        store of fewer than 1000 keys.
        """
        store = self._store()
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            if rec is None:
                ops.flush(cursor, store)
                return
            with rec.atomic(reading=False):
                keys = ops.keys(cursor, store, "", time.time()) if rec.keep else []
                ops.flush(cursor, store)
                rec.cleared("", keys)

    @classmethod
    @retry_conflicts
    def flush_all(cls, using: str | None = None) -> None:
        """Delete every key of every store on the database ``using`` (else on each of
        ``KEYVAL["DATABASES"]``, else on the one the routers give without a store hint).

        In batches of 1000 rows, as flush().
        """
        for alias in every_database(using):
            if not recording_deletions():
                with writing_every(alias), connections[alias].cursor() as cursor:
                    operations_for(cursor.db).flush_all(cursor)
                continue
            with (
                transaction.atomic(using=alias),
                writing_every(alias),
                connections[alias].cursor() as cursor,
            ):
                ops, now = operations_for(cursor.db), time.time()
                history = get_config().history
                stores = {store: ops.keys(cursor, store, "", now) for store in history}
                record_flush_all(alias, stores)
                ops.flush_all(cursor)

    # Beyond the original

    @retry_conflicts
    def add(self, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> bool:
        """Store ``value`` only if ``key`` is missing (or expired); return True if it was added.

        Atomic. One query.
        """
        store, key = self._key(key)
        now = time.time()
        expires_at = self._expiry(ttl, now)
        encoded = self._codec.encode(key, value)
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            if rec is None:
                return ops.add(cursor, store, key, encoded, expires_at, now)
            with rec.atomic(reading=False):
                added = ops.add(cursor, store, key, encoded, expires_at, now)
                if added:
                    rec.changed(key, signals.MISSING, value, encoded)
            return added

    @retry_conflicts
    def get_or_set(self, key: str, default: Any, ttl: TTL = DEFAULT_TTL) -> Any:
        """Return the value of ``key``; if it is missing, add ``default`` (called first if
        callable) as add() does and return it.

        Concurrent callers all get the value that was stored. Runs on the write database.
        """
        store, key = self._key(key)
        seconds = self._ttl_seconds(ttl)  # A bad ttl fails whether or not the key exists.
        value, encoded = MISSING, None
        alias = db_for_write(store, self._using)
        with self._cursor(alias) as (ops, cursor):
            for _ in range(MAX_RACES):
                now = time.time()
                row = ops.get(cursor, store, key, now)
                if row is not None:
                    return self._codec.decode(key, *row)
                if encoded is None:
                    value = default() if callable(default) else default
                    encoded = self._codec.encode(key, value)
                rec = recorder(self._codec, alias)
                with writing(store, alias), rec.atomic(reading=False) if rec else nullcontext():
                    if ops.add(cursor, store, key, encoded, expiry(seconds, now), now):
                        if rec is not None:
                            rec.changed(key, signals.MISSING, value, encoded)
                        return value
        raise KeyValError(f"get_or_set({key!r}) in store {store!r} lost {MAX_RACES} races")

    def incr(self, key: str, delta: int = 1, ttl: TTL = DEFAULT_TTL) -> int:
        """Add ``delta`` to the integer value of ``key`` and return the new value.

        Atomic across processes. A missing (or expired) key counts as 0 and is
        created with ``ttl`` (the store's default TTL unless given); an existing
        key keeps its expiry, whatever ``ttl`` says. A value that is not an int
        raises TypeError and is left unchanged. Two queries in a transaction.
        """
        _check_int(delta, "delta")
        store = self._store()
        self._ttl_seconds(ttl)  # A bad ttl fails whether or not the key exists.

        def add_delta(value: Any) -> int:
            return _check_int(value, f"the value of key {key!r} in store {store!r}") + delta

        result: int = self._modify(key, add_delta, 0, ttl)
        return result

    def decr(self, key: str, delta: int = 1, ttl: TTL = DEFAULT_TTL) -> int:
        """Subtract ``delta`` from the integer value of ``key``; see incr()."""
        return self.incr(key, -_check_int(delta, "delta"), ttl)

    def modify(self, key: str, func: Callable[[Any], T], default: Any = MISSING) -> T:
        """Store ``func(old value)`` under ``key`` and return it, keeping the key's expiry.

        Atomic: the entry is locked from read to write. A missing key uses
        ``default`` (and gets the store's default TTL), or raises KeyError if
        none is given. If ``func`` raises, nothing changes and the exception
        propagates. ``func`` may be called again after a lost race or deadlock.
        """
        return self._modify(key, func, default, DEFAULT_TTL)

    @retry_conflicts
    def _modify(self, key: str, func: Callable[[Any], T], default: Any, ttl: TTL) -> T:
        """modify(), where a key it creates gets ``ttl``."""
        store, key = self._key(key)
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        for _ in range(MAX_RACES):
            with (
                transaction.atomic(using=alias),
                writing(store, alias),
                self._cursor(alias) as (ops, cursor),
            ):
                now = time.time()
                row = ops.lock(cursor, store, key)
                if row is not None and is_live(row.expires_at, now):
                    stored = (key, row.payload, row.serializer, row.mac)
                    value = func(self._codec.decode(*stored))
                    encoded = self._codec.encode(key, value)
                    ops.replace_value(cursor, store, key, encoded, now)
                    if rec is not None:
                        # Decoded again: func may have changed the value it was given.
                        old = self._codec.decode(*stored) if rec.send_changed else None
                        rec.changed(key, old, value, encoded)
                    return value
                if default is MISSING:
                    raise KeyError(key)
                value = func(default)
                expires_at = self._expiry(ttl, now)
                encoded = self._codec.encode(key, value)
                if ops.add(cursor, store, key, encoded, expires_at, now):
                    if rec is not None:
                        rec.changed(key, signals.MISSING, value, encoded)
                    return value
        raise KeyValError(f"modify({key!r}) in store {store!r} lost {MAX_RACES} races")

    @retry_conflicts
    def touch(self, key: str, ttl: TTL = DEFAULT_TTL) -> bool:
        """Reset the expiry of ``key`` to ``ttl`` from now; return True if the key exists.

        One query.
        """
        store, key = self._key(key)
        now = time.time()
        expires_at = self._expiry(ttl, now)
        alias = db_for_write(store, self._using)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            return ops.touch(cursor, store, key, expires_at, now)

    def ttl(self, key: str) -> float | None:
        """Return the seconds left before ``key`` expires, or None if it never expires.

        Raise KeyError if it is missing. One query.
        """
        store, key = self._key(key)
        now = time.time()
        cached = view(store, self._using)
        if cached is not None:
            found = cached.expiry(key)
            row = None if found is MISSING else (found,)
        else:
            with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
                row = ops.expiry(cursor, store, key, now)
        if row is None:
            raise KeyError(key)
        (expires_at,) = row
        return None if expires_at is None else max(expires_at - now, 0.0)

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

    def __bool__(self) -> bool:
        # A handle is always true: ``if kv`` must not run a COUNT over the store.
        # Test for keys with ``len(kv)`` or ``kv.count()``.
        return True
