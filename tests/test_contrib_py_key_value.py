"""django_keyval.contrib.py_key_value, through py-key-value's public API.

py-key-value publishes its contract tests (``tests/stores/base.py``) only in its
source repository; README.rst says what they gave against this store. These
tests call the store from sync code with ``async_to_sync``, so its queries run
on the test's connection, inside the test's transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from tests.sdists import require

require("key_value.aio")

from key_value.aio.errors import (  # noqa: E402
    DeserializationError,
    InvalidKeyError,
    InvalidTTLError,
    KeyValueStoreError,
    SerializationError,
)

from django_keyval import KeyVal  # noqa: E402
from django_keyval.contrib.py_key_value import KeyValStore  # noqa: E402
from tests.helpers import entry_table_renamed, expire, stored_row, tamper  # noqa: E402


def run(coroutine_function: Any, *args: Any, **kwargs: Any) -> Any:
    return async_to_sync(coroutine_function)(*args, **kwargs)


@pytest.fixture
def store(db: None) -> KeyValStore:
    return KeyValStore()


def test_collections_are_stores_and_values_signed_json(store):
    run(store.put, "alice", {"age": 30}, collection="users")
    run(store.put, "bob", {"age": 40})
    assert KeyVal.stores() == ["default_collection", "users"]
    row = stored_row("users", "alice")
    assert (row.serializer, bool(row.mac)) == ("bytes", True)
    assert run(store.get, "alice", collection="users") == {"age": 30}
    assert run(store.get, "alice") is None
    assert run(store.collections) == ["default_collection", "users"]


def test_ttl_is_the_stores_expiry(store):
    run(store.put, "k", {"v": 1}, collection="c", ttl=100)
    value, ttl = run(store.ttl, "k", collection="c")
    assert value == {"v": 1}
    assert 98 < ttl <= 100
    assert 98 < KeyVal("c").ttl("k") <= 100
    run(store.put, "k", {"v": 2}, collection="c")
    assert run(store.ttl, "k", collection="c") == ({"v": 2}, None)
    assert KeyVal("c").ttl("k") is None


def test_an_expired_entry_is_missing_and_culled(store):
    run(store.put_many, ["a", "b"], [{"v": 1}, {"v": 2}], collection="c", ttl=100)
    expire("c", "a")
    assert run(store.get_many, ["a", "b"], collection="c") == [None, {"v": 2}]
    assert run(store.ttl, "a", collection="c") == (None, None)
    run(store.cull)
    assert KeyVal.purge_expired() == 0


def test_bad_ttl_and_bad_values_get_py_key_values_errors(store):
    with pytest.raises(InvalidTTLError):
        run(store.put, "k", {"v": 1}, ttl=-1)
    with pytest.raises(SerializationError):
        run(store.put, "k", {"v": object()})
    assert KeyVal("default_collection").keys() == []


def test_long_names_are_hashed_and_reserved_prefixes_refused(store):
    key, collection = "k" * 300, "c" * 300
    run(store.put, key, {"v": 1}, collection=collection)
    assert run(store.get, key, collection=collection) == {"v": 1}
    (name,) = KeyVal.stores()
    assert name.startswith("H_") and len(name) <= 255
    assert KeyVal(name).keys()[0].startswith("H_")
    with pytest.raises(InvalidKeyError):
        run(store.put, "H_mine", {"v": 1})


def test_keys_the_store_refuses_are_invalid_key_errors(store):
    with pytest.raises(InvalidKeyError, match="NUL"):
        run(store.put, "a\x00b", {"v": 1})
    with pytest.raises(InvalidKeyError, match="NUL"):
        run(store.get, "k", collection="a\x00b")


def test_a_tampered_entry_is_a_deserialization_error(store):
    run(store.put, "k", {"v": 1})
    tamper("default_collection", "k", value=b'{"value": {"v": 2}}')
    with pytest.raises(DeserializationError):
        run(store.get, "k")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "call",
    [
        lambda store: run(store.get, "k", collection="c"),
        lambda store: run(store.get_many, ["k", "l"], collection="c"),
        lambda store: run(store.ttl, "k", collection="c"),
        lambda store: run(store.put, "k", {"v": 2}, collection="c"),
        lambda store: run(store.put_many, ["k", "l"], [{"v": 2}, {"v": 3}], collection="c"),
        lambda store: run(store.delete, "k", collection="c"),
        lambda store: run(store.keys, collection="c"),
        lambda store: run(store.collections),
        lambda store: run(store.destroy_collection, "c"),
    ],
    ids=["get", "get_many", "ttl", "put", "put_many", "delete", "keys", "collections", "destroy"],
)
def test_a_database_error_is_a_store_error_and_changes_nothing(call):
    store = KeyValStore()
    run(store.put, "k", {"v": 1}, collection="c")
    with entry_table_renamed(), pytest.raises(KeyValueStoreError, match="the database failed"):
        call(store)
    assert run(store.get, "k", collection="c") == {"v": 1}


def test_bulk_operations_run_one_query_per_batch(store, django_assert_num_queries):
    keys = [f"k{i}" for i in range(50)]
    run(store.put_many, keys, [{"i": i} for i in range(50)], collection="c")
    with django_assert_num_queries(1):
        values = run(store.get_many, keys + ["missing"], collection="c")
    assert values == [{"i": i} for i in range(50)] + [None]
    with django_assert_num_queries(1):
        assert run(store.delete_many, keys[:10] + ["missing"], collection="c") == 10
    with django_assert_num_queries(1):
        assert run(store.get, "k10", collection="c") == {"i": 10}


def test_keys_delete_and_destroy_collection(store):
    run(store.put_many, ["b", "a", "c"], [{}, {}, {}], collection="c")
    assert run(store.keys, "c") == ["a", "b", "c"]
    assert run(store.keys, "c", limit=2) == ["a", "b"]
    assert run(store.delete, "a", collection="c") is True
    assert run(store.delete, "a", collection="c") is False
    assert run(store.destroy_collection, "c") is True
    assert run(store.destroy_collection, "c") is False
    assert run(store.keys, "c") == []


def test_seed_and_default_collection(db):
    store = KeyValStore(default_collection="settings", seed={"settings": {"theme": {"v": "dark"}}})
    assert run(store.get, "theme") == {"v": "dark"}
    assert KeyVal("settings").keys() == ["theme"]


@pytest.mark.django_db(databases=["default", "other"])
def test_using_pins_every_collection_to_one_database():
    store = KeyValStore(using="other")
    run(store.put, "k", {"v": 1}, collection="c")
    assert KeyVal("c", using="other").keys() == ["k"]
    assert KeyVal("c").keys() == []
    assert run(store.collections) == ["c"]
    with pytest.raises(TypeError, match="alias"):
        KeyValStore(using=1)
