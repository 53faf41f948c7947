"""The per-process copies of cached stores, and how a read finds a valid one.

A copy holds the entries of one store on one database as of a generation of
that store. It is valid while the database's generation is the same (checked
by one query on the store's write database, at most once per MAX_STALENESS
seconds or once per snapshot) and younger than MAX_AGE.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from django_keyval.localcache import scope
from django_keyval.sql.cursors import cursor_for
from django_keyval.sql.generations import generations_for
from django_keyval.sql.rows import Encoded
from django_keyval.storeconf import LocalCacheOptions

logger = logging.getLogger("django_keyval.localcache")

# An entry: (expires_at, value, encoded). ``encoded`` is None once the value is
# decoded and immutable, so that reads can hand the same object out.
Item = tuple["float | None", Any, "Encoded | None"]
# A key known to be missing (in a copy filled key by key).
ABSENT: Item = (None, None, None)
# Values handed out as they are: no caller can change them.
IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None), complex})


class Copy:
    """One store's entries as of one generation."""

    __slots__ = ("complete", "dropped", "entries", "generation", "loaded_at", "validated_at")

    def __init__(
        self, generation: int | None, started: float, entries: dict[str, Item], complete: bool
    ) -> None:
        self.generation = generation
        # time.monotonic() when the query that validated it (or loaded it) was sent.
        self.validated_at = self.loaded_at = started
        self.entries = entries
        # Whether ``entries`` holds the whole store (else a key not in it is unknown).
        self.complete = complete
        # Set when this process wrote the store: no scope may read this copy again.
        self.dropped = False


Ident = tuple[str, str]  # (alias, store)

_copies: dict[Ident, Copy] = {}
_locks: dict[Ident, threading.Lock] = {}
# How often this process has written each store: a copy loaded while a write
# committed is not marked as validated.
_writes: dict[Ident, int] = {}
# When each store was found too big to load whole (it is then filled key by key).
_too_big: dict[Ident, float] = {}
_stale_logged: set[Ident] = set()


def drop(ident: Ident) -> None:
    """Forget the copy of ``ident``: this process wrote it (called after the commit)."""
    _writes[ident] = _writes.get(ident, 0) + 1
    copy = _copies.pop(ident, None)
    if copy is not None:
        copy.dropped = True


def drop_alias(alias: str) -> None:
    """Forget the copy of every store on the database ``alias``."""
    for ident in [ident for ident in _copies if ident[0] == alias]:
        drop(ident)


def clear() -> None:
    """Forget every local copy of every store in this process.

    The next read of each cached store validates and loads it again. For a
    project's own tests (after writing rows behind the app's back, for example);
    django_keyval already calls it when ``override_settings`` changes KEYVAL,
    DATABASES or DATABASE_ROUTERS.
    """
    for ident in list(_copies):
        drop(ident)
    scope.recent.clear()
    _too_big.clear()
    _stale_logged.clear()


def current_copy(alias: str, store: str, options: LocalCacheOptions, publish: bool) -> Copy:
    """Return the copy of ``store`` that a read starting now may use.

    ``publish``: whether a copy validated or loaded now may be shared with the
    rest of the process (not inside a transaction, which may read an old
    version of the database).
    """
    ident = (alias, store)
    snapshot = scope.current.get()
    now = time.monotonic()
    if snapshot is not None:
        pinned = snapshot.copies.get(ident)
        if pinned is not None and not pinned.dropped and now - pinned.loaded_at < options.max_age:
            return pinned
    copy = _copies.get(ident)
    if (
        copy is None
        or now - copy.validated_at >= options.max_staleness
        or now - copy.loaded_at >= options.max_age
    ):
        copy = _validate(alias, store, options, publish)
    if snapshot is not None:
        snapshot.copies[ident] = copy
    return copy


def _validate(alias: str, store: str, options: LocalCacheOptions, publish: bool) -> Copy:
    ident = (alias, store)
    lock = _locks.get(ident) or _locks.setdefault(ident, threading.Lock())
    started = time.monotonic()
    # Single flight: of the threads that find the copy out of date at once, one
    # runs the queries and the others take its result.
    with lock:
        copy = _copies.get(ident)
        if (
            publish
            and copy is not None
            and copy.validated_at >= started
            and started - copy.loaded_at < options.max_age
        ):
            return copy
        writes = _writes.get(ident, 0)
        started = time.monotonic()
        try:
            with cursor_for(alias) as (ops, cursor):
                generations = generations_for(ops, cursor.db)
                generation = generations.read(cursor, store)
                _stale_logged.discard(ident)
                if (
                    copy is None
                    or copy.generation != generation
                    or started - copy.loaded_at >= options.max_age
                ):
                    copy = _load(ident, generation, started, options)
                elif publish and writes == _writes.get(ident, 0):
                    copy.validated_at = started
        except DatabaseError:
            if copy is None or not _may_serve_stale(ident, copy, options):
                raise
            return copy
        if publish and copy is not _copies.get(ident):
            if writes != _writes.get(ident, 0):
                # This process committed a write since the generation was read:
                # share the copy, but validate it again on the next read.
                copy.validated_at = -float("inf")
            _copies[ident] = copy
        return copy


def _load(ident: Ident, generation: int | None, started: float, options: LocalCacheOptions) -> Copy:
    """Return a new copy of the store at ``generation``: whole if it is small enough."""
    alias, store = ident
    limit = options.load_all_max_keys
    too_big_at = _too_big.get(ident)
    if limit and (too_big_at is None or started - too_big_at >= options.max_age):
        # The generation was read first: what this reads is that version or newer,
        # so the copy can only be newer than its generation says (never older).
        with cursor_for(alias) as (ops, cursor):
            rows = generations_for(ops, cursor.db).load(cursor, store, time.time(), limit)
        if len(rows) <= limit:
            _too_big.pop(ident, None)
            entries = {
                row.key: _item(row.expires_at, row.payload, row.serializer, row.mac) for row in rows
            }
            return Copy(generation, started, entries, complete=True)
        _too_big[ident] = started
    return Copy(generation, started, {}, complete=False)


def _item(expires_at: float | None, payload: bytes, serializer: str, mac: bytes | None) -> Item:
    return (expires_at, None, Encoded(payload, serializer, mac))


def _may_serve_stale(ident: Ident, copy: Copy, options: LocalCacheOptions) -> bool:
    if time.monotonic() - copy.validated_at >= options.serve_stale_on_error:
        return False
    if ident not in _stale_logged:
        _stale_logged.add(ident)
        logger.warning(
            "The generation of store %r on database %r could not be read; serving "
            "its local copy for up to %s seconds since its last validation.",
            ident[1],
            ident[0],
            options.serve_stale_on_error,
            exc_info=True,
        )
    return True


# The connection attribute that names the stores its open transaction wrote.
DIRTY = "_django_keyval_written"
# The connections (of any thread) whose open transaction wrote a cached store, by
# id(): while there is none, which is nearly always, reads need not look.
dirty_connections: dict[int, BaseDatabaseWrapper] = {}


def mark_dirty(connection: BaseDatabaseWrapper, stores: Iterable[str]) -> None:
    """Note that the transaction open on ``connection`` wrote ``stores``."""
    connection.__dict__.setdefault(DIRTY, set()).update(stores)
    dirty_connections[id(connection)] = connection


def unmark_dirty(connection: BaseDatabaseWrapper, stores: Iterable[str]) -> None:
    marks: set[str] = connection.__dict__.get(DIRTY, set())
    marks.difference_update(stores)
    if not marks:
        dirty_connections.pop(id(connection), None)


def is_dirty(alias: str, store: str) -> bool:
    """Return whether the current transaction on ``alias`` wrote ``store``."""
    # Forget the marks of transactions that ended without a commit (Django has no
    # hook for a rollback): a connection out of its atomic block has none open.
    for key, connection in list(dirty_connections.items()):
        if not connection.in_atomic_block:
            connection.__dict__.get(DIRTY, set()).clear()
            dirty_connections.pop(key, None)
    if not dirty_connections:
        return False
    marks: set[str] = connections[alias].__dict__.get(DIRTY, set())
    return store in marks
