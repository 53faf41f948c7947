"""Values at and beyond what the database accepts: a clear error, and the old value intact."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from django_keyval import KeyVal
from django_keyval.exceptions import KeyValError, ValueTooLarge
from tests.processes import figures

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

MIB = 1024 * 1024


@pytest.fixture
def max_packet(db):
    if connection.vendor != "mysql":
        pytest.skip("only MySQL and MariaDB refuse values in their default configuration")
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_allowed_packet")
        (limit,) = cursor.fetchone()
    return int(limit)


@pytest.fixture
def kv(db):
    kv = KeyVal("big", serializer="bytes")
    kv.set_many({"a": b"old a", "b": b"old b"})
    return kv


WRITES = {
    "set": lambda kv, value: kv.set("a", value),
    "add over an expired key": lambda kv, value: kv.add("expired", value),
    "modify": lambda kv, value: kv.modify("a", lambda old: value),
    "set_many": lambda kv, value: kv.set_many({"b": b"new b", "a": value}),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_value_over_max_allowed_packet_raises_value_too_large(kv, max_packet, write):
    kv.set("expired", b"old", ttl=0.001)
    too_large = b"x" * (max_packet + 1)
    with pytest.raises(ValueTooLarge) as raised:
        write(kv, too_large)
    figures["values refused as too large"] += 1
    message = str(raised.value)
    assert "'a'" in message or "'expired'" in message
    assert f"{max_packet + 1:,} bytes" in message
    assert f"{max_packet:,} bytes" in message
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, KeyValError)
    assert kv.get_many(["a", "b"]) == {"a": b"old a", "b": b"old b"}


def test_a_value_too_large_leaves_the_callers_transaction_usable(kv, max_packet):
    with transaction.atomic():
        kv.set("before", b"1")
        with pytest.raises(ValueTooLarge):
            kv.set("a", b"x" * (max_packet + 1))
        kv.set("after", b"2")
    assert kv.get_many(["a", "before", "after"]) == {"a": b"old a", "before": b"1", "after": b"2"}


def test_a_value_of_exactly_max_allowed_packet_round_trips(kv, max_packet):
    largest = b"\0" * max_packet
    assert kv.set("a", largest) is False
    assert kv.get("a") == largest


def test_an_import_with_a_value_too_large_names_the_line_and_imports_nothing(
    kv, max_packet, tmp_path
):
    path = tmp_path / "dump.jsonl"
    too_large = "x" * (max_packet + 1)
    lines = [
        {"format": "django-keyval", "version": 1},
        {"store": "big", "key": "b", "type": "json", "serializer": "json", "value": "new b"},
        {"store": "big", "key": "a", "type": "json", "serializer": "json", "value": too_large},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    with pytest.raises(CommandError) as raised:
        call_command("keyval", "import", str(path), verbosity=0)
    assert "lines 2-3" in str(raised.value)
    assert "max_allowed_packet" in str(raised.value)
    assert "nothing was imported" in str(raised.value)
    assert kv.get_many(["a", "b"]) == {"a": b"old a", "b": b"old b"}


def test_set_many_of_values_that_escape_to_twice_their_size_fits_the_packet(kv):
    # MySQL's client escapes each NUL byte into two: a batch of two values just under
    # 4 MiB once made a statement larger than MariaDB's default 16 MiB packet.
    values = {"a": b"\0" * (4 * MIB - 1), "b": b"\0" * (4 * MIB - 1), "c": b"\0" * (3 * MIB)}
    kv.set_many(values)
    assert kv.get_many(values) == values
