"""Signals sent after a write to any store commits, and where the write came from.

``value_changed`` (keyword arguments ``store``, ``key``, ``old_value``,
``new_value``, ``source``, ``user``, ``using``) and ``value_deleted``
(``store``, ``key``, ``old_value``, ``source``, ``user``, ``using``; and
``prefix`` for the operations that delete many keys in one statement) are
sent with ``sender=KeyVal`` once the write's transaction commits (at once
outside a transaction), and never for a rolled-back write. README.rst's
"Change signals" lists what each operation sends.

``old_value`` is ``UNKNOWN`` where the write did not read it, and ``MISSING``
where the key did not exist. ``source`` and ``user`` come from the innermost
``change_source()`` around the write ("api" and None outside any).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

from django_keyval.sentinels import OldValue

__all__ = [
    "MISSING",
    "SOURCES",
    "UNKNOWN",
    "Origin",
    "change_source",
    "current_origin",
    "value_changed",
    "value_deleted",
]

value_changed = Signal()
value_deleted = Signal()

UNKNOWN = OldValue.UNKNOWN
MISSING = OldValue.MISSING

# Where a write may come from: the application's own code, the admin, the keyval
# command, an import.
SOURCES = ("api", "admin", "command", "import")


@dataclass(frozen=True)
class Origin:
    """Where the writes of the current context come from, and who made them."""

    source: str = "api"
    user: Any = None


_API = Origin()
# None outside any change_source() block.
_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "django_keyval_origin", default=None
)


def current_origin() -> Origin:
    """Return the source and user the current context's writes are recorded with."""
    return _origin.get() or _API


@contextlib.contextmanager
def change_source(source: str, user: Any = None) -> Iterator[None]:
    """Record the writes inside the block as made from ``source`` by ``user``.

    ``source`` is one of SOURCES; ``user`` (any object, usually a Django user)
    defaults to the enclosing block's. A context variable holds them, so the
    block covers the async twins it awaits too, and no other thread or task.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))}, not {source!r}")
    outer = current_origin()
    token = _origin.set(Origin(source, outer.user if user is None else user))
    try:
        yield
    finally:
        _origin.reset(token)
