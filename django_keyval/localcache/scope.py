"""Snapshots: one version of every cached store for a request, a task or a block of code."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from django.core.signals import request_finished, request_started
from django.dispatch import receiver

if TYPE_CHECKING:
    from django_keyval.localcache.copies import Copy
    from django_keyval.localcache.reads import View


class Snapshot:
    """The local copies a scope has validated, by (alias, store): it reads only those;
    and the views of them its reads use, by (store, using)."""

    __slots__ = ("copies", "token", "views")

    def __init__(self) -> None:
        self.copies: dict[tuple[str, str], Copy] = {}
        self.views: dict[tuple[str, str | None], View] = {}
        # What a request's scope replaced (the scope of an enclosing snapshot, in tests).
        self.token: Token[Snapshot | None] | None = None


# Outside a snapshot, the views reads may use without a query (within
# MAX_STALENESS of their copy's validation), by (store, using).
recent: dict[tuple[str, str | None], View] = {}


# A contextvar, so that each thread and each asyncio task has its own scope;
# sync_to_async() carries it into the thread that runs the sync twin.
current: ContextVar[Snapshot | None] = ContextVar("django_keyval_snapshot", default=None)


@contextlib.contextmanager
def snapshot() -> Iterator[None]:
    """Read one version of every cached store inside the ``with`` block.

    Each cached store is validated once (one query), on its first read in the
    block; the process's own writes are seen at once. Inside a request or an
    enclosing snapshot, the block shares the enclosing scope.
    """
    if current.get() is not None:
        yield
        return
    token = current.set(Snapshot())
    try:
        yield
    finally:
        current.reset(token)


@contextlib.asynccontextmanager
async def asnapshot() -> AsyncIterator[None]:
    """Async version of :meth:`snapshot`, for ``async with``."""
    with snapshot():
        yield


@receiver(request_started, dispatch_uid="django_keyval.localcache.request_started")
def _open_request_scope(**kwargs: Any) -> None:
    snapshot = Snapshot()
    snapshot.token = current.set(snapshot)


@receiver(request_finished, dispatch_uid="django_keyval.localcache.request_finished")
def _close_request_scope(**kwargs: Any) -> None:
    snapshot = current.get()
    if snapshot is not None and snapshot.token is not None:
        try:
            current.reset(snapshot.token)
            return
        except ValueError:
            pass  # Finished in another context than it started (ASGI may do so).
    current.set(None)
