"""Export and import: stores read with the store's own paging, written with its statements.

The lines themselves are made and parsed by ``export_format``; this module
decodes and encodes the values as the store does (``codec.StoreCodec``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any, NamedTuple

from django.db import DatabaseError, connections, reset_queries, transaction
from django.db.backends.utils import CursorWrapper

from django_keyval import localcache
from django_keyval.bulk import iter_stored
from django_keyval.changes import recorder
from django_keyval.codec import StoreCodec
from django_keyval.exceptions import CorruptValue, KeyValError, ValueTooLarge
from django_keyval.export_format import (
    Record,
    TransferError,
    check_header,
    entry_line,
    header_line,
    parse_line,
)
from django_keyval.routing import db_for_write
from django_keyval.signals import change_source
from django_keyval.sql import operations_for
from django_keyval.sql.base import BATCH_BYTES
from django_keyval.sql.rows import Encoded, KeyedRow

__all__ = [
    "IMPORT_BATCH",
    "ImportResult",
    "TransferError",
    "export_lines",
    "header_line",
    "import_lines",
    "iter_stored",
    "read_value",
]

# Entries written per statement on import, at most (and at most about BATCH_BYTES).
IMPORT_BATCH = 500


class ImportResult(NamedTuple):
    """What an import wrote: entries (the expired ones included), stores, expired entries."""

    entries: int
    stores: int
    expired: int


# Export


def read_value(store: str, row: KeyedRow) -> Any:
    """Return the value of ``row`` of ``store``, verified and decoded as ``KeyVal.get()``
    does. Raise ``CorruptValue`` if it fails its signature or cannot be decoded."""
    return StoreCodec(store).decode(row.key, row.payload, row.serializer, row.mac)


def export_lines(
    stores: Sequence[str], *, using: str | None = None, skip_corrupt: bool = False
) -> Iterator[tuple[str, CorruptValue | None]]:
    """Yield ``(line, None)`` for each live entry of ``stores``; header_line() goes first.

    An entry whose value fails to decode raises ``CorruptValue``, or with
    ``skip_corrupt`` is yielded as ``("", error)`` and left out of the file.
    """
    for store in stores:
        decode = StoreCodec(store).decoder()
        for row in iter_stored(store, using=using):
            try:
                value = decode(row.key, row.payload, row.serializer, row.mac)
            except CorruptValue as exc:
                if not skip_corrupt:
                    raise
                yield "", exc
                continue
            yield entry_line(Record(store, row.key, value, row.serializer, row.expires_at)), None


# Import


class _Writer:
    """Write parsed entries in batches, each database alias in one transaction of its own."""

    def __init__(self, using: str | None, stack: ExitStack) -> None:
        self._using, self._stack = using, stack
        self._cursors: dict[str, CursorWrapper] = {}
        self._store = ""
        self._batch: dict[str, tuple[Encoded, float | None, Any]] = {}
        self._lines = (0, 0)
        self._bytes = 0
        self.entries, self.expired = 0, 0
        self.stores: set[str] = set()

    def _cursor(self, store: str) -> CursorWrapper:
        alias = db_for_write(store, self._using)
        if alias not in self._cursors:
            self._stack.enter_context(transaction.atomic(using=alias))
            self._cursors[alias] = self._stack.enter_context(connections[alias].cursor())
        return self._cursors[alias]

    def add(self, number: int, record: Record) -> None:
        if record.store != self._store or len(self._batch) >= IMPORT_BATCH:
            self.flush()
        if self._bytes >= BATCH_BYTES:
            self.flush()
        try:
            # The store's encoding: signed for this project's SECRET_KEY, bound to (store, key).
            codec = StoreCodec(record.store, record.serializer)
            encoded = codec.encode(record.key, record.value)
        except (KeyValError, TypeError, ValueError) as exc:
            raise TransferError(f"line {number}: {exc}") from exc
        self._store = record.store
        # A key repeated in one batch keeps its last value; one statement cannot upsert twice.
        self._batch[record.key] = (encoded, record.expires_at, record.value)
        self._lines = (self._lines[0] or number, number)
        self._bytes += len(encoded.payload)
        self.entries += 1
        self.stores.add(record.store)
        if record.expires_at is not None and record.expires_at <= time.time():
            self.expired += 1

    def flush(self) -> None:
        if not self._batch:
            return
        # Entries keep their exact expiry, so set_many() runs once per distinct expiry.
        by_expiry: dict[float | None, list[tuple[str, Encoded]]] = {}
        for key, (encoded, expires_at, _) in self._batch.items():
            by_expiry.setdefault(expires_at, []).append((key, encoded))
        cursor = self._cursor(self._store)
        ops, now = operations_for(cursor.db), time.time()
        localcache.bump_cached(cursor.db.alias, self._store)
        rec = recorder(StoreCodec(self._store), cursor.db.alias)
        first, last = self._lines
        try:
            old = {} if rec is None else rec.old_values(ops, cursor, list(self._batch), now)
            for expires_at, entries in by_expiry.items():
                ops.set_many(cursor, self._store, entries, expires_at, now)
        except (DatabaseError, ValueTooLarge) as exc:
            lines = f"line {first}" if first == last else f"lines {first}-{last}"
            raise TransferError(f"{lines}: the database refused the entries: {exc}") from exc
        if rec is not None:
            changes = [
                (key, old[key], value, encoded) for key, (encoded, _, value) in self._batch.items()
            ]
            rec.changed_many(changes)
        # With DEBUG on, Django keeps the last 9000 queries with their parameters, here
        # whole batches of values: forgotten as we go, or a big import would fill memory.
        reset_queries()
        self._batch, self._lines, self._bytes = {}, (0, 0), 0


def import_lines(
    lines: Iterable[bytes], *, using: str | None = None, allow_pickle: bool = True
) -> ImportResult:
    """Write the entries of an export file, given as its lines, and return what was written.

    All or nothing: every database written to is written in one transaction,
    so a bad line leaves the stores as they were. Existing keys are
    overwritten, other keys are left alone. An entry that has expired is
    written as expired (so it is missing, as in the source).
    """
    numbered = iter(enumerate(lines, start=1))
    first = next(numbered, None)
    if first is None:
        raise TransferError("the file is empty (no django-keyval header)")
    check_header(*first)
    with ExitStack() as stack, change_source("import"):
        writer = _Writer(using, stack)
        for number, raw in numbered:
            if raw.strip():
                writer.add(number, parse_line(number, raw, allow_pickle=allow_pickle))
        writer.flush()
    return ImportResult(writer.entries, len(writer.stores), writer.expired)
