"""Markers distinct from None: "no default given", and what a change signal knows of an
old value."""

from __future__ import annotations

import enum


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "<no default>"


MISSING = _Missing.MISSING


class OldValue(enum.Enum):
    """The ``old_value`` of a change signal when it is not a value (see signals.py)."""

    # The write did not read the value it replaced.
    UNKNOWN = "UNKNOWN"
    # The key did not exist (or had expired) before the write.
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return f"<old value {self.name.lower()}>"
