"""The KeyVal facade's operations, on the database chosen by KEYVAL_TEST_DB."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_keyval import DEFAULT_TTL, KeyVal
from django_keyval.exceptions import KeyValError, StoreDisconnected
from tests.helpers import expire

# Tests on ``kv`` run through the sync methods, then through their async twins.
pytestmark = [pytest.mark.django_db, pytest.mark.twins]


# Connecting


def test_connect_is_the_constructor(db):
    kv = KeyVal.connect("settings", ttl=10)
    assert isinstance(kv, KeyVal)
    assert kv.name == "settings"


def test_handles_on_the_same_store_share_keys(kv):
    kv.set("a", 1)
    assert KeyVal(kv.name).get("a") == 1


def test_stores_do_not_share_keys(kv, other_kv):
    kv.set("a", 1)
    assert not other_kv.exists("a")


@pytest.mark.sync_only
def test_disconnect_returns_none(kv):
    assert kv.disconnect() is None


@pytest.mark.parametrize(
    "operation",
    [
        lambda kv: kv.get("a"),
        lambda kv: kv.set("a", 1),
        lambda kv: kv.exists("a"),
        lambda kv: kv.keys(),
        lambda kv: kv.incr("a"),
        lambda kv: kv["a"],
        lambda kv: len(kv),
        lambda kv: kv.iter_keys(),
        lambda kv: kv.disconnect(),
    ],
)
def test_disconnected_handle_raises_store_disconnected(kv, operation):
    kv.disconnect()
    with pytest.raises(StoreDisconnected, match="'test'"):
        operation(kv)


def test_store_disconnected_is_a_name_error():
    assert issubclass(StoreDisconnected, NameError)
    assert issubclass(StoreDisconnected, KeyValError)


def test_disconnect_accepts_its_own_name(kv):
    kv.disconnect("test")
    with pytest.raises(StoreDisconnected):
        kv.get("a")


def test_disconnect_with_another_name_raises_value_error(kv):
    with pytest.raises(ValueError, match="'elsewhere'"):
        kv.disconnect("elsewhere")
    assert kv.set("a", 1) is True


def test_class_level_calls_work_through_a_disconnected_handle(kv):
    kv.set("a", 1)
    kv.disconnect()
    assert kv.stores() == ["test"]
    assert kv.purge_expired() == 0
    assert kv.flush_all() is None
    assert KeyVal.stores() == []


# set / get


def test_set_returns_true_for_a_new_key(kv):
    assert kv.set("a", 1) is True


def test_set_returns_false_when_overwriting(kv):
    kv.set("a", 1)
    assert kv.set("a", 2) is False
    assert kv.get("a") == 2


def test_set_returns_true_when_overwriting_an_expired_key(kv):
    kv.set("a", 1)
    expire(kv, "a")
    assert kv.set("a", 2) is True
    assert kv.get("a") == 2


def test_get_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.get("missing")


@pytest.mark.parametrize("default", [None, 0, "", "x"])
def test_get_missing_key_returns_the_default_when_given(kv, default):
    assert kv.get("missing", default) == default


def test_get_default_returns_none_for_a_missing_key(kv):
    assert kv.get_default("missing") is None
    assert kv.get_default("missing", 5) == 5


@pytest.mark.parametrize(
    "value",
    [12, "ab", 1.2, (1, 2), [1, 2], {"a": 1.2}, None, True, b"\x00\xff", {1, 2}, "é" * 1000],
)
def test_values_round_trip_with_their_type(kv, value):
    kv.set("a", value)
    result = kv.get("a")
    assert result == value
    assert type(result) is type(value)


# NUL bytes are the worst case for MySQL: its client escapes each into two.
EIGHT_MIB = b"\x00" * (8 * 1024 * 1024)


@pytest.mark.parametrize("serializer", ["pickle", "bytes"])
def test_8_mib_values_round_trip(db, serializer):
    kv = KeyVal("big", serializer=serializer)
    assert kv.set("a", EIGHT_MIB) is True
    assert kv.set("a", EIGHT_MIB) is False
    assert kv.get("a") == EIGHT_MIB


def test_8_mib_values_round_trip_through_every_write(kv):
    assert kv.add("a", EIGHT_MIB) is True
    kv.set_many({"b": EIGHT_MIB, "c": 1, "d": EIGHT_MIB})
    assert kv.modify("c", lambda old: EIGHT_MIB) == EIGHT_MIB
    assert kv.get_many(["a", "b", "c", "d"]) == dict.fromkeys("abcd", EIGHT_MIB)
    assert kv.pop("a") == EIGHT_MIB


def test_add_of_a_large_value_leaves_a_live_key_alone(kv):
    kv.set("a", 1)
    assert kv.add("a", EIGHT_MIB) is False
    assert kv.get("a") == 1


def test_empty_key_and_empty_store_name_work(api):
    kv = api(KeyVal(""))
    assert kv.set("", "empty") is True
    assert kv.get("") == "empty"
    assert api(KeyVal).stores() == [""]


# pop


def test_pop_returns_the_value_and_deletes_the_key(kv):
    kv.set("a", 1)
    assert kv.pop("a") == 1
    assert not kv.exists("a")


def test_pop_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.pop("missing")


def test_pop_missing_key_returns_the_default_when_given(kv):
    assert kv.pop("missing", None) is None


def test_pop_default_returns_the_default_for_a_missing_key(kv):
    assert kv.pop_default("missing") is None
    assert kv.pop_default("missing", 5) == 5


def test_pop_expired_key_is_missing(kv):
    kv.set("a", 1)
    expire(kv, "a")
    with pytest.raises(KeyError):
        kv.pop("a")


# exists / delete / flush


def test_exists(kv):
    kv.set("a", 1)
    assert kv.exists("a") is True
    assert kv.exists("b") is False


def test_delete_returns_true_for_an_existing_key(kv):
    kv.set("a", 1)
    assert kv.delete("a") is True
    assert not kv.exists("a")


def test_delete_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.delete("missing")


def test_delete_missing_key_with_ignore_keyerror_returns_false(kv):
    assert kv.delete("missing", ignore_keyerror=True) is False


def test_flush_empties_only_this_store(kv, other_kv):
    kv.set("a", 1)
    other_kv.set("a", 2)
    assert kv.flush() is None
    assert kv.count() == 0
    assert other_kv.get("a") == 2


def test_flush_all_empties_every_store(kv, other_kv, api):
    kv.set("a", 1)
    other_kv.set("a", 2)
    assert api(KeyVal).flush_all() is None
    assert kv.count() == 0
    assert other_kv.count() == 0


# add / get_or_set


def test_add_a_new_key_returns_true(kv):
    assert kv.add("a", 1) is True
    assert kv.get("a") == 1


def test_add_an_existing_key_returns_false_and_keeps_the_value(kv):
    kv.set("a", 1)
    assert kv.add("a", 2) is False
    assert kv.get("a") == 1


def test_add_replaces_an_expired_key(kv):
    kv.set("a", 1)
    expire(kv, "a")
    assert kv.add("a", 2) is True
    assert kv.get("a") == 2


def test_add_sets_the_ttl(kv):
    kv.add("a", 1, ttl=100)
    assert 99 < kv.ttl("a") <= 100


def test_get_or_set_stores_the_default_when_missing(kv):
    assert kv.get_or_set("a", 1) == 1
    assert kv.get("a") == 1


def test_get_or_set_returns_the_existing_value(kv):
    kv.set("a", 1)
    assert kv.get_or_set("a", 2) == 1


def test_get_or_set_calls_a_callable_default_only_when_missing(kv):
    calls = []

    def make() -> int:
        calls.append(1)
        return 7

    assert kv.get_or_set("a", make) == 7
    assert kv.get_or_set("a", make) == 7
    assert calls == [1]


# incr / decr / modify


def test_incr_a_missing_key_starts_at_zero(kv):
    assert kv.incr("n") == 1
    assert kv.incr("m", 5) == 5


def test_incr_and_decr(kv):
    kv.set("n", 10)
    assert kv.incr("n", 5) == 15
    assert kv.decr("n") == 14
    assert kv.decr("n", 20) == -6
    assert kv.get("n") == -6


def test_incr_a_missing_key_gets_the_store_default_ttl(api):
    kv = api(KeyVal("test", ttl=100))
    kv.incr("n")
    assert 99 < kv.ttl("n") <= 100


def test_incr_keeps_the_expiry_of_an_existing_key(kv):
    kv.set("n", 1, ttl=1000)
    kv.incr("n")
    assert 990 < kv.ttl("n") <= 1000


@pytest.mark.parametrize("value", ["1", 1.5, None, [1], True])
def test_incr_a_non_integer_raises_typeerror_and_keeps_the_value(kv, value):
    kv.set("n", value)
    with pytest.raises(TypeError, match="'n'"):
        kv.incr("n")
    assert kv.get("n") == value


@pytest.mark.parametrize("delta", ["1", 1.5, True, None])
def test_incr_with_a_non_integer_delta_raises_typeerror(kv, delta):
    with pytest.raises(TypeError, match="delta"):
        kv.incr("n", delta)
    assert not kv.exists("n")


def test_incr_an_expired_key_starts_again_at_zero(kv):
    kv.set("n", 10)
    expire(kv, "n")
    assert kv.incr("n") == 1


def test_incr_handles_big_integers(kv):
    kv.set("n", 2**70)
    assert kv.incr("n") == 2**70 + 1


def test_modify_stores_and_returns_the_new_value(kv):
    kv.set("l", [1])
    assert kv.modify("l", lambda old: [*old, 2]) == [1, 2]
    assert kv.get("l") == [1, 2]


def test_modify_keeps_the_expiry(kv):
    kv.set("l", [1], ttl=1000)
    kv.modify("l", lambda old: [*old, 2])
    assert 990 < kv.ttl("l") <= 1000


def test_modify_a_missing_key_without_default_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.modify("l", lambda old: old)
    assert not kv.exists("l")


def test_modify_a_missing_key_uses_the_default(kv):
    assert kv.modify("l", lambda old: [*old, 1], default=[]) == [1]
    assert kv.get("l") == [1]
    assert kv.ttl("l") is None


def test_modify_leaves_the_value_unchanged_when_func_raises(kv):
    kv.set("l", [1])

    def fail(old: list[int]) -> list[int]:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="no"):
        kv.modify("l", fail)
    assert kv.get("l") == [1]


# touch / ttl


def test_touch_resets_the_expiry(kv):
    kv.set("a", 1, ttl=10)
    assert kv.touch("a", 1000) is True
    assert 990 < kv.ttl("a") <= 1000


def test_touch_with_none_makes_the_key_permanent(kv):
    kv.set("a", 1, ttl=10)
    kv.touch("a", None)
    assert kv.ttl("a") is None


def test_touch_missing_key_returns_false(kv):
    assert kv.touch("a", 10) is False


def test_ttl_of_a_permanent_key_is_none(kv):
    kv.set("a", 1)
    assert kv.ttl("a") is None


def test_ttl_accepts_a_timedelta(kv):
    kv.set("a", 1, ttl=timedelta(hours=1))
    assert 3590 < kv.ttl("a") <= 3600


def test_ttl_of_a_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.ttl("a")


def test_set_without_ttl_replaces_an_earlier_expiry_with_the_default(kv):
    kv.set("a", 1, ttl=10)
    kv.set("a", 2)
    assert kv.ttl("a") is None


def test_explicit_default_ttl_is_the_store_default(api):
    kv = api(KeyVal("test", ttl=50))
    kv.set("a", 1, ttl=DEFAULT_TTL)
    assert 49 < kv.ttl("a") <= 50


def test_zero_ttl_raises_valueerror_and_writes_nothing(kv):
    kv.set("a", 1)
    with pytest.raises(ValueError, match="ttl"):
        kv.set("a", 2, ttl=0)
    assert kv.get("a") == 1


def test_handle_with_a_bad_default_ttl_raises_valueerror(db):
    with pytest.raises(ValueError, match="ttl"):
        KeyVal("test", ttl=-1)


# Bulk


def test_get_many_returns_only_existing_keys(kv):
    kv.set_many({"a": 1, "b": 2})
    assert kv.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}


def test_get_many_of_nothing_is_empty(kv):
    assert kv.get_many([]) == {}


def test_get_many_skips_expired_keys(kv):
    kv.set_many({"a": 1, "b": 2})
    expire(kv, "b")
    assert kv.get_many(["a", "b"]) == {"a": 1}


def test_get_many_accepts_more_keys_than_a_batch(kv):
    keys = [f"k{i}" for i in range(2500)]
    kv.set_many(dict.fromkeys(keys, 1))
    assert len(kv.get_many(keys)) == 2500


def test_set_many_overwrites_and_sets_the_ttl(kv):
    kv.set("a", 0)
    kv.set_many({"a": 1, "b": 2}, ttl=100)
    assert kv.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert 99 < kv.ttl("a") <= 100


def test_set_many_with_a_bad_value_writes_nothing(kv):
    kv.set("a", 0)
    with pytest.raises(TypeError):
        kv.set_many({"a": 1, "b": lambda: None})
    assert kv.get("a") == 0
    assert not kv.exists("b")


def test_set_many_with_a_bad_key_writes_nothing(kv):
    with pytest.raises(TypeError):
        kv.set_many({"a": 1, 2: 2})
    assert not kv.exists("a")


def test_delete_many_counts_only_live_keys(kv):
    kv.set_many({"a": 1, "b": 2, "c": 3})
    expire(kv, "c")
    assert kv.delete_many(["a", "b", "c", "d"]) == 2
    assert kv.keys() == []


def test_delete_prefix_deletes_matching_keys(kv, other_kv):
    kv.set_many({"user:1": 1, "user:2": 2, "users": 3, "team:1": 4})
    other_kv.set("user:1", 1)
    assert kv.delete_prefix("user:") == 2
    assert kv.keys() == ["team:1", "users"]
    assert other_kv.exists("user:1")


def test_delete_prefix_of_empty_string_empties_the_store(kv):
    kv.set_many({"a": 1, "b": 2})
    assert kv.delete_prefix("") == 2
    assert kv.count() == 0


# Listing


def test_keys_are_sorted_and_filtered_by_prefix(kv):
    kv.set_many({"b": 1, "a": 2, "ab": 3, "B": 4})
    assert kv.keys() == ["B", "a", "ab", "b"]
    assert kv.keys("a") == ["a", "ab"]


def test_items_yields_keys_and_values_in_order(kv):
    kv.set_many({"b": 1, "a": 2})
    assert list(kv.items()) == [("a", 2), ("b", 1)]


def test_count_and_len(kv):
    kv.set_many({"a": 1, "ab": 2, "b": 3})
    assert kv.count() == 3
    assert kv.count("a") == 2
    assert len(kv) == 3


def test_stores_lists_stores_with_live_keys(kv, other_kv, api):
    kv.set("a", 1)
    other_kv.set("a", 1)
    KeyVal("empty").set("x", 1)
    KeyVal("empty").delete("x")
    assert api(KeyVal).stores() == ["other", "test"]


def test_stores_skips_stores_whose_keys_all_expired(kv, other_kv, api):
    kv.set("a", 1)
    other_kv.set("a", 1)
    expire(other_kv, "a")
    assert api(KeyVal).stores() == ["test"]


# Dict-style access


def test_dict_style_access(kv):
    kv["a"] = 1
    assert kv["a"] == 1
    assert "a" in kv
    assert "b" not in kv
    assert list(kv) == ["a"]
    del kv["a"]
    assert "a" not in kv


def test_getitem_of_a_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv["missing"]


def test_delitem_of_a_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        del kv["missing"]


@pytest.mark.sync_only
def test_repr_names_the_store(kv):
    assert repr(kv) == "<KeyVal 'test'>"


@pytest.mark.sync_only
def test_a_handle_is_true_without_a_query(kv, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bool(kv) is True
