"""Which values JSON carries with their exact type, and their JSON text."""

from __future__ import annotations

import json
import math
from typing import Any

_JSON_SCALARS = (str, int, bool, type(None))


def is_json_value(value: Any) -> bool:
    """Return whether JSON gives ``value`` back with its exact type.

    That is str, int, finite float, bool, None, and lists and str-keyed dicts
    of those: no subclasses, tuples, sets, or NaN and infinities.
    """
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    try:
        if kind is list:
            return all(is_json_value(item) for item in value)
        if kind is dict:
            return all(type(k) is str and is_json_value(v) for k, v in value.items())
    except RecursionError:
        return False
    return False


def json_text(value: Any, *, indent: int | None = None) -> str | None:
    """Return ``value`` as JSON text if JSON gives back the same value and type, else None.

    Lists and dicts are indented by ``indent`` spaces (``None``: on one line).
    """
    if not is_json_value(value):
        return None
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent)
    except (RecursionError, ValueError):  # Too deeply nested; an int of 4300+ digits.
        return None
