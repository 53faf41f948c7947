"""The entry table that holds every store's keys and values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from django_keyval.fields import ExactCharField

if TYPE_CHECKING:
    from django_keyval.store import KeyVal

# The unique index on (store, key). (On MySQL and MariaDB, (store, key) is the
# table's primary key instead: see migration 0005.)
STORE_KEY_INDEX = "django_keyval_store_key"


class Entry(models.Model):
    """One key of one store: its serialized value, serializer tag, signature and expiry."""

    store = ExactCharField(max_length=255)
    key = ExactCharField(max_length=255)
    value = models.BinaryField()
    serializer = models.CharField(max_length=200)
    mac = models.BinaryField(null=True, max_length=32)
    # Unix timestamps (time.time()): cheap to compare in SQL on every database.
    expires_at = models.FloatField(null=True)
    updated_at = models.FloatField()

    class Meta:
        verbose_name = "entry"
        verbose_name_plural = "entries"
        constraints = [
            models.UniqueConstraint(fields=["store", "key"], name=STORE_KEY_INDEX),
        ]
        indexes = [models.Index(fields=["expires_at"], name="django_keyval_expires_at")]

    def __str__(self) -> str:
        return f"{self.store}: {self.key}"


class Generation(models.Model):
    """The generation of one store: a new random number on every write through the app.

    Local caches (localcache/) compare it for equality with the one their copy
    was loaded at; a random number, not a counter, never comes back after a
    restore or a flush of this table.
    """

    store = ExactCharField(max_length=255, unique=True)
    generation = models.BigIntegerField()

    class Meta:
        verbose_name = "store generation"

    def __str__(self) -> str:
        return f"{self.store}: {self.generation}"


class Lease(models.Model):
    """The lease of one lock of one store: who holds it, until when, and its fencing token.

    Not an entry: no value operation, export or flush reads or deletes these
    rows. A row is kept after its lease is released or expires, so that the
    next acquisition's ``fence`` continues from the last one.
    """

    store = ExactCharField(max_length=255)
    name = ExactCharField(max_length=255)
    # The random token of the acquisition that holds (or last held) the lease.
    owner = models.CharField(max_length=32)
    fence = models.BigIntegerField()
    # A Unix timestamp read from the database server's clock, never a client's.
    expires_at = models.FloatField()

    class Meta:
        verbose_name = "lease"
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="django_keyval_lease_name"),
        ]

    def __str__(self) -> str:
        return f"{self.store}: {self.name} (fence {self.fence})"


class Version(models.Model):
    """One write of one key of a store that keeps a history (KEYVAL["STORES"][name]["HISTORY"]).

    The value is stored as the entry was: serialized and signed for (store, key),
    so it is read back through the store's codec. A deletion has no value.
    """

    store = ExactCharField(max_length=255)
    key = ExactCharField(max_length=255)
    value = models.BinaryField(null=True)
    serializer = models.CharField(max_length=200, blank=True)
    mac = models.BinaryField(null=True, max_length=32)
    deleted = models.BooleanField(default=False)
    # A Unix timestamp, as Entry.updated_at.
    changed_at = models.FloatField()
    # One of signals.SOURCES.
    source = models.CharField(max_length=16)
    # The user who made the change, when known: its primary key (as text) and its str().
    user_pk = models.CharField(max_length=255, blank=True)
    user_repr = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "key version"
        indexes = [models.Index(fields=["store", "key", "id"], name="django_keyval_version_key")]

    def __str__(self) -> str:
        return f"{self.store}: {self.key} #{self.pk}"


__all__ = ["Entry", "Generation", "KeyVal", "Lease", "Version"]


def __getattr__(name: str) -> Any:
    # Code written for django-keyval 0.1 imports the facade from here; it is
    # imported when asked for, so that this module needs nothing above it.
    if name == "KeyVal":
        from django_keyval.store import KeyVal

        return KeyVal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
