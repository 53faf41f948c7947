"""A CharField that compares exactly (code point by code point) on every database."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class ExactCharField(models.CharField):  # type: ignore[type-arg]
    """A CharField whose equality and order are exact on SQLite, PostgreSQL and MySQL."""

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        # Imported here: sql/ reads the model, which is built from this field.
        from django_keyval.sql import operations_class

        params = super().db_parameters(connection)
        ops_class = operations_class(connection.vendor)
        params["collation"] = None if ops_class is None else ops_class.exact_collation(connection)
        return params
