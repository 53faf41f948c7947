"""Rows read, written, expired or damaged behind the store's back, as anyone with access
to the database could."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections

from django_keyval import KeyVal
from django_keyval.models import Entry

# A signature of the right length that signs nothing.
WRONG_MAC = b"\x00" * 32


class Exploit:
    """A pickle whose loading creates the file ``path``: what an attacker would store."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (self.path,))


def store_name(store: str | KeyVal) -> str:
    return store if isinstance(store, str) else store.name


def stored_row(store: str | KeyVal, key: str, *, using: str = "default") -> Entry:
    """Return the row of ``key`` in ``store`` (a name, or a handle on it)."""
    return Entry.objects.using(using).get(store=store_name(store), key=key)


def expire(store: str | KeyVal, *keys: str, ago: float = 1, using: str | None = None) -> None:
    """Make ``keys`` of ``store`` expired ``ago`` seconds ago, as if their ttl had run out."""
    expires_at = time.time() - ago
    Entry.objects.using(using).filter(store=store_name(store), key__in=keys).update(
        expires_at=expires_at
    )


def tamper(store: str | KeyVal, key: str, **changes: Any) -> None:
    """Change the fields of the row of ``key`` in ``store``, its value, mac or serializer."""
    Entry.objects.filter(store=store_name(store), key=key).update(**changes)


def write_row(
    store: str,
    key: str,
    payload: bytes,
    serializer: str = "pickle",
    mac: bytes | None = None,
    *,
    expires_at: float | None = None,
    using: str = "default",
) -> Entry:
    """Write a row straight into the table, with the given payload, serializer name and mac."""
    return Entry.objects.using(using).create(
        store=store,
        key=key,
        value=payload,
        serializer=serializer,
        mac=mac,
        expires_at=expires_at,
        updated_at=time.time(),
    )


def write_expired(store: str, keys: list[str], *, using: str = "default") -> None:
    """Write rows for ``keys`` that expired a minute ago and are not purged yet."""
    past = time.time() - 60
    Entry.objects.using(using).bulk_create(
        Entry(
            store=store, key=key, value=b"", serializer="pickle", mac=None,
            expires_at=past, updated_at=past,
        )
        for key in keys
    )  # fmt: skip


@contextmanager
def entry_table_renamed(using: str = "default") -> Iterator[None]:
    """Rename the entry table while the block runs: each statement on it then fails with
    the database's own error, as when a database loses its table. Needs a test with
    ``transaction=True`` (MariaDB commits a rename at once)."""
    table = Entry._meta.db_table
    with connections[using].schema_editor() as editor:
        editor.alter_db_table(Entry, table, f"{table}_away")
    try:
        yield
    finally:
        with connections[using].schema_editor() as editor:
            editor.alter_db_table(Entry, f"{table}_away", table)
