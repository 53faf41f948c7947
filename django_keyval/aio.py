"""The async twins of KeyVal's operations, mixed into KeyVal.

Each wraps its sync twin with ``sync_to_async(thread_sensitive=True)``, as
Django's cache backends do, so it behaves exactly the same.
"""

# The methods declare ``self: KeyVal`` so that their bodies are checked
# against the sync methods they wrap; mypy rejects a self type that is a
# subclass of the mixin, which is exactly what KeyVal is.
# mypy: disable-error-code="misc"

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from asgiref.sync import sync_to_async

from django_keyval.keys import validate_key
from django_keyval.sentinels import MISSING
from django_keyval.sql.base import ITEMS_PAGE, KEYS_PAGE
from django_keyval.ttl import DEFAULT_TTL, TTL

if TYPE_CHECKING:
    from django_keyval.store import KeyVal

T = TypeVar("T")


class AsyncMethods:
    """The ``a``-prefixed methods of KeyVal."""

    async def aset(self: KeyVal, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> bool:
        """Async version of :meth:`set`."""
        return await sync_to_async(self.set, thread_sensitive=True)(key, value, ttl)

    async def aget(self: KeyVal, key: str, default: Any = MISSING) -> Any:
        """Async version of :meth:`get`."""
        return await sync_to_async(self.get, thread_sensitive=True)(key, default)

    async def aget_default(self: KeyVal, key: str, default: Any = None) -> Any:
        """Async version of :meth:`get_default`."""
        return await sync_to_async(self.get_default, thread_sensitive=True)(key, default)

    async def apop(self: KeyVal, key: str, default: Any = MISSING) -> Any:
        """Async version of :meth:`pop`."""
        return await sync_to_async(self.pop, thread_sensitive=True)(key, default)

    async def apop_default(self: KeyVal, key: str, default: Any = None) -> Any:
        """Async version of :meth:`pop_default`."""
        return await sync_to_async(self.pop_default, thread_sensitive=True)(key, default)

    async def aexists(self: KeyVal, key: str) -> bool:
        """Async version of :meth:`exists`."""
        return await sync_to_async(self.exists, thread_sensitive=True)(key)

    async def adelete(self: KeyVal, key: str, ignore_keyerror: bool = False) -> bool:
        """Async version of :meth:`delete`."""
        return await sync_to_async(self.delete, thread_sensitive=True)(key, ignore_keyerror)

    async def aflush(self: KeyVal) -> None:
        """Async version of :meth:`flush`."""
        await sync_to_async(self.flush, thread_sensitive=True)()

    @classmethod
    async def aflush_all(cls: type[KeyVal], using: str | None = None) -> None:
        """Async version of :meth:`flush_all`."""
        await sync_to_async(cls.flush_all, thread_sensitive=True)(using)

    async def aadd(self: KeyVal, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> bool:
        """Async version of :meth:`add`."""
        return await sync_to_async(self.add, thread_sensitive=True)(key, value, ttl)

    async def aget_or_set(self: KeyVal, key: str, default: Any, ttl: TTL = DEFAULT_TTL) -> Any:
        """Async version of :meth:`get_or_set`."""
        return await sync_to_async(self.get_or_set, thread_sensitive=True)(key, default, ttl)

    async def aincr(self: KeyVal, key: str, delta: int = 1, ttl: TTL = DEFAULT_TTL) -> int:
        """Async version of :meth:`incr`."""
        return await sync_to_async(self.incr, thread_sensitive=True)(key, delta, ttl)

    async def adecr(self: KeyVal, key: str, delta: int = 1, ttl: TTL = DEFAULT_TTL) -> int:
        """Async version of :meth:`decr`."""
        return await sync_to_async(self.decr, thread_sensitive=True)(key, delta, ttl)

    async def amodify(
        self: KeyVal, key: str, func: Callable[[Any], T], default: Any = MISSING
    ) -> T:
        """Async version of :meth:`modify`."""
        return await sync_to_async(self.modify, thread_sensitive=True)(key, func, default)

    async def atouch(self: KeyVal, key: str, ttl: TTL = DEFAULT_TTL) -> bool:
        """Async version of :meth:`touch`."""
        return await sync_to_async(self.touch, thread_sensitive=True)(key, ttl)

    async def attl(self: KeyVal, key: str) -> float | None:
        """Async version of :meth:`ttl`."""
        return await sync_to_async(self.ttl, thread_sensitive=True)(key)

    async def aget_many(self: KeyVal, keys: Iterable[str]) -> dict[str, Any]:
        """Async version of :meth:`get_many`."""
        return await sync_to_async(self.get_many, thread_sensitive=True)(keys)

    async def aset_many(self: KeyVal, mapping: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
        """Async version of :meth:`set_many`."""
        await sync_to_async(self.set_many, thread_sensitive=True)(mapping, ttl)

    async def adelete_many(self: KeyVal, keys: Iterable[str]) -> int:
        """Async version of :meth:`delete_many`."""
        return await sync_to_async(self.delete_many, thread_sensitive=True)(keys)

    async def adelete_prefix(self: KeyVal, prefix: str) -> int:
        """Async version of :meth:`delete_prefix`."""
        return await sync_to_async(self.delete_prefix, thread_sensitive=True)(prefix)

    async def akeys(self: KeyVal, prefix: str = "") -> list[str]:
        """Async version of :meth:`keys`."""
        return await sync_to_async(self.keys, thread_sensitive=True)(prefix)

    async def acount(self: KeyVal, prefix: str = "") -> int:
        """Async version of :meth:`count`."""
        return await sync_to_async(self.count, thread_sensitive=True)(prefix)

    @classmethod
    async def astores(cls: type[KeyVal], using: str | None = None) -> list[str]:
        """Async version of :meth:`stores`."""
        return await sync_to_async(cls.stores, thread_sensitive=True)(using)

    @classmethod
    async def apurge_expired(
        cls: type[KeyVal], *, batch_size: int = 1000, using: str | None = None
    ) -> int:
        """Async version of :meth:`purge_expired`."""
        purge = sync_to_async(cls.purge_expired, thread_sensitive=True)
        return await purge(batch_size=batch_size, using=using)

    async def aiter_keys(self: KeyVal, prefix: str = "") -> AsyncIterator[str]:
        """Async version of :meth:`iter_keys`, for ``async for``: one query per chunk."""
        prefix = validate_key(prefix, "prefix")
        fetch = sync_to_async(self._key_page, thread_sensitive=True)
        after = None
        while True:
            page = await fetch(prefix, after)
            for key in page:
                yield key
            if len(page) < KEYS_PAGE:
                return
            after = page[-1]

    async def aitems(self: KeyVal, prefix: str = "") -> AsyncIterator[tuple[str, Any]]:
        """Async version of :meth:`items`, for ``async for``: one query per chunk."""
        prefix = validate_key(prefix, "prefix")
        fetch = sync_to_async(self._item_page, thread_sensitive=True)
        after = None
        while True:
            page = await fetch(prefix, after)
            for item in page:
                yield item
            if len(page) < ITEMS_PAGE:
                return
            after = page[-1][0]
