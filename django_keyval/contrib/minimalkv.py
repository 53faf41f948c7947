"""A minimalkv ``KeyValueStore`` kept in a django-keyval store.

``pip install django-keyval[minimalkv]``. Values are ``bytes`` (the store's
"bytes" serializer), signed as the store signs every value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any, BinaryIO

from django.db import DatabaseError

from django_keyval.exceptions import CorruptValue
from django_keyval.store import KeyVal
from django_keyval.ttl import DEFAULT_TTL, TTL

try:
    from minimalkv import FOREVER, NOT_SET, CopyMixin, KeyValueStore, TimeToLiveMixin
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "django_keyval.contrib.minimalkv needs minimalkv: pip install django-keyval[minimalkv]"
    ) from exc

__all__ = ["KeyValStore"]


@contextmanager
def _io_errors(doing: str, key: str) -> Iterator[None]:
    """Raise a database error, or a stored value that fails its signature, as ``OSError``:
    what minimalkv documents for a store that cannot be read or written."""
    try:
        yield
    except (DatabaseError, CorruptValue) as exc:
        raise OSError(f"{doing} {key!r} failed: {exc}") from exc


class KeyValStore(TimeToLiveMixin, CopyMixin, KeyValueStore):
    """A minimalkv store of ``bytes`` on the django-keyval store ``name``.

    ``options`` are those of ``KeyVal`` (``using``, ``ttl``); the serializer is
    always "bytes". minimalkv's ``NOT_SET`` time to live (the default of
    ``put()``) gives the store's default ``ttl``, ``FOREVER`` never expires, a
    number of seconds expires then, and ``0`` expires at once (the key is
    deleted). Keys are checked by minimalkv (``ValueError``); a database error
    or a stored value that fails its signature is raised as ``OSError``, as
    minimalkv documents for a store that cannot be read or written.
    """

    def __init__(self, name: str, **options: Any) -> None:
        serializer = options.pop("serializer", "bytes")
        if serializer != "bytes":
            raise ValueError(
                f"a minimalkv store holds bytes: serializer must be 'bytes', not {serializer!r}"
            )
        self.kv = KeyVal(name, serializer="bytes", **options)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kv.name!r}>"

    # Reading

    def _get(self, key: str) -> bytes:
        with _io_errors("reading", key):
            value: bytes = self.kv.get(key)
        return value

    def _get_file(self, key: str, file: BinaryIO) -> str:
        file.write(self._get(key))
        return key

    def _open(self, key: str) -> BinaryIO:
        return BytesIO(self._get(key))

    def _has_key(self, key: str) -> bool:
        with _io_errors("reading", key):
            return self.kv.exists(key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with ``prefix``, in code point order."""
        with _io_errors("listing the keys under", prefix):
            yield from self.kv.iter_keys(prefix)

    def keys(self, prefix: str = "") -> list[str]:
        """Return the keys that start with ``prefix``, in code point order."""
        with _io_errors("listing the keys under", prefix):
            return self.kv.keys(prefix)

    # Writing

    def _ttl(self, ttl_secs: float | int | str | None) -> TTL:
        """Return the KeyVal ttl of minimalkv's ``ttl_secs`` (already checked by ``_valid_ttl``)."""
        if ttl_secs is None or ttl_secs == NOT_SET:
            return DEFAULT_TTL
        if ttl_secs == FOREVER:
            return None
        assert not isinstance(ttl_secs, str)
        if not math.isfinite(ttl_secs):
            raise ValueError(f"Not a valid ttl_secs value: {ttl_secs}")
        return ttl_secs

    def _put(self, key: str, data: bytes, ttl_secs: float | int | str | None = None) -> str:
        ttl = self._ttl(ttl_secs)
        with _io_errors("storing", key):
            if ttl == 0:
                self.kv.delete(key, ignore_keyerror=True)
            else:
                self.kv.set(key, data, ttl)
        return key

    def _put_file(self, key: str, file: BinaryIO, ttl_secs: float | int | str | None = None) -> str:
        return self._put(key, file.read(), ttl_secs)

    def _delete(self, key: str) -> None:
        with _io_errors("deleting", key):
            self.kv.delete(key, ignore_keyerror=True)

    def _copy(self, source: str, dest: str) -> str:
        """Copy the value of ``source`` to ``dest`` (with the store's default ttl)."""
        return self._put(dest, self._get(source))
