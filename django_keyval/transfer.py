"""The export format: every entry of some stores as tagged JSON lines, and back.

A file is UTF-8 text, one JSON object per line. The first line is a header,
``{"format": "django-keyval", "version": 1, ...}``; each other line is an entry,
``{"store": ..., "key": ..., "type": ..., "serializer": ..., "expires_at": ...,
"value": ...}``. ``type`` says how ``value`` carries the stored value:
``"json"`` as the JSON value itself, ``"bytes"`` as the base64 of a ``bytes``,
``"pickle"`` as the base64 of its pickle. ``expires_at`` is a Unix time or null.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import pickle
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any, NamedTuple

from django.db import DatabaseError, connections, reset_queries, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from django_keyval import localcache
from django_keyval.codec import StoreCodec
from django_keyval.conf import get_config
from django_keyval.exceptions import CorruptValue, KeyValError, ValueTooLarge
from django_keyval.jsonvalues import is_json_value
from django_keyval.keys import validate_key
from django_keyval.routing import db_for_read, db_for_write
from django_keyval.serializers import BUILTIN_SERIALIZERS
from django_keyval.sql import operations_for
from django_keyval.sql.base import BATCH_BYTES, ITEMS_PAGE
from django_keyval.sql.rows import Encoded, as_bytes, as_mac

FORMAT = "django-keyval"
VERSION = 1
TYPES = ("json", "bytes", "pickle")
# Fixed rather than HIGHEST_PROTOCOL, so that every supported Python reads the files.
PICKLE_PROTOCOL = 5
# Entries written per statement on import, at most (and at most about BATCH_BYTES).
IMPORT_BATCH = 500

# Line breaks to str.splitlines() and JavaScript, which JSON leaves raw: escaped, so that
# every reader sees one entry per line. (JSON escapes the control characters itself.)
_LINE_BREAKS = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})

# fmt: off
_PAGE_SQL = (
    "SELECT {key}, {value}, {serializer}, {mac}, {expires_at} FROM {table} "
    "WHERE {where} ORDER BY {key} LIMIT %s"
)
# fmt: on


class TransferError(KeyValError, ValueError):
    """An export or import that cannot go on; the message names the entry or the line."""


class StoredEntry(NamedTuple):
    """A live entry as stored: its value still serialized and signed."""

    store: str
    key: str
    payload: bytes
    serializer: str
    mac: bytes | None
    expires_at: float | None


class ImportResult(NamedTuple):
    """What an import wrote: entries (the expired ones included), stores, expired entries."""

    entries: int
    stores: int
    expired: int


# Export


def _page(
    connection: BaseDatabaseWrapper, store: str, prefix: str, after: str | None
) -> list[StoredEntry]:
    ops = operations_for(connection)
    where, params = ops.key_range(store, prefix, after, time.time())
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_SQL.format(**ops.names, where=where), [*params, ITEMS_PAGE])
        rows = cursor.fetchall()
    return [
        StoredEntry(store, key, as_bytes(payload), serializer, as_mac(mac), expires_at)
        for key, payload, serializer, mac, expires_at in rows
    ]


def iter_entries(
    store: str, *, prefix: str = "", using: str | None = None
) -> Iterator[StoredEntry]:
    """Return an iterator over the live entries of ``store`` with their expiry, in key order.

    Entries are fetched ITEMS_PAGE per query (as ``KeyVal.items()`` does), so
    memory stays flat; keys written meanwhile may or may not be seen.
    """
    store, prefix = validate_key(store, "store name"), validate_key(prefix, "prefix")
    connection = connections[db_for_read(store, using)]
    after = None
    while True:
        page = _page(connection, store, prefix, after)
        yield from page
        if len(page) < ITEMS_PAGE:
            return
        after = page[-1].key


def read_value(entry: StoredEntry) -> Any:
    """Return the value of ``entry``, verified and decoded exactly as ``KeyVal.get()`` does.

    Raise ``CorruptValue`` if it fails its signature or cannot be decoded.
    """
    codec = StoreCodec(entry.store)
    return codec.decode(entry.key, entry.payload, entry.serializer, entry.mac)


def _pickled(entry: StoredEntry, value: Any) -> str:
    try:
        data = pickle.dumps(value, PICKLE_PROTOCOL)
    except Exception as exc:  # Pickling runs arbitrary __reduce__ code: anything can fail.
        raise TransferError(
            f"cannot export key {entry.key!r} of store {entry.store!r}: "
            f"its {type(value).__name__} value cannot be pickled ({exc})"
        ) from exc
    return base64.b64encode(data).decode("ascii")


def _dumps(record: dict[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A str value holds a lone surrogate: escape everything, so the file stays UTF-8.
        return json.dumps(record, ensure_ascii=True, allow_nan=False)
    return text.translate(_LINE_BREAKS)


def entry_line(entry: StoredEntry, value: Any) -> str:
    """Return the line (without its newline) that carries ``entry``, whose value is ``value``."""
    record: dict[str, Any] = {"store": entry.store, "key": entry.key, "type": "pickle"}
    record.update(serializer=entry.serializer, expires_at=entry.expires_at)
    if is_json_value(value):
        try:
            return _dumps({**record, "type": "json", "value": value})
        except ValueError:
            pass  # An int too long for str() (sys.set_int_max_str_digits): pickle carries it.
    elif type(value) is bytes:
        record["type"] = "bytes"
        return _dumps({**record, "value": base64.b64encode(value).decode("ascii")})
    return _dumps({**record, "value": _pickled(entry, value)})


def header_line() -> str:
    """Return the first line of an export file."""
    return json.dumps({"format": FORMAT, "version": VERSION, "exported_at": time.time()})


def export_lines(
    stores: Sequence[str], *, using: str | None = None, skip_corrupt: bool = False
) -> Iterator[tuple[str, CorruptValue | None]]:
    """Yield ``(line, None)`` for each live entry of ``stores``; header_line() goes first.

    An entry whose value fails to decode raises ``CorruptValue``, or with
    ``skip_corrupt`` is yielded as ``("", error)`` and left out of the file.
    """
    for store in stores:
        for entry in iter_entries(store, using=using):
            try:
                value = read_value(entry)
            except CorruptValue as exc:
                if not skip_corrupt:
                    raise
                yield "", exc
                continue
            yield entry_line(entry, value), None


# Import


def _fail(number: int, message: str) -> TransferError:
    return TransferError(f"line {number}: {message}")


def _load_line(number: int, raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw.rstrip(b"\r\n").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(number, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})") from exc
    except json.JSONDecodeError as exc:
        raise _fail(number, f"invalid JSON ({exc.msg} at column {exc.colno})") from exc
    except ValueError as exc:  # An int literal too long for int() (sys.set_int_max_str_digits).
        raise _fail(number, f"invalid JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise _fail(number, f"expected a JSON object, not {type(record).__name__}")
    return record


def _check_header(number: int, raw: bytes) -> None:
    record = _load_line(number, raw.removeprefix(b"\xef\xbb\xbf"))
    if record.get("format") != FORMAT:
        raise _fail(number, f"not a django-keyval export (no {FORMAT!r} header)")
    if record.get("version") != VERSION:
        raise _fail(
            number,
            f"format version {record.get('version')!r} is not supported (this release reads "
            f"version {VERSION}); was the file written by a newer django-keyval?",
        )


def _value(number: int, kind: object, carried: object, allow_pickle: bool) -> Any:
    if kind == "json":
        return carried
    if kind not in ("bytes", "pickle"):
        raise _fail(number, f"unknown type {kind!r} (expected one of {', '.join(TYPES)})")
    if kind == "pickle" and not allow_pickle:
        raise _fail(number, "a pickled value, and pickles are refused (--no-pickle)")
    if not isinstance(carried, str):
        raise _fail(number, f"a {kind} value must be a base64 string")
    try:
        data = base64.b64decode(carried, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(number, f"invalid base64 in the value ({exc})") from exc
    if kind == "bytes":
        return data
    try:
        return pickle.loads(data)  # noqa: S301 - the operator trusts this file (see --no-pickle)
    except Exception as exc:  # Unpickling can fail in any way.
        raise _fail(number, f"cannot unpickle the value ({type(exc).__name__}: {exc})") from exc


def _serializer(number: int, record: dict[str, Any], allow_pickle: bool) -> str:
    default = get_config().serializer
    tag = record.get("serializer", default)
    if not isinstance(tag, str):
        raise _fail(number, f"serializer must be a str, not {tag!r}")
    if not allow_pickle and tag not in BUILTIN_SERIALIZERS and tag != default:
        # Loading a serializer by dotted path imports code named by the file.
        raise _fail(
            number,
            f"serializer {tag!r} is refused with --no-pickle (only the built-in serializers "
            "and KEYVAL['SERIALIZER'] are accepted)",
        )
    return tag


class _Entry(NamedTuple):
    """An entry as parsed from its line, its value decoded."""

    store: str
    key: str
    value: Any
    serializer: str
    expires_at: float | None


def _parse_entry(number: int, raw: bytes, *, allow_pickle: bool = True) -> _Entry:
    """Return the entry on line ``number``; raise ``TransferError`` naming the line."""
    record = _load_line(number, raw)
    missing = [field for field in ("store", "key", "type", "value") if field not in record]
    if missing:
        raise _fail(number, f"missing field(s): {', '.join(missing)}")
    try:
        store = validate_key(record["store"], "store name")
        key = validate_key(record["key"])
    except (KeyValError, TypeError) as exc:
        raise _fail(number, str(exc)) from exc
    expires_at = record.get("expires_at")
    if expires_at is not None and (
        type(expires_at) not in (int, float) or not math.isfinite(expires_at)
    ):
        raise _fail(number, f"expires_at must be a Unix time or null, not {expires_at!r}")
    value = _value(number, record["type"], record["value"], allow_pickle)
    serializer = _serializer(number, record, allow_pickle)
    return _Entry(store, key, value, serializer, None if expires_at is None else float(expires_at))


class _Writer:
    """Write parsed entries in batches, each database alias in one transaction of its own."""

    def __init__(self, using: str | None, stack: ExitStack) -> None:
        self._using, self._stack = using, stack
        self._cursors: dict[str, CursorWrapper] = {}
        self._store = ""
        self._batch: dict[str, tuple[Encoded, float | None]] = {}
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

    def add(self, number: int, entry: _Entry) -> None:
        if entry.store != self._store or len(self._batch) >= IMPORT_BATCH:
            self.flush()
        if self._bytes >= BATCH_BYTES:
            self.flush()
        try:
            # The facade's encoding: signed for this project's SECRET_KEY, bound to (store, key).
            encoded = StoreCodec(entry.store, entry.serializer).encode(entry.key, entry.value)
        except (KeyValError, TypeError, ValueError) as exc:
            raise _fail(number, str(exc)) from exc
        self._store = entry.store
        # A key repeated in one batch keeps its last value; one statement cannot upsert twice.
        self._batch[entry.key] = (encoded, entry.expires_at)
        self._lines = (self._lines[0] or number, number)
        self._bytes += len(encoded.payload)
        self.entries += 1
        self.stores.add(entry.store)
        if entry.expires_at is not None and entry.expires_at <= time.time():
            self.expired += 1

    def flush(self) -> None:
        if not self._batch:
            return
        # Entries keep their exact expiry, so set_many() runs once per distinct expiry.
        by_expiry: dict[float | None, list[tuple[str, Encoded]]] = {}
        for key, (encoded, expires_at) in self._batch.items():
            by_expiry.setdefault(expires_at, []).append((key, encoded))
        cursor = self._cursor(self._store)
        ops, now = operations_for(cursor.db), time.time()
        first, last = self._lines
        localcache.bump_cached(cursor.db.alias, self._store)
        try:
            for expires_at, entries in by_expiry.items():
                ops.set_many(cursor, self._store, entries, expires_at, now)
        except (DatabaseError, ValueTooLarge) as exc:
            lines = f"line {first}" if first == last else f"lines {first}-{last}"
            raise TransferError(f"{lines}: the database refused the entries: {exc}") from exc
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
    _check_header(*first)
    with ExitStack() as stack:
        writer = _Writer(using, stack)
        for number, raw in numbered:
            if raw.strip():
                writer.add(number, _parse_entry(number, raw, allow_pickle=allow_pickle))
        writer.flush()
    return ImportResult(writer.entries, len(writer.stores), writer.expired)
