"""Writes to cached stores: a new generation in the same transaction, the copy dropped on commit."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from django.db import connections, transaction
from django.db.models import QuerySet

from django_keyval.conf import get_config
from django_keyval.localcache.copies import drop, drop_alias, mark_dirty, unmark_dirty
from django_keyval.routing import db_for_write
from django_keyval.sql.cursors import cursor_for
from django_keyval.sql.generations import generations_for

_NOTHING = contextlib.nullcontext()


def writing(store: str, alias: str) -> AbstractContextManager[Any]:
    """Return the context of a write to ``store`` on ``alias``.

    For a cached store, a transaction that bumps the store's generation first;
    for any other store, nothing (its writes stay one statement).
    """
    if store not in get_config().local_caches:
        return _NOTHING
    return _bumping(alias, (store,))


@contextlib.contextmanager
def _bumping(alias: str, stores: Iterable[str]) -> Iterator[None]:
    with transaction.atomic(using=alias):
        bump(alias, stores)
        yield


def bump(alias: str, stores: Iterable[str]) -> None:
    """Give ``stores`` new generations, in the transaction open on ``alias``.

    Until it commits, reads of those stores in this thread go to the database;
    once it commits, this process forgets its copies of them. A rollback
    undoes the bump and publishes nothing.
    """
    stores = tuple(stores)
    if not stores:
        return
    connection = connections[alias]
    if connection.in_atomic_block:
        mark_dirty(connection, stores)
    with cursor_for(alias) as (ops, cursor):
        generations_for(ops, cursor.db).bump(cursor, stores)
    transaction.on_commit(functools.partial(_committed, alias, stores), using=alias)


def _committed(alias: str, stores: tuple[str, ...]) -> None:
    unmark_dirty(connections[alias], stores)
    for store in stores:
        drop((alias, store))


def bump_cached(alias: str, store: str) -> None:
    """Bump ``store`` if it has a local cache, in the transaction open on ``alias``
    (for writers that do not go through KeyVal, such as import)."""
    if store in get_config().local_caches:
        bump(alias, (store,))


def writing_every(alias: str) -> AbstractContextManager[Any]:
    """Return the context of a write to every store on ``alias`` (flush_all())."""
    if not get_config().local_caches:
        return _NOTHING
    return _bumping_every(alias)


@contextlib.contextmanager
def _bumping_every(alias: str) -> Iterator[None]:
    with transaction.atomic(using=alias):
        with cursor_for(alias) as (ops, cursor):
            generations_for(ops, cursor.db).bump_every(cursor)
        # The cached stores get a generation even if they had none yet.
        bump(alias, get_config().local_caches)
        transaction.on_commit(functools.partial(drop_alias, alias), using=alias)
        yield


@contextlib.contextmanager
def writing_rows(queryset: QuerySet[Any], alias: str) -> Iterator[None]:
    """Bump the cached stores among the entries of ``queryset`` (the admin's deletes)."""
    cached = list(get_config().local_caches)
    if not cached:
        yield
        return
    with transaction.atomic(using=alias):
        rows = queryset.using(alias).filter(store__in=cached)
        bump(alias, set(rows.values_list("store", flat=True).distinct()))
        yield


def touch_store(store: str, using: str | None = None) -> None:
    """Give ``store`` a new generation, so that every process reads it again.

    For writes that bypassed the app (raw SQL, ``loaddata``, a restored
    backup). Takes effect at once in this process, and in the others at
    their next validation.
    """
    with _bumping(db_for_write(store, using), (store,)):
        pass
