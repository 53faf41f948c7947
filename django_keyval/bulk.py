"""The operations of KeyVal on many keys: bulk reads and writes, listing, purging."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from django.db import connections, transaction

from django_keyval.changes import recorder
from django_keyval.handle import Handle
from django_keyval.keys import validate_key
from django_keyval.localcache import view, writing
from django_keyval.retry import retry_conflicts
from django_keyval.routing import db_for_read, db_for_write, every_database
from django_keyval.signals import MISSING
from django_keyval.sql import operations_for
from django_keyval.sql.base import ITEMS_PAGE, KEYS_PAGE
from django_keyval.sql.cursors import cursor_for
from django_keyval.sql.rows import KeyedRow
from django_keyval.ttl import DEFAULT_TTL, TTL

T = TypeVar("T")


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


def stored_page(store: str, prefix: str, after: str | None, using: str | None) -> list[KeyedRow]:
    """Return up to ITEMS_PAGE live entries of ``store`` under ``prefix`` after the key
    ``after``, in key order, as stored: their values still serialized and signed."""
    with cursor_for(db_for_read(store, using)) as (ops, cursor):
        return ops.items(cursor, store, prefix, time.time(), after, ITEMS_PAGE)


def iter_stored(store: str, prefix: str = "", using: str | None = None) -> Iterator[KeyedRow]:
    """Return an iterator over the live entries of ``store`` under ``prefix``, as stored,
    in key order: the pages of ``KeyVal.items()`` before decoding (export and ``list``
    read them so). Memory stays flat; keys written meanwhile may or may not be seen."""
    store, prefix = validate_key(store, "store name"), validate_key(prefix, "prefix")
    return _paged(lambda after: stored_page(store, prefix, after, using), ITEMS_PAGE, _key_of)


def _key_of(row: KeyedRow) -> str:
    return row.key


class BulkOperations(Handle):
    """get_many, set_many, delete_many, delete_prefix, keys, items, count, stores, purge."""

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return a dict of the values of those ``keys`` that exist. One query per batch."""
        store = self._store()
        wanted = list(dict.fromkeys(validate_key(key) for key in keys))
        if not wanted:
            return {}
        cached = view(store, self._using)
        if cached is not None:
            return cached.get_many(wanted, self._codec)
        with self._cursor(db_for_read(store, self._using)) as (ops, cursor):
            rows = ops.get_many(cursor, store, wanted, time.time())
        found = {row[0]: row for row in rows}
        decode = self._codec.decoder()
        return {key: decode(*row) for key in wanted if (row := found.get(key)) is not None}

    @retry_conflicts
    def set_many(self, mapping: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
        """Store every item of ``mapping``: all or nothing, in one transaction.

        Every key and value is checked before anything is written. One query per batch.
        """
        store = self._store()
        now = time.time()
        expires_at = self._expiry(ttl, now)
        values = {validate_key(key): value for key, value in mapping.items()}
        entries = [(key, self._codec.encode(key, value)) for key, value in values.items()]
        if not entries:
            return
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with (
            transaction.atomic(using=alias),
            writing(store, alias),
            self._cursor(alias) as (ops, cursor),
        ):
            if rec is None:
                ops.set_many(cursor, store, entries, expires_at, now)
                return
            old = rec.old_values(ops, cursor, list(values), now)
            ops.set_many(cursor, store, entries, expires_at, now)
            rec.changed_many([(key, old[key], values[key], encoded) for key, encoded in entries])

    @retry_conflicts
    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete ``keys``; return how many live keys were deleted. One query per batch."""
        store = self._store()
        wanted = list(dict.fromkeys(validate_key(key) for key in keys))
        if not wanted:
            return 0
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            now = time.time()
            if rec is None or not (rec.keep or rec.send_deleted):
                return ops.delete_many(cursor, store, wanted, now)
            # The live keys among ``wanted`` are read first, in the same transaction.
            with transaction.atomic(using=alias):
                old = rec.old_values(ops, cursor, wanted, now)
                if not rec.reads_old:
                    live = {key for key, *_ in ops.get_many(cursor, store, wanted, now)}
                    old = {key: value for key, value in old.items() if key in live}
                deleted = ops.delete_many(cursor, store, wanted, now)
                rec.deleted_many(
                    [(key, value) for key, value in old.items() if value is not MISSING]
                )
            return deleted

    @retry_conflicts
    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` (taken literally); return how many.

        ``""`` empties the store. One statement.
        """
        store, prefix = self._store(), validate_key(prefix, "prefix")
        alias = db_for_write(store, self._using)
        rec = recorder(self._codec, alias)
        with writing(store, alias), self._cursor(alias) as (ops, cursor):
            now = time.time()
            if rec is None:
                return ops.delete_prefix(cursor, store, prefix, now)
            with rec.atomic(reading=False):
                keys = ops.keys(cursor, store, prefix, now) if rec.keep else []
                deleted = ops.delete_prefix(cursor, store, prefix, now)
                if deleted:
                    rec.cleared(prefix, keys)
            return deleted

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
        rows = stored_page(self._store(), prefix, after, self._using)
        decode = self._codec.decoder()
        return [(row.key, decode(row.key, row.payload, row.serializer, row.mac)) for row in rows]

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
        """Return the sorted names of the stores that hold at least one live key.

        From the database ``using``, else from each of ``KEYVAL["DATABASES"]``,
        else from the one the routers give without a store hint.
        """
        names: set[str] = set()
        for alias in every_database(using, reading=True):
            with connections[alias].cursor() as cursor:
                names.update(operations_for(cursor.db).stores(cursor, time.time()))
        return sorted(names)

    @classmethod
    def purge_expired(cls, *, batch_size: int = 1000, using: str | None = None) -> int:
        """Delete expired entries of every store, ``batch_size`` rows per transaction;
        return how many were deleted.

        On the database ``using``, else on each of ``KEYVAL["DATABASES"]``, else
        on the one the routers give without a store hint.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        total = 0
        for alias in every_database(using):
            more = True
            while more:
                deleted, more = cls._purge_batch(alias, batch_size)
                total += deleted
        return total

    @staticmethod
    @retry_conflicts
    def _purge_batch(alias: str, batch_size: int) -> tuple[int, bool]:
        # Each batch is retried on its own: the batches before it are committed.
        with connections[alias].cursor() as cursor:
            return operations_for(cursor.db).purge_expired(cursor, time.time(), batch_size)
