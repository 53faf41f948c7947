"""Test helpers: ``override_keyval`` sets values for a test and restores what was there."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

from django_keyval import localcache
from django_keyval.live import UNSET, declaration, settings_store
from django_keyval.store import KeyVal

F = TypeVar("F", bound=Callable[..., Any])

# What a key held before an override: (value or UNSET, seconds left or None).
Saved = tuple[Any, "float | None"]


class override_keyval:  # noqa: N801 (named as Django names override_settings)
    """Set ``values`` in ``store`` (the declared settings when ``store`` is None) for the
    duration of a ``with`` block, a decorated function (sync or async), or each
    ``test*`` method of a decorated class; then restore exactly what was there: the
    old values with their remaining time to live, and the absence of keys that
    did not exist. Declared settings are type-checked before anything is written.

    The values are really written to the database, so that the admin, the
    ``keyval`` command and other threads see them too; the test needs database
    access. Local copies of cached stores are cleared on the way out.
    """

    def __init__(self, store: str | None = None, **values: Any) -> None:
        self.store = store
        self.values = values
        self._saved: list[dict[str, Saved]] = []

    def _handle(self) -> KeyVal:
        return settings_store() if self.store is None else KeyVal(self.store)

    def enable(self) -> None:
        """Save what the keys hold, then write the values (what ``__enter__`` does)."""
        if self.store is None:
            for name, value in self.values.items():
                declaration(name).check(value)
        kv = self._handle()
        saved: dict[str, Saved] = {}
        for key in self.values:
            old = kv.get(key, UNSET)
            saved[key] = (old, None if old is UNSET else kv.ttl(key))
        kv.set_many(self.values, ttl=None)
        self._saved.append(saved)

    def disable(self) -> None:
        """Restore what ``enable`` saved (what ``__exit__`` does)."""
        saved = self._saved.pop()
        kv = self._handle()
        kv.delete_many([key for key, (old, _) in saved.items() if old is UNSET])
        for key, (old, ttl) in saved.items():
            if old is not UNSET:
                kv.set(key, old, ttl=ttl)
        localcache.clear()

    def __enter__(self) -> None:
        self.enable()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disable()

    def __call__(self, decorated: F) -> F:
        if isinstance(decorated, type):
            for name, method in list(vars(decorated).items()):
                if name.startswith("test") and callable(method):
                    setattr(decorated, name, self(method))
            return decorated
        if inspect.iscoroutinefunction(decorated):

            @functools.wraps(decorated)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                await sync_to_async(self.enable, thread_sensitive=True)()
                try:
                    return await decorated(*args, **kwargs)
                finally:
                    await sync_to_async(self.disable, thread_sensitive=True)()

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(decorated)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return decorated(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
