"""What a write records besides itself: the change signals, sent once it commits, and
the versions of a store that keeps a history, written in its own transaction.

Nothing here runs for a store without a history while no receiver is
connected: ``recorder()`` returns None and the write stays as it is.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from django_keyval.codec import StoreCodec
from django_keyval.conf import get_config
from django_keyval.exceptions import KeyValError
from django_keyval.signals import (
    MISSING,
    UNKNOWN,
    Origin,
    current_origin,
    value_changed,
    value_deleted,
)
from django_keyval.sql.base import Operations
from django_keyval.sql.rows import Encoded, is_live

# (key, old value, new value, the new value as stored)
Change = tuple[str, Any, Any, Encoded]

_NOTHING = contextlib.nullcontext()


@functools.cache
def version_model() -> type[Model]:
    """Return the Version model, looked up when first needed (see sql.entry_model())."""
    return apps.get_model("django_keyval", "Version")


def _sender() -> type[Any]:
    from django_keyval.store import KeyVal

    return KeyVal


class Recorder:
    """What the writes of one call to ``store`` on ``alias`` record, and how."""

    __slots__ = ("alias", "codec", "keep", "origin", "reads_old", "send_changed", "send_deleted")

    def __init__(self, store_codec: StoreCodec, alias: str, keep: int, old_values: bool) -> None:
        self.codec, self.alias, self.keep = store_codec, alias, keep
        self.send_changed = bool(value_changed.receivers)
        self.send_deleted = bool(value_deleted.receivers)
        self.reads_old = old_values and (self.send_changed or self.send_deleted)
        # Taken now: the signals are sent after the commit, perhaps outside the block.
        self.origin = current_origin()

    @property
    def store(self) -> str:
        return self.codec.store

    def atomic(self, reading: bool = True) -> AbstractContextManager[Any]:
        """Return the transaction the write and its records share, when it needs one: to
        write versions, or (if ``reading``) to read the old value under a lock."""
        if self.keep or (reading and self.reads_old):
            return transaction.atomic(using=self.alias)
        return _NOTHING

    # Old values, read in the write's transaction (see reads_old)

    def _decoded(self, key: str, payload: bytes, serializer: str, mac: bytes | None) -> Any:
        try:
            return self.codec.decode(key, payload, serializer, mac)
        except KeyValError:
            return UNKNOWN

    def old_value(self, ops: Operations, cursor: CursorWrapper, key: str, now: float) -> Any:
        """Return the live value of ``key`` locked until the write's transaction ends,
        MISSING if there is none; UNKNOWN unless the store signals old values."""
        if not self.reads_old:
            return UNKNOWN
        row = ops.lock(cursor, self.store, key)
        if row is None or not is_live(row.expires_at, now):
            return MISSING
        return self._decoded(key, row.payload, row.serializer, row.mac)

    def old_values(
        self, ops: Operations, cursor: CursorWrapper, keys: Sequence[str], now: float
    ) -> dict[str, Any]:
        """Return the live value of each of ``keys`` (MISSING for the others); UNKNOWN for
        all unless the store signals old values."""
        if not self.reads_old:
            return dict.fromkeys(keys, UNKNOWN)
        found = {
            key: self._decoded(key, payload, serializer, mac)
            for key, payload, serializer, mac in ops.get_many(cursor, self.store, keys, now)
        }
        return {key: found.get(key, MISSING) for key in keys}

    # Records

    def changed(self, key: str, old: Any, new: Any, encoded: Encoded) -> None:
        """Record that ``key``, which held ``old``, now holds ``new`` (stored as ``encoded``)."""
        self.changed_many([(key, old, new, encoded)])

    def changed_many(self, changes: Sequence[Change]) -> None:
        self.write_versions([(key, encoded) for key, _, _, encoded in changes])
        self.signal_changed(changes)

    def deleted(self, key: str, old: Any) -> None:
        """Record that ``key``, which held ``old``, was deleted."""
        self.deleted_many([(key, old)])

    def deleted_many(self, deletions: Sequence[tuple[str, Any]]) -> None:
        self.write_versions([(key, None) for key, _ in deletions])
        self.signal_deleted(deletions)

    def cleared(self, prefix: str, keys: Iterable[str]) -> None:
        """Record that the keys under ``prefix`` were deleted in one statement: a version
        per key of ``keys`` (read before, for a store that keeps a history), and one
        value_deleted for the call, with ``key=None``."""
        self.write_versions([(key, None) for key in keys])
        self.signal_deleted([(None, UNKNOWN)], prefix)

    def write_versions(self, rows: Sequence[tuple[str, Encoded | None]]) -> None:
        """Add a version per row of ``(key, stored value, or None for a deletion)`` if
        the store keeps a history; run in the write's transaction."""
        if self.keep and rows:
            write_versions(self.alias, self.store, rows, self.keep, self.origin)

    def signal_changed(self, changes: Sequence[Change]) -> None:
        """Send value_changed for each change once the write's transaction commits."""
        if self.send_changed and changes:
            send = functools.partial(_send_changed, self.store, self.alias, self.origin, changes)
            transaction.on_commit(send, using=self.alias)

    def signal_deleted(
        self, deletions: Sequence[tuple[str | None, Any]], prefix: str | None = None
    ) -> None:
        """Send value_deleted for each deletion once the write's transaction commits."""
        if self.send_deleted and deletions:
            send = functools.partial(
                _send_deleted, self.store, self.alias, self.origin, deletions, prefix
            )
            transaction.on_commit(send, using=self.alias)


def recorder(codec: StoreCodec, alias: str) -> Recorder | None:
    """Return what a write to ``codec.store`` on ``alias`` must record, or None if nothing:
    no receiver is connected and the store keeps no history."""
    config = get_config()
    keep = config.history.get(codec.store, 0)
    if not (keep or value_changed.receivers or value_deleted.receivers):
        return None
    return Recorder(codec, alias, keep, codec.store in config.old_values)


def recording_deletions() -> bool:
    """Return whether deleting entries of any store records anything (flush_all(), the
    admin's deletes)."""
    return bool(value_deleted.receivers or get_config().history)


def _send_changed(store: str, alias: str, origin: Origin, changes: Sequence[Change]) -> None:
    sender = _sender()
    for key, old, new, _ in changes:
        value_changed.send(
            sender,
            store=store,
            key=key,
            old_value=old,
            new_value=new,
            source=origin.source,
            user=origin.user,
            using=alias,
        )


def _send_deleted(
    store: str | None,
    alias: str,
    origin: Origin,
    deletions: Sequence[tuple[str | None, Any]],
    prefix: str | None = None,
) -> None:
    sender = _sender()
    extra = {} if prefix is None else {"prefix": prefix}
    for key, old in deletions:
        value_deleted.send(
            sender,
            store=store,
            key=key,
            old_value=old,
            source=origin.source,
            user=origin.user,
            using=alias,
            **extra,
        )


def record_flush_all(alias: str, keys_by_store: dict[str, list[str]]) -> None:
    """Record a flush_all() on ``alias``: the versions of the stores that keep a history
    (their keys read before), and one value_deleted with ``store=None``."""
    history = get_config().history
    for store, keys in keys_by_store.items():
        Recorder(StoreCodec(store), alias, history[store], False).write_versions(
            [(key, None) for key in keys]
        )
    if value_deleted.receivers:
        deletions = [(None, UNKNOWN)]
        send = functools.partial(_send_deleted, None, alias, current_origin(), deletions, "")
        transaction.on_commit(send, using=alias)


def record_deleted_rows(alias: str, rows: Iterable[tuple[str, str]]) -> None:
    """Record the deletion of the entries ``(store, key)`` of ``rows`` (the admin's
    deletes), in the transaction that deleted them."""
    by_store: dict[str, list[tuple[str, Any]]] = {}
    for store, key in rows:
        by_store.setdefault(store, []).append((key, UNKNOWN))
    for store, deletions in by_store.items():
        rec = recorder(StoreCodec(store), alias)
        if rec is not None:
            rec.deleted_many(deletions)


def _user_fields(user: Any) -> tuple[str, str]:
    pk = getattr(user, "pk", None)
    if user is None or pk is None:
        return "", ""
    return str(pk)[:255], str(user)[:255]


def write_versions(
    alias: str, store: str, rows: Sequence[tuple[str, Encoded | None]], keep: int, origin: Origin
) -> None:
    """Add a version per row of ``(key, stored value or None for a deletion)``, then
    keep the newest ``keep`` of each key. Run in the write's transaction."""
    model = version_model()
    manager = model._default_manager.db_manager(alias)
    user_pk, user_repr = _user_fields(origin.user)
    now = time.time()
    manager.bulk_create(
        [
            model(
                store=store,
                key=key,
                value=None if encoded is None else encoded.payload,
                serializer="" if encoded is None else encoded.serializer,
                mac=None if encoded is None else encoded.mac,
                deleted=encoded is None,
                changed_at=now,
                source=origin.source,
                user_pk=user_pk,
                user_repr=user_repr,
            )
            for key, encoded in rows
        ]
    )
    for key in dict.fromkeys(key for key, _ in rows):
        trim(alias, store, key, keep)


def trim(alias: str, store: str, key: str, keep: int) -> None:
    """Delete the versions of ``key`` older than the newest ``keep``. One query, two when
    there are more."""
    versions = version_model()._default_manager.using(alias).filter(store=store, key=key)
    cut = list(versions.order_by("-id").values_list("id", flat=True)[keep : keep + 1])
    if cut:
        versions.filter(id__lte=cut[0]).delete()
