"""How the admin shows names, times, sizes and values."""

from __future__ import annotations

import reprlib
from typing import Any

from django.template.defaultfilters import pluralize
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from django_keyval.forms import local_datetime
from django_keyval.jsonvalues import json_text

# The change page shows at most this much of a value that cannot be edited.
DETAIL_CHARS = 20_000
# The change list's preview of a value, in characters.
PREVIEW_CHARS = 80


def shown_name(name: str) -> str | SafeString:
    if name == "":
        return format_html("<em>{}</em>", "(empty)")
    # Keys are exact: make surrounding spaces and control characters visible.
    if name != name.strip() or not name.isprintable():
        return repr(name)
    return name


def entries_text(count: int, kind: str = "") -> str:
    return f"{count} {kind}entr{pluralize(count, 'y,ies')}"


def when(timestamp: float) -> str:
    return date_format(local_datetime(timestamp), "Y-m-d H:i:s T")


def between(earlier: float, later: float) -> str:
    # "2 minutes", "1 hour": the list says how soon, the tooltip says exactly when.
    seconds = max(int(later - earlier), 0)
    if seconds < 60:
        return f"{seconds}\u00a0second{pluralize(seconds)}"
    return timesince(local_datetime(earlier), local_datetime(later), depth=1)


EXPIRED = format_html('<strong style="color: var(--error-fg, #ba2121)">{}</strong>', "expired")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


detail_repr = reprlib.Repr()
detail_repr.maxstring = detail_repr.maxother = DETAIL_CHARS
detail_repr.maxlist = detail_repr.maxtuple = detail_repr.maxset = detail_repr.maxdict = 100


def readable(value: Any) -> str:
    text = json_text(value)
    return detail_repr.repr(value) if text is None else text


def type_name(value: Any) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
