"""KeyVal's async twins, found from the class, and a handle that calls them from sync tests.

The behaviour tests run once through the sync methods and once through their
twins (see the ``api`` fixture in conftest.py), so each twin is held to the
same contract as its sync method.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import asgiref.sync
from asgiref.sync import async_to_sync

from django_keyval import KeyVal

T = TypeVar("T")

# Public methods without an async twin: making and closing a handle runs no query.
NO_TWIN = frozenset({"connect", "disconnect"})

# Methods whose twin is an async iterator (``async for``) rather than a coroutine.
ASYNC_ITERATORS = frozenset({"iter_keys", "items"})

# Context managers whose twin is an async context manager (``async with``).
ASYNC_CONTEXTS = frozenset({"snapshot"})

# Methods whose twin is a plain method returning an object for ``async with`` (the twin of
# ``lock`` is ``alock``: making a Lease runs no query; its a-methods do the work).
ASYNC_LEASES = frozenset({"lock"})

# KeyVal's dict-style access, each calling one of the methods above.
DICT_STYLE = ("__getitem__", "__setitem__", "__delitem__", "__contains__", "__iter__", "__len__")


def is_async(method: Any) -> bool:
    # An @asynccontextmanager factory is a plain function around an async generator.
    wrapped = getattr(method, "__wrapped__", None)
    return (
        inspect.iscoroutinefunction(method)
        or inspect.isasyncgenfunction(method)
        or inspect.isasyncgenfunction(wrapped)
    )


def public_methods(cls: type[Any] = KeyVal) -> dict[str, Any]:
    """Return the public methods of ``cls`` (its own and inherited), by name."""
    return {
        name: getattr(cls, name)
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }


def twin_names(cls: type[Any] = KeyVal) -> dict[str, str]:
    """Map each public sync method of ``cls`` (but those of NO_TWIN) to its twin's name.

    The twin of ``name`` is ``"a" + name``; whether it exists is for the tests to check.
    """
    lease_twins = {f"a{name}" for name in ASYNC_LEASES}
    return {
        name: f"a{name}"
        for name, method in public_methods(cls).items()
        if not is_async(method) and name not in NO_TWIN and name not in lease_twins
    }


TWINS = twin_names()


async def _collect(iterator: AsyncIterator[T]) -> list[T]:
    return [item async for item in iterator]


class AsyncTwins:
    """A stand-in for a KeyVal handle (or the KeyVal class) whose methods run its async twins.

    ``AsyncTwins(kv).get("a")`` runs ``kv.aget("a")`` to its end with
    ``async_to_sync``. The twins do their database work with
    ``sync_to_async(thread_sensitive=True)``, which async_to_sync sends back
    to this thread: they use the test's connection, inside its transaction.
    The twins of iter_keys() and items() are read to their end when called,
    so laziness is for sync-only tests (and test_aio.py). Dict-style access
    is KeyVal's own, so it calls the twins of the methods it calls.
    """

    def __init__(self, target: KeyVal | type[KeyVal]) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name in TWINS:
            twin = getattr(self._target, TWINS[name])
            if name in ASYNC_ITERATORS:
                collect = async_to_sync(_collect)
                return lambda *args, **kwargs: iter(collect(twin(*args, **kwargs)))
            if name in ASYNC_LEASES:
                return lambda *args, **kwargs: LeaseTwins(twin(*args, **kwargs))
            return async_to_sync(twin)
        if name in NO_TWIN or name.startswith("_") or not callable(attribute):
            return attribute
        raise AttributeError(f"KeyVal.{name}() has no async twin")

    def __repr__(self) -> str:
        return f"AsyncTwins({self._target!r})"


class LeaseTwins:
    """A stand-in for a Lease whose methods run its async twins (``aacquire()`` for
    ``acquire()``, ``async with`` for ``with``)."""

    def __init__(self, lease: Any) -> None:
        self._lease = lease

    def __getattr__(self, name: str) -> Any:
        if name in ("acquire", "release", "extend", "owned"):
            return async_to_sync(getattr(self._lease, f"a{name}"))
        return getattr(self._lease, name)

    def __enter__(self) -> Any:
        async_to_sync(self._lease.__aenter__)()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        async_to_sync(self._lease.__aexit__)(*exc_info)


for _name in DICT_STYLE:
    setattr(AsyncTwins, _name, getattr(KeyVal, _name))


def through_twins(target: T) -> T:
    """Return ``target`` (a handle, or KeyVal) with its methods running their async twins."""
    return cast(T, AsyncTwins(cast(Any, target)))


def same(target: T) -> T:
    return target


# One thread runs the event loops of a test's async_to_sync calls, where each
# call would otherwise start a thread of its own: about a millisecond, most of
# the call's time. Older asgiref has no AsyncSingleThreadContext: each call
# starts its thread.
single_loop_thread: Callable[[], contextlib.AbstractContextManager[Any]] = getattr(
    asgiref.sync, "AsyncSingleThreadContext", contextlib.nullcontext
)
