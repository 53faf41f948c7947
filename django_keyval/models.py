"""The entry table that holds every store's keys and values."""

from __future__ import annotations

from django.db import models

from django_keyval.fields import ExactCharField

# The unique index on (store, key), named so that SQL can give it as a hint.
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


# Code written for django-keyval 0.1 imports the facade from here.
from django_keyval.store import KeyVal  # noqa: E402

__all__ = ["Entry", "KeyVal"]
