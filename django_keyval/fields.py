"""A CharField that compares exactly (code point by code point) on every database."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def exact_collation(connection: BaseDatabaseWrapper) -> str | None:
    """Return the collation that compares and sorts by code point on ``connection``.

    SQLite's default BINARY collation already does. PostgreSQL's "C" compares
    UTF-8 bytes, which sort as code points do. MySQL's and MariaDB's default
    collations fold case and accents and ignore trailing spaces; their binary
    NO PAD collations do none of that.
    """
    if connection.vendor == "postgresql":
        return "C"
    if connection.vendor == "mysql":
        return "utf8mb4_nopad_bin" if connection.mysql_is_mariadb else "utf8mb4_0900_bin"  # type: ignore[attr-defined]
    return None


class ExactCharField(models.CharField):  # type: ignore[type-arg]
    """A CharField whose equality and order are exact on SQLite, PostgreSQL and MySQL."""

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params = super().db_parameters(connection)
        params["collation"] = exact_collation(connection)
        return params
