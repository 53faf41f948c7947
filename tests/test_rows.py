"""Fetched columns become the row types with bytes, whatever the driver reads a BLOB as."""

from __future__ import annotations

from typing import Any

from django_keyval.sql.rows import (
    Encoded,
    KeyedRow,
    Row,
    as_encoded,
    keyed_rows,
    keyed_values,
    stored_row,
)

# psycopg2 reads BLOBs as memoryview; the other drivers give bytes. (A memoryview
# compares equal to its bytes: the tests look at the types too.)
VALUE, MAC = memoryview(b"value"), memoryview(b"mac")


def types(row: Any) -> list[type]:
    return [type(column) for column in row]


def test_as_encoded_reads_memoryviews_as_bytes():
    encoded = as_encoded((VALUE, "json", MAC))
    assert encoded == Encoded(b"value", "json", b"mac")
    assert types(encoded) == [bytes, str, bytes]


def test_an_unsigned_value_keeps_no_mac():
    assert as_encoded((VALUE, "json", None)) == Encoded(b"value", "json", None)
    assert stored_row((VALUE, "json", None, None)) == Row(b"value", "json", None, None)


def test_keyed_values_read_memoryviews_as_bytes():
    rows = keyed_values([("k", VALUE, "json", MAC), ("u", b"v", "json", None)])
    assert rows == [("k", b"value", "json", b"mac"), ("u", b"v", "json", None)]
    assert types(rows[0]) == [str, bytes, str, bytes]


def test_stored_row_reads_memoryviews_as_bytes():
    row = stored_row((VALUE, "json", MAC, 1.5))
    assert row == Row(b"value", "json", b"mac", 1.5)
    assert types(row) == [bytes, str, bytes, float]
    assert stored_row(None) is None


def test_keyed_rows_read_memoryviews_as_bytes():
    rows = keyed_rows([("k", VALUE, "json", MAC, None)])
    assert rows == [KeyedRow("k", b"value", "json", b"mac", None)]
    assert types(rows[0]) == [str, bytes, str, bytes, type(None)]
