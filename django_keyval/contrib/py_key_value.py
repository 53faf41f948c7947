"""A py-key-value (``py-key-value-aio``) store kept in django-keyval stores.

``pip install django-keyval[py-key-value]``. Each collection is a store of
the same name; an entry is the JSON document py-key-value's serialization
adapter makes of it (value, creation and expiry), kept with the store's
"bytes" serializer and signed as the store signs every value. The store's
own expiry matches the entry's, so expired entries are missing at once and
``cull()`` (``KeyVal.purge_expired``) removes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError

from django_keyval.exceptions import CorruptValue, InvalidKey, ValueTooLarge
from django_keyval.keys import MAX_LENGTH
from django_keyval.store import KeyVal

try:
    from key_value.aio._utils.sanitization import HashExcessLengthStrategy, SanitizationStrategy
    from key_value.aio._utils.serialization import SerializationAdapter
    from key_value.aio.errors import (
        DeserializationError,
        InvalidKeyError,
        KeyValueOperationError,
        KeyValueStoreError,
    )
    from key_value.aio.stores.base import (
        SEED_DATA_TYPE,
        BaseCullStore,
        BaseDestroyCollectionStore,
        BaseEnumerateCollectionsStore,
        BaseEnumerateKeysStore,
        ManagedEntry,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "django_keyval.contrib.py_key_value needs py-key-value-aio: "
        "pip install django-keyval[py-key-value]"
    ) from exc

__all__ = ["KeyValStore"]

T = TypeVar("T")


@contextmanager
def _errors() -> Iterator[None]:
    """Raise the store's errors as py-key-value's."""
    try:
        yield
    except InvalidKey as exc:
        raise InvalidKeyError(message=str(exc)) from exc
    except CorruptValue as exc:
        raise DeserializationError(message=str(exc)) from exc
    except ValueTooLarge as exc:
        raise KeyValueOperationError(message=str(exc)) from exc
    except DatabaseError as exc:
        raise KeyValueStoreError(message=f"the database failed: {exc}") from exc


class KeyValStore(
    BaseEnumerateKeysStore, BaseEnumerateCollectionsStore, BaseDestroyCollectionStore, BaseCullStore
):
    """A py-key-value store whose collections are django-keyval stores.

    ``using``: the database alias of every collection (else ``KEYVAL['DATABASE']``,
    else the database routers, with the hint ``store=<collection>``).
    Collection names and keys longer than a store allows (255 characters) are
    hashed by py-key-value's ``HashExcessLengthStrategy`` unless other
    strategies are given; with it, names starting with ``H_`` or ``S_`` are
    reserved (``InvalidKeyError``). ``default_collection``, ``seed`` and
    ``serialization_adapter`` are those of py-key-value's ``BaseStore``.
    """

    def __init__(
        self,
        *,
        using: str | None = None,
        default_collection: str | None = None,
        key_sanitization_strategy: SanitizationStrategy | None = None,
        collection_sanitization_strategy: SanitizationStrategy | None = None,
        serialization_adapter: SerializationAdapter | None = None,
        seed: SEED_DATA_TYPE | None = None,
    ) -> None:
        if using is not None and not isinstance(using, str):
            raise TypeError(f"using must be a database alias (a str), not {using!r}")
        self._using = using
        self._handles: dict[str, KeyVal] = {}
        super().__init__(
            serialization_adapter=serialization_adapter,
            key_sanitization_strategy=key_sanitization_strategy
            or HashExcessLengthStrategy(max_length=MAX_LENGTH),
            collection_sanitization_strategy=collection_sanitization_strategy
            or HashExcessLengthStrategy(max_length=MAX_LENGTH),
            default_collection=default_collection,
            seed=seed,
            stable_api=True,
        )

    def __repr__(self) -> str:
        using = "" if self._using is None else f" using={self._using!r}"
        return f"<{type(self).__name__}{using}>"

    # Collections and keys as stores and store keys

    def _kv(self, collection: str) -> KeyVal:
        name = self._sanitize_collection(collection=collection)
        handle = self._handles.get(name)
        if handle is None:
            with _errors():
                handle = KeyVal(name, using=self._using, serializer="bytes")
            self._handles[name] = handle
        return handle

    @staticmethod
    async def _run(func: Callable[..., T], *args: Any) -> T:
        """Run the store operation ``func(*args)`` in Django's sync thread, as KeyVal's
        async twins do."""
        with _errors():
            return await sync_to_async(func, thread_sensitive=True)(*args)

    def _dump(self, entry: ManagedEntry) -> bytes:
        return self._serialization_adapter.dump_json(entry=entry).encode()

    def _load(self, payload: bytes) -> ManagedEntry:
        return self._serialization_adapter.load_json(json_str=payload.decode())

    # Reads

    async def _get_managed_entry(self, *, collection: str, key: str) -> ManagedEntry | None:
        kv, key = self._kv(collection), self._sanitize_key(key=key)
        payload = await self._run(kv.get_default, key)
        return None if payload is None else self._load(payload)

    async def _get_managed_entries(
        self, *, collection: str, keys: Sequence[str]
    ) -> list[ManagedEntry | None]:
        kv = self._kv(collection)
        stored_keys = [self._sanitize_key(key=key) for key in keys]
        found: dict[str, bytes] = await self._run(kv.get_many, stored_keys)
        return [None if key not in found else self._load(found[key]) for key in stored_keys]

    async def _get_collection_keys(self, *, collection: str, limit: int | None = None) -> list[str]:
        kv = self._kv(collection)

        def keys() -> list[str]:
            return list(itertools.islice(kv.iter_keys(), limit if limit and limit > 0 else None))

        return await self._run(keys)

    async def _get_collection_names(self, *, limit: int | None = None) -> list[str]:
        names = await self._run(KeyVal.stores, self._using)
        return names[:limit] if limit and limit > 0 else names

    # Writes

    async def _put_managed_entry(
        self, *, collection: str, key: str, managed_entry: ManagedEntry
    ) -> None:
        kv, key = self._kv(collection), self._sanitize_key(key=key)
        payload = self._dump(managed_entry)
        ttl = managed_entry.ttl
        if ttl is not None and ttl <= 0:
            await self._run(kv.delete, key, True)  # Expired as it is written.
        else:
            await self._run(kv.set, key, payload, ttl)

    async def _put_managed_entries(
        self,
        *,
        collection: str,
        keys: Sequence[str],
        managed_entries: Sequence[ManagedEntry],
        ttl: float | None,
        created_at: datetime,
        expires_at: datetime | None,
    ) -> None:
        kv = self._kv(collection)
        mapping = {
            self._sanitize_key(key=key): self._dump(entry)
            for key, entry in zip(keys, managed_entries, strict=True)
        }
        # One expiry for the batch, as put_many() gives it; None never expires.
        await self._run(kv.set_many, mapping, ttl)

    async def _delete_managed_entry(self, *, key: str, collection: str) -> bool:
        kv, key = self._kv(collection), self._sanitize_key(key=key)
        deleted: bool = await self._run(kv.delete, key, True)
        return deleted

    async def _delete_managed_entries(self, *, keys: Sequence[str], collection: str) -> int:
        kv = self._kv(collection)
        return await self._run(kv.delete_many, [self._sanitize_key(key=key) for key in keys])

    async def _delete_collection(self, *, collection: str) -> bool:
        kv = self._kv(collection)
        return await self._run(kv.delete_prefix, "") > 0

    async def _cull(self) -> None:
        await self._run(KeyVal.purge_expired)
