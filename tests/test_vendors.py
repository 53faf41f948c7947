"""What each database does its own way, as sql/ says it: collations, conflicts, row estimates."""

from __future__ import annotations

import pytest
from django.db import connection

from django_keyval.models import Entry
from django_keyval.sql import operations_class

pytestmark = pytest.mark.django_db

EXACT_COLLATIONS = {
    ("sqlite", False): None,
    ("postgresql", False): "C",
    ("mysql", False): "utf8mb4_0900_bin",
    ("mysql", True): "utf8mb4_nopad_bin",
}


def test_store_and_key_columns_take_the_exact_collation(vendor):
    ops_class = operations_class(vendor)
    assert ops_class is not None
    expected = ops_class.exact_collation(connection)
    assert expected == EXACT_COLLATIONS[vendor, getattr(connection, "mysql_is_mariadb", False)]
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, Entry._meta.db_table)
    collations = {column.name: column.collation for column in columns}
    assert collations["store"] == collations["key"] == expected
