"""The export format: entries as tagged JSON lines, and back. No database here.

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
from typing import Any, NamedTuple

from django_keyval.conf import get_config
from django_keyval.exceptions import KeyValError
from django_keyval.jsonvalues import is_json_value
from django_keyval.keys import validate_key
from django_keyval.serializers import BUILTIN_SERIALIZERS

FORMAT = "django-keyval"
VERSION = 1
TYPES = ("json", "bytes", "pickle")
# Fixed rather than HIGHEST_PROTOCOL, so that every supported Python reads the files.
PICKLE_PROTOCOL = 5

# Line breaks to str.splitlines() and JavaScript, which JSON leaves raw: escaped, so that
# every reader sees one entry per line. (JSON escapes the control characters itself.)
_LINE_BREAKS = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class TransferError(KeyValError, ValueError):
    """An export or import that cannot go on; the message names the entry or the line."""


class Record(NamedTuple):
    """One entry as a line carries it: its value decoded, the serializer that wrote it."""

    store: str
    key: str
    value: Any
    serializer: str
    expires_at: float | None


# Records to lines


def header_line() -> str:
    """Return the first line of an export file."""
    return json.dumps({"format": FORMAT, "version": VERSION, "exported_at": time.time()})


def entry_line(record: Record) -> str:
    """Return the line (without its newline) that carries ``record``."""
    fields: dict[str, Any] = {"store": record.store, "key": record.key, "type": "pickle"}
    fields.update(serializer=record.serializer, expires_at=record.expires_at)
    value = record.value
    if is_json_value(value):
        try:
            return _dumps({**fields, "type": "json", "value": value})
        except ValueError:
            pass  # An int too long for str() (sys.set_int_max_str_digits): pickle carries it.
    elif type(value) is bytes:
        fields["type"] = "bytes"
        return _dumps({**fields, "value": base64.b64encode(value).decode("ascii")})
    return _dumps({**fields, "value": _pickled(record)})


def _pickled(record: Record) -> str:
    try:
        data = pickle.dumps(record.value, PICKLE_PROTOCOL)
    except Exception as exc:  # Pickling runs arbitrary __reduce__ code: anything can fail.
        raise TransferError(
            f"cannot export key {record.key!r} of store {record.store!r}: "
            f"its {type(record.value).__name__} value cannot be pickled ({exc})"
        ) from exc
    return base64.b64encode(data).decode("ascii")


def _dumps(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, ensure_ascii=False, allow_nan=False)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A str value holds a lone surrogate: escape everything, so the file stays UTF-8.
        return json.dumps(fields, ensure_ascii=True, allow_nan=False)
    return text.translate(_LINE_BREAKS)


# Lines to records


def check_header(number: int, raw: bytes) -> None:
    """Raise ``TransferError`` unless ``raw`` is the header of a file this release reads."""
    fields = _load_line(number, raw.removeprefix(b"\xef\xbb\xbf"))
    if fields.get("format") != FORMAT:
        raise _fail(number, f"not a django-keyval export (no {FORMAT!r} header)")
    if fields.get("version") != VERSION:
        raise _fail(
            number,
            f"format version {fields.get('version')!r} is not supported (this release reads "
            f"version {VERSION}); was the file written by a newer django-keyval?",
        )


def parse_line(number: int, raw: bytes, *, allow_pickle: bool = True) -> Record:
    """Return the entry on line ``number``; raise ``TransferError`` naming the line.

    With ``allow_pickle`` False, pickled values and serializers named by dotted
    path (other than ``KEYVAL['SERIALIZER']``) are refused: loading either runs
    code the file chose.
    """
    fields = _load_line(number, raw)
    missing = [field for field in ("store", "key", "type", "value") if field not in fields]
    if missing:
        raise _fail(number, f"missing field(s): {', '.join(missing)}")
    try:
        store = validate_key(fields["store"], "store name")
        key = validate_key(fields["key"])
    except (KeyValError, TypeError) as exc:
        raise _fail(number, str(exc)) from exc
    expires_at = fields.get("expires_at")
    if expires_at is not None and (
        type(expires_at) not in (int, float) or not math.isfinite(expires_at)
    ):
        raise _fail(number, f"expires_at must be a Unix time or null, not {expires_at!r}")
    value = _value(number, fields["type"], fields["value"], allow_pickle)
    serializer = _serializer(number, fields, allow_pickle)
    return Record(store, key, value, serializer, None if expires_at is None else float(expires_at))


def _fail(number: int, message: str) -> TransferError:
    return TransferError(f"line {number}: {message}")


def _load_line(number: int, raw: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(raw.rstrip(b"\r\n").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(number, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})") from exc
    except json.JSONDecodeError as exc:
        raise _fail(number, f"invalid JSON ({exc.msg} at column {exc.colno})") from exc
    except ValueError as exc:  # An int literal too long for int() (sys.set_int_max_str_digits).
        raise _fail(number, f"invalid JSON ({exc})") from exc
    if not isinstance(fields, dict):
        raise _fail(number, f"expected a JSON object, not {type(fields).__name__}")
    return fields


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


def _serializer(number: int, fields: dict[str, Any], allow_pickle: bool) -> str:
    default = get_config().serializer
    serializer = fields.get("serializer", default)
    if not isinstance(serializer, str):
        raise _fail(number, f"serializer must be a str, not {serializer!r}")
    if not allow_pickle and serializer not in BUILTIN_SERIALIZERS and serializer != default:
        # Loading a serializer by dotted path imports code named by the file.
        raise _fail(
            number,
            f"serializer {serializer!r} is refused with --no-pickle (only the built-in "
            "serializers and KEYVAL['SERIALIZER'] are accepted)",
        )
    return serializer
