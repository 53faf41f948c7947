"""The rows the statements write and read back, as Python values.

This module imports nothing from the rest of the package: the codec builds
``Encoded`` values for the statements, and the statements hand back ``Row``
and ``KeyedRow`` values for the codec to decode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple


class Encoded(NamedTuple):
    """A value as it is stored: the serializer's bytes, the serializer's name and
    their signature (None for an unsigned value)."""

    payload: bytes
    serializer: str
    mac: bytes | None


class Row(NamedTuple):
    """A stored value as read back with its expiry (a Unix time, None for never)."""

    payload: bytes
    serializer: str
    mac: bytes | None
    expires_at: float | None


class KeyedRow(NamedTuple):
    """A stored value as read back with its key and expiry, from a read of many keys."""

    key: str
    payload: bytes
    serializer: str
    mac: bytes | None
    expires_at: float | None


def as_bytes(data: Any) -> bytes:
    """Return a BLOB column's value as bytes (some drivers give memoryview)."""
    return data if isinstance(data, bytes) else bytes(data)


def as_mac(data: Any) -> bytes | None:
    """Return a signature column's value as bytes, or None for an unsigned value."""
    return None if data is None else as_bytes(data)


def is_live(expires_at: float | None, now: float) -> bool:
    """Return whether an entry expiring at ``expires_at`` is live at ``now``: the test
    the statements' ``{live}`` condition makes."""
    return expires_at is None or expires_at > now


def as_encoded(fetched: Sequence[Any]) -> Encoded:
    """Return the ``(value, serializer, mac)`` columns of one fetched row as Encoded."""
    payload, serializer, mac = fetched
    return Encoded(as_bytes(payload), serializer, as_mac(mac))


def keyed_values(fetched: Iterable[Sequence[Any]]) -> list[tuple[str, bytes, str, bytes | None]]:
    """Return fetched ``(key, value, serializer, mac)`` columns with the value and mac as
    bytes."""
    return [
        (key, as_bytes(payload), serializer, as_mac(mac))
        for key, payload, serializer, mac in fetched
    ]


def stored_row(fetched: Sequence[Any] | None) -> Row | None:
    """Return the ``(value, serializer, mac, expires_at)`` columns of one fetched row as a
    Row, or None when nothing was fetched."""
    if fetched is None:
        return None
    payload, serializer, mac, expires_at = fetched
    return Row(as_bytes(payload), serializer, as_mac(mac), expires_at)


def keyed_rows(fetched: Iterable[Sequence[Any]]) -> list[KeyedRow]:
    """Return fetched ``(key, value, serializer, mac, expires_at)`` columns as KeyedRows."""
    return [
        KeyedRow(key, as_bytes(payload), serializer, as_mac(mac), expires_at)
        for key, payload, serializer, mac, expires_at in fetched
    ]
