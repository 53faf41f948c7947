"""Serializers: round trips, per-handle and per-setting choice, mixed rows, and failures."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from django_keyval import KeyVal
from django_keyval.exceptions import KeyValError, SerializationError
from tests.helpers import stored_row

pytestmark = pytest.mark.django_db

CUSTOM = "tests.test_codec.ReversedJSONSerializer"


class ReversedJSONSerializer:
    """A serializer of the project's own: JSON, stored back to front."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value).encode()[::-1]

    def loads(self, data: bytes) -> Any:
        return json.loads(data[::-1])


class NotASerializer:
    """A class without dumps() and loads()."""


class Opaque:
    """An object that JSON cannot represent."""


PICKLE_VALUES = {
    "tuple": (1, "two", 3.0),
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "aware_datetime": datetime(2024, 2, 29, 12, 30, tzinfo=timezone.utc),
    "naive_datetime": datetime(2024, 2, 29, 12, 30, 15, 123456),
    "date": date(1999, 12, 31),
    "timedelta": timedelta(days=1, microseconds=5),
    "decimal": Decimal("3.14159265358979323846264338327950288"),
    "nested": {"a": [1, (2, {3, 4})], ("t", 1): {"d": Decimal("1.5"), "n": None}},
    "bytes": b"\x00\xff\x80",
    "str": "héllo \U0001f600",
    "int_big": 2**200,
    "float": 1.5,
    "complex": 3 + 4j,
    "none": None,
    "bool": False,
    "empty_list": [],
}
JSON_VALUES = {
    "str": "héllo \U0001f600",
    "empty_str": "",
    "int": 42,
    "negative_int": -7,
    "big_int": 2**70,
    "float": 2.5,
    "true": True,
    "false": False,
    "none": None,
    "list": [1, "a", None, [2.5]],
    "dict": {"a": 1, "b": [True, {"c": None}]},
    "empty_dict": {},
}
BYTES_VALUES = {
    "bytes": b"\x00\x01\xfe\xff",
    "empty": b"",
    "utf8": "é".encode(),
    "large": bytes(range(256)) * 1000,
}


def values_params(values: dict[str, Any]):
    return pytest.mark.parametrize("value", list(values.values()), ids=list(values))


# Round trips


@values_params(PICKLE_VALUES)
def test_pickle_is_the_default_and_round_trips(kv, value):
    kv.set("k", value)
    assert kv.get("k") == value


@values_params(PICKLE_VALUES)
def test_pickle_round_trip_keeps_the_type(kv, value):
    kv.set("k", value)
    assert type(kv.get("k")) is type(value)


@values_params(PICKLE_VALUES)
def test_pickle_by_name_on_the_handle_round_trips(db, value):
    kv = KeyVal("test", serializer="pickle")
    kv.set("k", value)
    assert kv.get("k") == value


@values_params(JSON_VALUES)
def test_json_on_the_handle_round_trips(db, value):
    kv = KeyVal("test", serializer="json")
    kv.set("k", value)
    assert kv.get("k") == value


@values_params(JSON_VALUES)
def test_json_round_trip_keeps_the_type(db, value):
    kv = KeyVal("test", serializer="json")
    kv.set("k", value)
    assert type(kv.get("k")) is type(value)


@values_params(JSON_VALUES)
def test_json_from_the_setting_round_trips(kv, settings, value):
    settings.KEYVAL = {"SERIALIZER": "json"}
    kv.set("k", value)
    assert kv.get("k") == value


@values_params(BYTES_VALUES)
def test_bytes_on_the_handle_round_trips(db, value):
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", value)
    assert kv.get("k") == value


@values_params(BYTES_VALUES)
def test_bytes_from_the_setting_round_trips(kv, settings, value):
    settings.KEYVAL = {"SERIALIZER": "bytes"}
    kv.set("k", value)
    assert kv.get("k") == value


def test_bytes_serializer_stores_the_bytes_as_they_are(db):
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", b"raw\x00bytes")
    assert bytes(stored_row(kv, "k").value) == b"raw\x00bytes"


def test_bytes_serializer_accepts_a_bytearray(db):
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", bytearray(b"abc"))
    assert kv.get("k") == b"abc"


@values_params(JSON_VALUES)
def test_custom_serializer_on_the_handle_round_trips(db, value):
    kv = KeyVal("test", serializer=CUSTOM)
    kv.set("k", value)
    assert kv.get("k") == value


@values_params(JSON_VALUES)
def test_custom_serializer_from_the_setting_round_trips(kv, settings, value):
    settings.KEYVAL = {"SERIALIZER": CUSTOM}
    kv.set("k", value)
    assert kv.get("k") == value


def test_custom_serializer_writes_its_own_bytes(db):
    kv = KeyVal("test", serializer=CUSTOM)
    kv.set("k", {"a": 1})
    assert bytes(stored_row(kv, "k").value) == b'}1 :"a"{'


def test_json_serializer_writes_json(db):
    kv = KeyVal("test", serializer="json")
    kv.set("k", {"a": [1, "é"]})
    assert json.loads(bytes(stored_row(kv, "k").value)) == {"a": [1, "é"]}


@pytest.mark.parametrize(
    "operation",
    [
        lambda kv: kv.get_many(["k"])["k"],
        lambda kv: dict(kv.items())["k"],
        lambda kv: kv.pop("k"),
        lambda kv: kv.get_or_set("k", "unused"),
        lambda kv: kv.modify("k", lambda old: old),
    ],
    ids=["get_many", "items", "pop", "get_or_set", "modify"],
)
def test_every_read_decodes_with_the_serializer(db, operation):
    kv = KeyVal("test", serializer="json")
    kv.set("k", {"a": [1, 2]})
    assert operation(kv) == {"a": [1, 2]}


def test_set_many_uses_the_handle_serializer(db):
    kv = KeyVal("test", serializer="json")
    kv.set_many({"a": [1], "b": {"c": 2}})
    assert kv.get_many(["a", "b"]) == {"a": [1], "b": {"c": 2}}


def test_incr_works_with_json(db):
    kv = KeyVal("test", serializer="json")
    kv.set("n", 41)
    assert kv.incr("n") == 42


def test_handle_serializer_overrides_the_setting(db, settings):
    settings.KEYVAL = {"SERIALIZER": "json"}
    kv = KeyVal("test", serializer="pickle")
    kv.set("k", (1, 2))
    assert kv.get("k") == (1, 2)


# Each row records its serializer


def test_row_records_the_serializer_that_wrote_it(db):
    KeyVal("test", serializer="json").set("k", 1)
    assert stored_row(KeyVal("test"), "k").serializer == "json"


def test_json_row_is_read_by_a_pickle_handle(db):
    KeyVal("test", serializer="json").set("k", {"a": [1]})
    assert KeyVal("test", serializer="pickle").get("k") == {"a": [1]}


def test_pickle_row_is_read_by_a_json_handle(db):
    KeyVal("test").set("k", {1, 2})
    assert KeyVal("test", serializer="json").get("k") == {1, 2}


def test_bytes_row_is_read_by_a_json_handle(db):
    KeyVal("test", serializer="bytes").set("k", b"\xff")
    assert KeyVal("test", serializer="json").get("k") == b"\xff"


def test_custom_row_is_read_by_a_default_handle(db):
    KeyVal("test", serializer=CUSTOM).set("k", [1, 2])
    assert KeyVal("test").get("k") == [1, 2]


def test_pickle_rows_stay_readable_after_the_setting_switches_to_json(kv, settings):
    kv.set("k", (1, Decimal("2")))
    settings.KEYVAL = {"SERIALIZER": "json"}
    assert kv.get("k") == (1, Decimal("2"))


def test_new_writes_use_the_new_setting(kv, settings):
    kv.set("old", 1)
    settings.KEYVAL = {"SERIALIZER": "json"}
    kv.set("new", 1)
    assert stored_row(kv, "old").serializer == "pickle"
    assert stored_row(kv, "new").serializer == "json"


def test_json_rows_stay_readable_after_the_setting_switches_back(kv, settings):
    settings.KEYVAL = {"SERIALIZER": "json"}
    kv.set("k", {"a": 1})
    settings.KEYVAL = {}
    assert kv.get("k") == {"a": 1}


def test_rows_of_mixed_serializers_are_read_together(db):
    KeyVal("test", serializer="json").set("a", [1])
    KeyVal("test", serializer="bytes").set("b", b"2")
    KeyVal("test").set("c", {3})
    KeyVal("test", serializer=CUSTOM).set("d", {"four": 4})
    kv = KeyVal("test", serializer="json")
    expected = {"a": [1], "b": b"2", "c": {3}, "d": {"four": 4}}
    assert kv.get_many(["a", "b", "c", "d"]) == expected
    assert dict(kv.items()) == expected


def test_overwrite_records_the_new_serializer(db):
    KeyVal("test").set("k", {1})
    KeyVal("test", serializer="json").set("k", [1])
    assert stored_row(KeyVal("test"), "k").serializer == "json"


def test_modify_rewrites_with_the_handle_serializer(db):
    KeyVal("test").set("k", [1])
    KeyVal("test", serializer="json").modify("k", lambda old: old + [2])
    assert stored_row(KeyVal("test"), "k").serializer == "json"
    assert KeyVal("test").get("k") == [1, 2]


# Serializer names


@pytest.mark.parametrize(
    "name",
    ["nope", "tests.test_codec.Missing", "no_such_module.Serializer", "tests.test_codec.Opaque"],
    ids=["unknown_name", "missing_class", "missing_module", "not_a_serializer"],
)
def test_handle_with_a_bad_serializer_raises_valueerror(db, name):
    with pytest.raises(ValueError):
        KeyVal("test", serializer=name)


def test_handle_with_a_bad_serializer_message_names_it(db):
    with pytest.raises(ValueError) as excinfo:
        KeyVal("test", serializer="nope")
    assert "nope" in str(excinfo.value)


# Values a serializer refuses

REFUSED = {
    "pickle_lambda": ("pickle", lambda: 1),
    "pickle_lock": ("pickle", threading.Lock()),
    "pickle_generator": ("pickle", (i for i in range(3))),
    "pickle_nested_lock": ("pickle", {"ok": 1, "bad": [threading.Lock()]}),
    "json_set": ("json", {1, 2}),
    "json_object": ("json", Opaque()),
    "json_bytes": ("json", b"bytes"),
    "json_decimal": ("json", Decimal("1.5")),
    "bytes_str": ("bytes", "text"),
    "bytes_int": ("bytes", 1),
    "bytes_none": ("bytes", None),
}


def refused_params():
    return pytest.mark.parametrize(
        ("serializer", "value"), list(REFUSED.values()), ids=list(REFUSED)
    )


@refused_params()
def test_refused_value_raises_serializationerror(db, serializer, value):
    kv = KeyVal("test", serializer=serializer)
    with pytest.raises(SerializationError):
        kv.set("k", value)


@refused_params()
def test_serializationerror_is_a_typeerror_and_a_keyvalerror(db, serializer, value):
    kv = KeyVal("test", serializer=serializer)
    with pytest.raises(SerializationError) as excinfo:
        kv.set("k", value)
    assert isinstance(excinfo.value, TypeError)
    assert isinstance(excinfo.value, KeyValError)


@refused_params()
def test_refused_value_leaves_the_old_value(db, serializer, value):
    kv = KeyVal("test", serializer=serializer)
    kv.set("k", b"old" if serializer == "bytes" else "old")
    with pytest.raises(SerializationError):
        kv.set("k", value)
    assert kv.get("k") == (b"old" if serializer == "bytes" else "old")


@refused_params()
def test_refused_value_writes_no_new_key(db, serializer, value):
    kv = KeyVal("test", serializer=serializer)
    with pytest.raises(SerializationError):
        kv.set("k", value)
    assert not kv.exists("k")


@refused_params()
def test_refused_value_message_names_the_key_and_the_store(db, serializer, value):
    kv = KeyVal("my-store", serializer=serializer)
    with pytest.raises(SerializationError) as excinfo:
        kv.set("my-key", value)
    assert "'my-key'" in str(excinfo.value)
    assert "'my-store'" in str(excinfo.value)


def test_refused_value_from_the_setting_raises_serializationerror(kv, settings):
    settings.KEYVAL = {"SERIALIZER": "json"}
    with pytest.raises(SerializationError):
        kv.set("k", {1, 2})


def test_refused_value_in_set_many_writes_nothing(kv):
    kv.set("a", "old")
    with pytest.raises(SerializationError):
        kv.set_many({"a": "new", "b": lambda: 1})
    assert kv.get("a") == "old"
    assert not kv.exists("b")


def test_refused_value_in_add_writes_nothing(kv):
    with pytest.raises(SerializationError):
        kv.add("k", threading.Lock())
    assert not kv.exists("k")


def test_refused_value_in_get_or_set_writes_nothing(kv):
    with pytest.raises(SerializationError):
        kv.get_or_set("k", threading.Lock)
    assert not kv.exists("k")


def test_refused_value_in_modify_leaves_the_old_value(kv):
    kv.set("k", "old")
    with pytest.raises(SerializationError):
        kv.modify("k", lambda old: threading.Lock())
    assert kv.get("k") == "old"


def test_refused_value_via_setitem_raises_serializationerror(kv):
    with pytest.raises(SerializationError):
        kv["k"] = lambda: 1


def test_serializationerror_is_chained_to_the_serializer_error(kv):
    with pytest.raises(SerializationError) as excinfo:
        kv.set("k", threading.Lock())
    assert excinfo.value.__cause__ is not None


class StrSerializer:
    """A broken serializer: dumps() returns str, not bytes."""

    def dumps(self, value: Any) -> bytes:
        return str(value)  # type: ignore[return-value]

    def loads(self, data: bytes) -> Any:
        return data.decode()


class RefusingSerializer:
    """A serializer that refuses every value with a TypeError."""

    def dumps(self, value: Any) -> bytes:
        raise TypeError("refused")

    def loads(self, data: bytes) -> Any:
        raise AssertionError("never called")


def test_custom_serializer_refusal_raises_serializationerror(db):
    kv = KeyVal("test", serializer="tests.test_codec.RefusingSerializer")
    with pytest.raises(SerializationError):
        kv.set("k", 1)


def test_custom_serializer_returning_str_raises_serializationerror(db):
    kv = KeyVal("test", serializer="tests.test_codec.StrSerializer")
    with pytest.raises(SerializationError):
        kv.set("k", 1)


def test_custom_serializer_returning_str_writes_nothing(db):
    kv = KeyVal("test", serializer="tests.test_codec.StrSerializer")
    with pytest.raises(SerializationError):
        kv.set("k", 1)
    assert not kv.exists("k")


def test_custom_serializer_returning_str_message_names_the_key_and_the_store(db):
    kv = KeyVal("my-store", serializer="tests.test_codec.StrSerializer")
    with pytest.raises(SerializationError) as excinfo:
        kv.set("my-key", 1)
    assert "'my-key'" in str(excinfo.value)
    assert "'my-store'" in str(excinfo.value)
