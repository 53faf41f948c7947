"""Running an operation again when the database chose it as the victim of a deadlock."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, connections

# Whether an error is a conflict is for sql/ to say; importable from here as before.
from django_keyval.sql import is_conflict as is_conflict

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger(__name__)

# How often an operation runs at most. Between attempts it pauses for a random
# fraction of BACKOFF seconds, doubled after each attempt up to MAX_BACKOFF, so
# that the processes that deadlocked do not meet again at once.
ATTEMPTS = 10
BACKOFF = 0.01
MAX_BACKOFF = 0.5


def _in_transaction() -> bool:
    """Return whether the calling thread has a transaction open on any database.

    Any database, not only the one the operation used: never retrying inside
    a transaction is what matters, and the check needs no routing.
    """
    return any(
        connection.in_atomic_block
        or (connection.connection is not None and not connection.autocommit)
        for connection in connections.all(initialized_only=True)
    )


def retry_conflicts(operation: Callable[P, T]) -> Callable[P, T]:
    """Run ``operation`` again, up to ATTEMPTS times in all, while it loses deadlocks.

    Only outside the caller's transactions: there, the database has rolled
    back the caller's whole transaction, so the error must reach the caller.
    Outside one, every operation is one statement or a transaction of its
    own, rolled back whole by the conflict, so running it again is safe.
    """

    @functools.wraps(operation)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> T:
        attempt = 1
        while True:
            try:
                return operation(*args, **kwargs)
            except DatabaseError as exc:
                if attempt >= ATTEMPTS or not is_conflict(exc) or _in_transaction():
                    raise
                logger.debug(
                    "%s lost a conflict on attempt %d, retrying", operation.__name__, attempt
                )
            time.sleep(random.uniform(0, min(BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)))
            attempt += 1

    return retrying
