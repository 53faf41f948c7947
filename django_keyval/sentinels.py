"""The marker for "no default given", distinct from None."""

from __future__ import annotations

import enum


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "<no default>"


MISSING = _Missing.MISSING
