"""Validation of keys and store names."""

from __future__ import annotations

from django_keyval.exceptions import InvalidKey

MAX_LENGTH = 255


def validate_key(key: object, what: str = "key") -> str:
    """Return ``key`` if it is a valid key or store name; raise otherwise.

    Raise ``TypeError`` for a non-``str``, and ``InvalidKey`` for a string
    longer than 255 characters, containing NUL, or holding a lone surrogate
    (which no database can store as UTF-8).
    """
    if type(key) is not str:
        if not isinstance(key, str):
            raise TypeError(f"{what} must be a str, not {type(key).__name__}: {key!r}")
        key = str(key)
    if len(key) > MAX_LENGTH:
        raise InvalidKey(
            f"{what} is {len(key)} characters long, longer than {MAX_LENGTH}: {key[:40]!r}..."
        )
    if "\x00" in key:
        raise InvalidKey(f"{what} contains a NUL character: {key!r}")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidKey(f"{what} is not valid Unicode (lone surrogate): {key!r}") from exc
    return key


def prefix_upper_bound(prefix: str) -> str | None:
    """Return the smallest string greater than every string starting with ``prefix``.

    Keys compare by code point on every supported database, so the keys that
    start with ``prefix`` are exactly those in ``[prefix, upper_bound)``. This
    range keeps prefix queries on the index and free of LIKE wildcards.
    ``None`` means there is no upper bound (an empty prefix, or one made of
    U+10FFFF only).
    """
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    code = ord(stripped[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        code = 0xE000  # Surrogates are never stored: skip over them.
    return stripped[:-1] + chr(code)
