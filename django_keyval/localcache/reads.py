"""Reads of a cached store, served from its local copy."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections

from django_keyval.codec import StoreCodec
from django_keyval.conf import get_config
from django_keyval.localcache import scope
from django_keyval.localcache.copies import (
    ABSENT,
    IMMUTABLE,
    Copy,
    Item,
    current_copy,
    dirty_connections,
    is_dirty,
)
from django_keyval.routing import db_for_write
from django_keyval.sentinels import MISSING
from django_keyval.serializers import get_serializer
from django_keyval.sql.cursors import cursor_for
from django_keyval.sql.generations import generations_for
from django_keyval.sql.rows import Encoded, is_live
from django_keyval.storeconf import LocalCacheOptions


def view(store: str, using: str | None) -> View | None:
    """Return the local copy of ``store`` to read from, or None when reads must go to
    the database: the store has no local cache, or the open transaction wrote it."""
    options = get_config().local_caches.get(store)
    if options is None:
        return None
    snapshot = scope.current.get()
    views = scope.recent if snapshot is None else snapshot.views
    if not dirty_connections:
        # The fast path: a view this scope used before, still good.
        found = views.get((store, using))
        if found is not None and found.usable(snapshot is not None):
            return found
    # The write database: a lagging replica must never make a copy look current.
    alias = db_for_write(store, using)
    if is_dirty(alias, store):
        return None
    publish = not connections[alias].in_atomic_block
    found = View(alias, store, current_copy(alias, store, options, publish), options)
    if publish or snapshot is not None:
        views[(store, using)] = found
    return found


class Verified:
    """A stored value whose signature was checked, deserialized again on each read."""

    __slots__ = ("loads", "payload")

    def __init__(self, loads: Callable[[bytes], Any], payload: bytes) -> None:
        self.loads, self.payload = loads, payload


class View:
    """Reads' access to a copy: its entries, and fills of the keys it lacks."""

    __slots__ = ("alias", "copy", "max_age", "max_staleness", "store")

    def __init__(self, alias: str, store: str, copy: Copy, options: LocalCacheOptions) -> None:
        self.alias, self.store, self.copy = alias, store, copy
        self.max_age, self.max_staleness = options.max_age, options.max_staleness

    def usable(self, in_snapshot: bool) -> bool:
        """Return whether a read starting now may use this view without a query."""
        copy = self.copy
        if copy.dropped:
            return False
        now = time.monotonic()
        if now - copy.loaded_at >= self.max_age:
            return False
        return in_snapshot or now - copy.validated_at < self.max_staleness

    def _item(self, key: str) -> Item:
        item = self.copy.entries.get(key)
        if item is not None:
            return item
        if self.copy.complete:
            return ABSENT
        return self._fill([key])[key]

    def _fill(self, keys: Sequence[str]) -> dict[str, Item]:
        # Filled after the copy's generation was read: newer than it, never older.
        with cursor_for(self.alias) as (ops, cursor):
            rows = generations_for(ops, cursor.db).fill_many(cursor, self.store, keys, time.time())
        items = dict.fromkeys(keys, ABSENT)
        for row in rows:
            items[row.key] = (row.expires_at, None, Encoded(row.payload, row.serializer, row.mac))
        if not connections[self.alias].in_atomic_block:
            # Inside a transaction the database may show an older version: kept out.
            self.copy.entries.update(items)
        return items

    def _live(self, item: Item) -> bool:
        expires_at = item[0]
        return item is not ABSENT and is_live(expires_at, time.time())

    def _value(self, key: str, item: Item, codec: StoreCodec) -> Any:
        expires_at, value, encoded = item
        if encoded is None:
            if type(value) is Verified:
                return value.loads(value.payload)
            return value
        value = codec.decode(key, *encoded)
        if encoded.mac is not None:
            # Its signature checked once: kept decoded if nobody can change it, else
            # kept to be deserialized again on each read (a fresh object each time).
            if type(value) not in IMMUTABLE:
                value = Verified(get_serializer(encoded.serializer).loads, encoded.payload)
            self.copy.entries[key] = (expires_at, value, None)
        return self._value(key, (expires_at, value, None), codec)

    def get(self, key: str, codec: StoreCodec) -> Any:
        """Return the value of ``key``, or MISSING."""
        item = self._item(key)
        if not self._live(item):
            return MISSING
        return self._value(key, item, codec)

    def exists(self, key: str) -> bool:
        return self._live(self._item(key))

    def expiry(self, key: str) -> Any:
        """Return the expiry of ``key`` (a Unix time or None), or MISSING."""
        item = self._item(key)
        return item[0] if self._live(item) else MISSING

    def get_many(self, keys: Sequence[str], codec: StoreCodec) -> dict[str, Any]:
        """Return the values of those ``keys`` that exist; one query for the unknown ones."""
        entries = self.copy.entries
        items = {key: entries.get(key) for key in keys}
        unknown = [key for key, item in items.items() if item is None]
        if unknown:
            if self.copy.complete:
                items.update(dict.fromkeys(unknown, ABSENT))
            else:
                items.update(self._fill(unknown))
        return {
            key: self._value(key, item, codec)
            for key, item in items.items()
            if item is not None and self._live(item)
        }
