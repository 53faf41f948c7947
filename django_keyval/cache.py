"""A Django cache backend on a store.

``CACHES = {"default": {"BACKEND": "django_keyval.cache.KeyValCache", "LOCATION": "cache"}}``
keeps the cache's entries as the keys of ``KeyVal("cache")``, under the keys
Django makes (``KEY_PREFIX``, ``VERSION``, ``KEY_FUNCTION``).
"""

from __future__ import annotations

import itertools
import pickle
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache, InvalidCacheKey
from django.core.exceptions import ImproperlyConfigured

from django_keyval.exceptions import InvalidKey, SerializationError
from django_keyval.keys import validate_key
from django_keyval.routing import db_for_write
from django_keyval.store import KeyVal

# The OPTIONS this backend reads; any other key is a configuration error.
OPTIONS = frozenset({"MAX_ENTRIES", "CULL_FREQUENCY", "CULL_CHECK_INTERVAL", "DATABASE"})

# CULL_CHECK_INTERVAL's default is MAX_ENTRIES // CHECKS_PER_MAX_ENTRIES (at least 1): each
# writing process lets the store exceed MAX_ENTRIES by at most 1%, and the size check
# costs about one row read per write.
CHECKS_PER_MAX_ENTRIES = 100


class UnpicklableValue(SerializationError, pickle.PickleError):
    """A value given to the cache cannot be serialized; nothing was written.

    A ``pickle.PickleError`` too, as Django's own cache backends raise.
    """


# Keys with nothing for Django's memcached warnings or the store's limits to object to:
# at most 250 printable ASCII characters, no space.
_PLAIN_KEY = re.compile(r"[!-~]{0,250}").fullmatch


class _WriteCounter:
    """The writes of this process to each cache store, to check its size every N of them."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str | None], itertools.count[int]] = {}

    def add(self, store: tuple[str, str | None], writes: int, interval: int) -> bool:
        """Count ``writes`` more; return True if a multiple of ``interval`` was reached."""
        counter = self._counts.get(store) or self._counts.setdefault(store, itertools.count(1))
        # next() of an itertools.count is atomic under the GIL: no lock needed.
        if writes == 1:
            return next(counter) % interval == 0
        return sum(next(counter) % interval == 0 for _ in range(writes)) > 0


_writes = _WriteCounter()


class KeyValCache(BaseCache):
    """Django's cache API on the store named ``LOCATION`` (default ``"cache"``).

    ``TIMEOUT``, ``KEY_PREFIX``, ``VERSION`` and ``KEY_FUNCTION`` behave as Django
    documents them. ``OPTIONS``:

    * ``MAX_ENTRIES`` (300) and ``CULL_FREQUENCY`` (3) as for Django's database
      cache, except that the size is checked every ``CULL_CHECK_INTERVAL`` writes
      of a process rather than on each: the store exceeds ``MAX_ENTRIES`` by at
      most that many entries per writing process.
    * ``CULL_CHECK_INTERVAL``: writes between size checks, default
      ``MAX_ENTRIES // 100`` (at least 1).
    * ``DATABASE``: a database alias for the store (default: as for ``KeyVal``).
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = params.get("OPTIONS", {})
        unknown = set(options) - OPTIONS
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown OPTIONS for KeyValCache: {', '.join(sorted(unknown))} "
                f"(it reads {', '.join(sorted(OPTIONS))})."
            )
        interval = options.get("CULL_CHECK_INTERVAL")
        if interval is None:
            interval = max(1, self._max_entries // CHECKS_PER_MAX_ENTRIES)
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ImproperlyConfigured(
                f"OPTIONS['CULL_CHECK_INTERVAL'] must be a positive int, not {interval!r}."
            )
        self._check_interval: int = interval
        self._using: str | None = options.get("DATABASE")
        self._store = KeyVal(location or "cache", using=self._using)

    @property
    def store(self) -> KeyVal:
        """The ``KeyVal`` handle on the cache's store."""
        return self._store

    # Keys and timeouts

    def validate_key(self, key: str) -> None:
        """Warn as Django does about keys memcached would refuse; raise ``InvalidCacheKey``
        for a key the store cannot hold (longer than 255 characters, NUL, lone surrogate)."""
        if type(key) is str and _PLAIN_KEY(key):
            return
        super().validate_key(key)
        try:
            validate_key(key)
        except InvalidKey as exc:
            raise InvalidCacheKey(str(exc)) from exc

    def _ttl(self, timeout: Any) -> float | None:
        """Return the store's ttl for a Django ``timeout``: seconds, or None for "never".

        0 means "do not keep": the caller deletes instead of writing.
        """
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        return max(float(timeout), 0.0)

    # Writes

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        """Store ``value`` if ``key`` is missing; return True if it was (atomic, one query)."""
        key = self.make_and_validate_key(key, version=version)
        ttl = self._ttl(timeout)
        if ttl == 0:
            # Added and expired at once: True unless a live entry is there.
            return not self._store.exists(key)
        try:
            added = self._store.add(key, value, ttl)
        except SerializationError as exc:
            raise UnpicklableValue(str(exc)) from exc
        if added:
            self._wrote(1)
        return added

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        """Store ``value`` under ``key`` (one query; a timeout of 0 or less deletes it)."""
        key = self.make_and_validate_key(key, version=version)
        ttl = self._ttl(timeout)
        if ttl == 0:
            self._store.delete(key, ignore_keyerror=True)
            return
        try:
            self._store.set(key, value, ttl)
        except SerializationError as exc:
            raise UnpicklableValue(str(exc)) from exc
        self._wrote(1)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        """Reset the expiry of ``key``; return True if it exists (one query)."""
        key = self.make_and_validate_key(key, version=version)
        ttl = self._ttl(timeout)
        if ttl == 0:
            return self._store.delete(key, ignore_keyerror=True)
        return self._store.touch(key, ttl)

    def delete(self, key: str, version: int | None = None) -> bool:
        """Delete ``key``; return True if it existed (one query)."""
        key = self.make_and_validate_key(key, version=version)
        return self._store.delete(key, ignore_keyerror=True)

    def set_many(
        self,
        data: Mapping[str, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[str]:
        """Store every item of ``data`` in one transaction, one statement per batch.

        Return ``[]``: the write is all or nothing, so no key ever fails alone.
        """
        entries = {self.make_and_validate_key(key, version=version): v for key, v in data.items()}
        ttl = self._ttl(timeout)
        if ttl == 0:
            self._store.delete_many(entries)
            return []
        try:
            self._store.set_many(entries, ttl)
        except SerializationError as exc:
            raise UnpicklableValue(str(exc)) from exc
        self._wrote(len(entries))
        return []

    def delete_many(self, keys: Iterable[str], version: int | None = None) -> None:
        """Delete ``keys``, one statement per batch."""
        self._store.delete_many([self.make_and_validate_key(key, version=version) for key in keys])

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        """Add ``delta`` to the value of ``key`` and return it; ValueError if it is missing.

        Atomic across processes (the entry is locked from read to write); the key
        keeps its expiry.
        """
        made = self.make_and_validate_key(key, version=version)
        try:
            return self._store.modify(made, lambda value: value + delta)
        except KeyError:
            raise ValueError(f"Key '{key}' not found") from None

    def decr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        """Subtract ``delta`` from the value of ``key``; see incr()."""
        return self.incr(key, -delta, version=version)

    def clear(self) -> None:
        """Delete every entry of the cache's store."""
        self._store.flush()

    # Reads

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        """Return the value of ``key``, or ``default`` if it is missing (one query)."""
        key = self.make_and_validate_key(key, version=version)
        return self._store.get(key, default)

    def has_key(self, key: str, version: int | None = None) -> bool:
        """Return whether ``key`` is in the cache (one query)."""
        key = self.make_and_validate_key(key, version=version)
        return self._store.exists(key)

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]:
        """Return the values of those ``keys`` that exist, one query per batch."""
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not made:
            return {}
        return {made[key]: value for key, value in self._store.get_many(made).items()}

    # Size

    def _wrote(self, writes: int) -> None:
        if _writes.add((self._store.name, self._using), writes, self._check_interval):
            self.cull(only_if_full=True)

    def cull(self, *, only_if_full: bool = False) -> int:
        """Delete ``1/CULL_FREQUENCY`` of the entries (the first in key order), or all
        with ``CULL_FREQUENCY`` 0, if there are more than ``MAX_ENTRIES``, as Django's
        database cache does; purge expired rows first. Return how many live entries
        were deleted.

        ``only_if_full``: purge expired rows only when over ``MAX_ENTRIES`` (what
        the size check of the writes does). Expired rows never count as entries.
        """
        count = self._store.count()
        if only_if_full and count <= self._max_entries:
            return 0
        KeyVal.purge_expired(using=db_for_write(self._store.name, self._using))
        if count <= self._max_entries:
            return 0
        if self._cull_frequency == 0:
            self._store.flush()
            return count
        doomed = list(itertools.islice(self._store.iter_keys(), count // self._cull_frequency))
        return self._store.delete_many(doomed) if doomed else 0

    def close(self, **kwargs: Any) -> None:
        """Nothing to close: the store uses Django's database connections."""
