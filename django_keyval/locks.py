"""Locks: leases kept in the database, with an owner token and a fencing token.

``kv.lock(name, ttl)`` returns a Lease; its statements are in sql/leases.py.
"""

# LockMethods declares ``self: KeyVal``, as aio.py does (see there).
# mypy: disable-error-code="misc"

from __future__ import annotations

import asyncio
import logging
import math
import random
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections

from django_keyval.exceptions import LockInTransaction, LockLost, LockTimeout
from django_keyval.keys import validate_key
from django_keyval.retry import ATTEMPTS, BACKOFF, MAX_BACKOFF, is_conflict
from django_keyval.routing import db_for_locks
from django_keyval.sql.cursors import cursor_for
from django_keyval.sql.leases import leases_for
from django_keyval.ttl import ttl_seconds

if TYPE_CHECKING:
    from django_keyval.store import KeyVal

T = TypeVar("T")

logger = logging.getLogger(__name__)

# A waiting acquire() tries again after a random pause between half of the
# current delay and all of it; the delay starts at FIRST_POLL seconds and
# doubles after each try, up to MAX_POLL (the polling granularity).
FIRST_POLL = 0.005
MAX_POLL = 0.1


def _seconds(value: float | timedelta, what: str) -> float:
    seconds = ttl_seconds(value)
    if seconds is None:
        raise ValueError(f"{what} must be a positive number of seconds or a timedelta, not None")
    return seconds


def _timeout(timeout: float | timedelta | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds, a timedelta or None, not {timeout!r}"
        )
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be zero or a positive number of seconds, not {timeout!r}")
    return float(timeout)


class Lease:
    """A lock named ``name`` in the store ``store``, held for ``ttl`` seconds at a time.

    Made by ``kv.lock()`` (or ``kv.alock()``), not yet acquired. ``with`` (or
    ``async with``) acquires it or raises LockTimeout, and releases it on
    leaving. Each acquisition has a random owner token and a ``fence`` that
    is greater than that of every earlier acquisition of the same lock. One
    Lease holds at most one acquisition at a time; it is not shared between
    threads.
    """

    def __init__(
        self,
        store: str,
        name: str,
        ttl: float | timedelta,
        *,
        blocking: bool = True,
        timeout: float | timedelta | None = None,
        using: str | None = None,
    ) -> None:
        self.store = store
        self.name = validate_key(name, "lock name")
        self.ttl = _seconds(ttl, "ttl")
        self.blocking = bool(blocking)
        self.timeout = _timeout(timeout)
        self._using = using
        self._alias: str | None = None
        self._owner: str | None = None
        self._fence: int | None = None

    def __repr__(self) -> str:
        state = "held" if self._owner is not None else "not held"
        return f"<Lease {self.name!r} of store {self.store!r}, fence {self._fence}, {state}>"

    @property
    def fence(self) -> int | None:
        """The fencing token of the latest acquisition (None before the first one)."""
        return self._fence

    # Sync

    def acquire(self) -> bool:
        """Acquire the lock; return True, or False if another owner held it throughout.

        With ``blocking=False`` it tries once; else it tries again, with
        jittered exponential backoff, until ``timeout`` seconds have passed
        (forever with ``timeout=None``). One query per try. Raise
        LockInTransaction inside a transaction on the lock's database, and
        RuntimeError if this Lease already holds it.
        """
        deadline = self._start()
        delay = FIRST_POLL
        while True:
            if self._try_acquire():
                return True
            pause = self._pause(deadline, delay)
            if pause is None:
                return False
            time.sleep(pause)
            delay = min(delay * 2, MAX_POLL)

    def release(self, *, warn_only: bool = False) -> None:
        """Release the lock. One query.

        Raise LockLost if this Lease does not hold it unexpired any more (its
        ttl ran out, and maybe another owner took it): then nothing is
        changed. With ``warn_only=True``, log a warning instead.
        """
        owner, self._owner = self._owner, None
        if owner is None or self._alias is None:
            self._lost("release", "it is not held", warn_only)
            return
        try:
            self._check_no_transaction(self._alias, "released")
        except LockInTransaction:
            self._owner = owner
            raise
        released = self._run(lambda leases, cursor: leases.release(cursor, *self._id(owner)))
        if not released:
            self._lost("release", "its lease expired", warn_only)

    def extend(self, seconds: float | timedelta) -> None:
        """Make the lease expire ``seconds`` from now (which may shorten it). One query.

        Raise LockLost if this Lease does not hold it unexpired any more.
        """
        seconds = _seconds(seconds, "seconds")
        owner = self._owner
        if owner is None or self._alias is None:
            self._lost("extend", "it is not held", False)
            return
        self._check_no_transaction(self._alias, "extended")
        extended = self._run(
            lambda leases, cursor: leases.extend(cursor, *self._id(owner), seconds)
        )
        if not extended:
            self._owner = None
            self._lost("extend", "its lease expired", False)

    def owned(self) -> bool:
        """Return whether this Lease holds the lock unexpired. One query (none if it
        never acquired it, or released it)."""
        owner = self._owner
        if owner is None or self._alias is None:
            return False
        owned: bool = self._run(lambda leases, cursor: leases.owned(cursor, *self._id(owner)))
        return owned

    def __enter__(self) -> Lease:
        if not self.acquire():
            raise self._timed_out()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A body that raised keeps its exception; one that finished is told
        # when the lease ran out under it (another owner may have run too).
        self.release(warn_only=exc_type is not None)

    # Async

    async def aacquire(self) -> bool:
        """Async version of :meth:`acquire`: it waits with ``asyncio.sleep()``."""
        deadline = self._start()
        attempt = sync_to_async(self._try_acquire, thread_sensitive=True)
        delay = FIRST_POLL
        while True:
            if await attempt():
                return True
            pause = self._pause(deadline, delay)
            if pause is None:
                return False
            await asyncio.sleep(pause)
            delay = min(delay * 2, MAX_POLL)

    async def arelease(self, *, warn_only: bool = False) -> None:
        """Async version of :meth:`release`."""
        await sync_to_async(self.release, thread_sensitive=True)(warn_only=warn_only)

    async def aextend(self, seconds: float | timedelta) -> None:
        """Async version of :meth:`extend`."""
        await sync_to_async(self.extend, thread_sensitive=True)(seconds)

    async def aowned(self) -> bool:
        """Async version of :meth:`owned`."""
        return await sync_to_async(self.owned, thread_sensitive=True)()

    async def __aenter__(self) -> Lease:
        if not await self.aacquire():
            raise self._timed_out()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.arelease(warn_only=exc_type is not None)

    # Internals

    def _id(self, owner: str) -> tuple[str, str, str]:
        return self.store, self.name, owner

    def _start(self) -> float | None:
        """Check that a new acquisition may start; return its deadline (monotonic)."""
        if self._owner is not None:
            raise RuntimeError(f"{self!r} is already held: release it before acquiring it again")
        if self.timeout is None or not self.blocking:
            return None
        return time.monotonic() + self.timeout

    def _pause(self, deadline: float | None, delay: float) -> float | None:
        """Return how long to wait before the next try, or None to give up."""
        if not self.blocking:
            return None
        pause = random.uniform(delay / 2, delay)
        if deadline is None:
            return pause
        left = deadline - time.monotonic()
        return None if left <= 0 else min(pause, left)

    def _try_acquire(self) -> bool:
        alias = db_for_locks(self.store, self._using)
        self._check_no_transaction(alias, "taken")
        self._alias = alias
        owner = secrets.token_hex(16)
        fence = self._run(lambda leases, cursor: leases.acquire(cursor, *self._id(owner), self.ttl))
        if fence is None:
            return False
        self._owner, self._fence = owner, fence
        return True

    def _check_no_transaction(self, alias: str, what: str) -> None:
        connection = connections[alias]
        if connection.in_atomic_block or not connection.get_autocommit():
            raise LockInTransaction(
                f"lock {self.name!r} of store {self.store!r} {what} inside a transaction on "
                f"database {alias!r}: other processes would not see it until that transaction "
                "commits. Take locks outside, or route them to another database with "
                "KEYVAL['LOCK_DATABASE']."
            )

    def _run(self, statement: Callable[..., T]) -> T:
        """Run ``statement(leases, cursor)`` on the lock's database, again after a deadlock.

        The lock's database has no transaction open (acquire() checked), so
        the statement, rolled back whole, can run again.
        """
        assert self._alias is not None
        attempt = 1
        while True:
            try:
                with cursor_for(self._alias) as (ops, cursor):
                    return statement(leases_for(ops, cursor.db), cursor)
            except DatabaseError as exc:
                if attempt >= ATTEMPTS or not is_conflict(exc):
                    raise
            time.sleep(random.uniform(0, min(BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)))
            attempt += 1

    def _lost(self, action: str, why: str, warn_only: bool) -> None:
        message = f"cannot {action} lock {self.name!r} of store {self.store!r}: {why}"
        if not warn_only:
            raise LockLost(message)
        logger.warning("%s", message)

    def _timed_out(self) -> LockTimeout:
        waited = "at once" if not self.blocking else f"within {self.timeout} s"
        return LockTimeout(
            f"lock {self.name!r} of store {self.store!r} is held by another owner; "
            f"not acquired {waited}"
        )


class LockMethods:
    """KeyVal's locks: ``kv.lock()`` and ``kv.alock()``."""

    def lock(
        self: KeyVal,
        name: str,
        ttl: float | timedelta,
        *,
        blocking: bool = True,
        timeout: float | timedelta | None = None,
    ) -> Lease:
        """Return the lock ``name`` of this store as a Lease, not yet acquired.

        ``with kv.lock(name, ttl) as lease:`` runs its body only once the lease
        is acquired, or raises LockTimeout; the lease lasts ``ttl`` seconds
        unless extended. Lock names are not keys: a lock never shows up among
        the store's keys. See Lease.
        """
        return Lease(
            self._store(), name, ttl, blocking=blocking, timeout=timeout, using=self._using
        )

    def alock(
        self: KeyVal,
        name: str,
        ttl: float | timedelta,
        *,
        blocking: bool = True,
        timeout: float | timedelta | None = None,
    ) -> Lease:
        """The twin of :meth:`lock` for async code: ``async with kv.alock(name, ttl):``,
        or ``await lease.aacquire()``, ``arelease()``, ``aextend()``, ``aowned()``.

        A plain method, as making the Lease runs no query.
        """
        return self.lock(name, ttl, blocking=blocking, timeout=timeout)
