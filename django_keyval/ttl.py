"""Time to live: the DEFAULT_TTL sentinel and the conversion of a ttl to an expiry."""

from __future__ import annotations

import enum
import math
from datetime import timedelta
from typing import Literal, TypeAlias


class _Default(enum.Enum):
    DEFAULT_TTL = "DEFAULT_TTL"

    def __repr__(self) -> str:
        return "DEFAULT_TTL"


# "Use the store's default", distinct from None, which means "never expires".
DEFAULT_TTL = _Default.DEFAULT_TTL

TTL: TypeAlias = int | float | timedelta | None | Literal[_Default.DEFAULT_TTL]


def ttl_seconds(ttl: int | float | timedelta | None) -> float | None:
    """Return ``ttl`` as a positive number of seconds, or ``None`` for "never expires".

    Raise ``ValueError`` for zero, a negative number or a non-finite number,
    and ``TypeError`` for anything that is not a number or a ``timedelta``.
    """
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    else:
        raise TypeError(
            f"ttl must be a number of seconds, a timedelta, None or DEFAULT_TTL, not {ttl!r}"
        )
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"ttl must be a positive, finite number of seconds, not {ttl!r}")
    return seconds


def expiry(seconds: float | None, now: float) -> float | None:
    """Return the absolute expiry (a Unix timestamp) of a ttl of ``seconds`` from ``now``."""
    return None if seconds is None else now + seconds
