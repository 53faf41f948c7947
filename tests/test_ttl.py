"""Time to live: DEFAULT_TTL, store and setting defaults, expiry, touch and purge_expired."""

from __future__ import annotations

import inspect
import math
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_keyval import DEFAULT_TTL, KeyVal
from django_keyval.models import Entry
from tests.helpers import expire, write_expired

# Tests on ``kv`` run through the sync methods, then through their async twins.
pytestmark = [pytest.mark.django_db, pytest.mark.twins]

# Seconds a test may take between a write and the ttl() that checks it.
SLACK = 5.0


def assert_ttl_near(kv: KeyVal, key: str, seconds: float) -> None:
    left = kv.ttl(key)
    assert left is not None
    assert seconds - SLACK < left <= seconds


# DEFAULT_TTL


def test_default_ttl_repr():
    assert repr(DEFAULT_TTL) == "DEFAULT_TTL"


def test_default_ttl_is_not_none():
    assert DEFAULT_TTL is not None


@pytest.mark.parametrize(
    "method", ["set", "add", "get_or_set", "touch", "set_many", "__init__"], ids=str
)
def test_ttl_parameters_default_to_default_ttl(method):
    assert inspect.signature(getattr(KeyVal, method)).parameters["ttl"].default is DEFAULT_TTL


# ttl values


def test_set_without_ttl_never_expires(kv):
    kv.set("k", 1)
    assert kv.ttl("k") is None


def test_ttl_none_never_expires(kv):
    kv.set("k", 1, ttl=None)
    assert kv.ttl("k") is None


def test_ttl_none_overrides_the_store_default(api):
    kv = api(KeyVal("test", ttl=60))
    kv.set("k", 1, ttl=None)
    assert kv.ttl("k") is None


def test_ttl_default_ttl_means_the_store_default(api):
    kv = api(KeyVal("test", ttl=60))
    kv.set("k", 1, ttl=DEFAULT_TTL)
    assert_ttl_near(kv, "k", 60)


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [(10, 10), (2.5, 2.5), (timedelta(minutes=1), 60), (timedelta(days=2), 172_800)],
    ids=["int", "float", "timedelta", "timedelta_days"],
)
def test_positive_ttl_sets_the_expiry(kv, ttl, seconds):
    kv.set("k", 1, ttl=ttl)
    assert_ttl_near(kv, "k", seconds)


def test_ttl_returns_a_float(kv):
    kv.set("k", 1, ttl=10)
    assert isinstance(kv.ttl("k"), float)


def test_ttl_of_a_missing_key_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.ttl("missing")


def test_short_ttl_expires_the_key(kv):
    kv.set("k", 1, ttl=0.05)
    time.sleep(0.1)
    assert not kv.exists("k")


def test_short_ttl_key_is_live_before_it_expires(kv):
    kv.set("k", 1, ttl=30)
    assert kv.get("k") == 1


BAD_VALUES = {
    "zero": 0,
    "zero_float": 0.0,
    "negative": -1,
    "negative_float": -0.5,
    "nan": float("nan"),
    "inf": float("inf"),
    "minus_inf": float("-inf"),
    "zero_timedelta": timedelta(0),
    "negative_timedelta": timedelta(seconds=-1),
}
BAD_TYPES = {"str": "10", "true": True, "false": False, "list": [10]}


def bad_value_params():
    return pytest.mark.parametrize("ttl", list(BAD_VALUES.values()), ids=list(BAD_VALUES))


def bad_type_params():
    return pytest.mark.parametrize("ttl", list(BAD_TYPES.values()), ids=list(BAD_TYPES))


@bad_value_params()
def test_non_positive_or_non_finite_ttl_raises_valueerror(kv, ttl):
    with pytest.raises(ValueError):
        kv.set("k", 1, ttl=ttl)


@bad_type_params()
def test_non_number_ttl_raises_typeerror(kv, ttl):
    with pytest.raises(TypeError):
        kv.set("k", 1, ttl=ttl)


@bad_value_params()
def test_bad_ttl_value_leaves_the_old_value(kv, ttl):
    kv.set("k", "old", ttl=None)
    with pytest.raises(ValueError):
        kv.set("k", "new", ttl=ttl)
    assert kv.get("k") == "old"
    assert kv.ttl("k") is None


@bad_type_params()
def test_bad_ttl_type_leaves_the_old_value(kv, ttl):
    kv.set("k", "old", ttl=None)
    with pytest.raises(TypeError):
        kv.set("k", "new", ttl=ttl)
    assert kv.get("k") == "old"
    assert kv.ttl("k") is None


def test_bad_ttl_writes_no_new_key(kv):
    with pytest.raises(ValueError):
        kv.set("k", 1, ttl=0)
    assert not kv.exists("k")


def test_valueerror_message_names_the_ttl(kv):
    with pytest.raises(ValueError) as excinfo:
        kv.set("k", 1, ttl=-5)
    assert "ttl" in str(excinfo.value)
    assert "-5" in str(excinfo.value)


@pytest.mark.parametrize(
    "operation",
    [
        lambda kv: kv.add("k", 1, ttl=0),
        lambda kv: kv.get_or_set("k", 1, ttl=0),
        lambda kv: kv.set_many({"k": 1}, ttl=0),
    ],
    ids=["add", "get_or_set", "set_many"],
)
def test_other_writes_reject_a_zero_ttl_and_write_nothing(kv, operation):
    with pytest.raises(ValueError):
        operation(kv)
    assert not kv.exists("k")


def test_touch_rejects_a_zero_ttl_and_keeps_the_expiry(kv):
    kv.set("k", 1, ttl=None)
    with pytest.raises(ValueError):
        kv.touch("k", ttl=0)
    assert kv.ttl("k") is None


@bad_value_params()
def test_store_default_ttl_rejects_a_bad_value(db, ttl):
    with pytest.raises(ValueError):
        KeyVal("test", ttl=ttl)


@bad_type_params()
def test_store_default_ttl_rejects_a_bad_type(db, ttl):
    with pytest.raises(TypeError):
        KeyVal("test", ttl=ttl)


# Defaults: the store's, then KEYVAL["DEFAULT_TTL"]


def test_store_default_ttl_applies_to_set(api):
    kv = api(KeyVal("test", ttl=60))
    kv.set("k", 1)
    assert_ttl_near(kv, "k", 60)


def test_store_default_ttl_accepts_a_timedelta(api):
    kv = api(KeyVal("test", ttl=timedelta(minutes=2)))
    kv.set("k", 1)
    assert_ttl_near(kv, "k", 120)


def test_explicit_ttl_overrides_the_store_default(api):
    kv = api(KeyVal("test", ttl=60))
    kv.set("k", 1, ttl=10)
    assert_ttl_near(kv, "k", 10)


def test_setting_default_ttl_applies_to_set(kv, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    kv.set("k", 1)
    assert_ttl_near(kv, "k", 60)


def test_setting_default_ttl_change_is_seen_by_an_existing_handle(kv, settings):
    kv.set("before", 1)
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    kv.set("after", 1)
    assert kv.ttl("before") is None
    assert_ttl_near(kv, "after", 60)


def test_setting_default_ttl_removed_means_never_again(kv, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    kv.set("k", 1)
    settings.KEYVAL = {}
    kv.set("k", 2)
    assert kv.ttl("k") is None


def test_store_default_ttl_overrides_the_setting(api, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    kv = api(KeyVal("test", ttl=600))
    kv.set("k", 1)
    assert_ttl_near(kv, "k", 600)


def test_store_default_ttl_none_overrides_the_setting(api, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    kv = api(KeyVal("test", ttl=None))
    kv.set("k", 1)
    assert kv.ttl("k") is None


def test_explicit_ttl_none_overrides_the_setting(kv, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    kv.set("k", 1, ttl=None)
    assert kv.ttl("k") is None


def test_set_without_ttl_replaces_an_earlier_expiry_with_never(kv):
    kv.set("k", 1, ttl=10)
    kv.set("k", 2)
    assert kv.ttl("k") is None


def test_set_without_ttl_replaces_an_earlier_expiry_with_the_store_default(api):
    kv = api(KeyVal("test", ttl=600))
    kv.set("k", 1, ttl=10)
    kv.set("k", 2)
    assert_ttl_near(kv, "k", 600)


def test_set_without_ttl_replaces_an_earlier_expiry_with_the_setting_default(kv, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 600}
    kv.set("k", 1, ttl=10)
    kv.set("k", 2)
    assert_ttl_near(kv, "k", 600)


def test_set_many_applies_the_ttl_to_every_key(kv):
    kv.set_many({"a": 1, "b": 2}, ttl=60)
    assert_ttl_near(kv, "a", 60)
    assert_ttl_near(kv, "b", 60)


def test_add_applies_the_store_default_ttl(api):
    kv = api(KeyVal("test", ttl=60))
    kv.add("k", 1)
    assert_ttl_near(kv, "k", 60)


def test_incr_of_a_missing_key_applies_the_store_default_ttl(api):
    kv = api(KeyVal("test", ttl=60))
    kv.incr("k")
    assert_ttl_near(kv, "k", 60)


def test_incr_keeps_the_expiry(kv):
    kv.set("k", 1, ttl=600)
    kv.incr("k")
    assert_ttl_near(kv, "k", 600)


def test_incr_with_a_ttl_creates_the_key_with_that_ttl(api):
    kv = api(KeyVal("test", ttl=5))
    assert kv.incr("k", ttl=60) == 1
    assert_ttl_near(kv, "k", 60)


def test_incr_with_a_ttl_keeps_the_expiry_of_a_live_key(kv):
    kv.incr("k", ttl=600)
    assert kv.incr("k", 2, ttl=5) == 3
    assert kv.incr("k", ttl=timedelta(seconds=5)) == 4
    assert_ttl_near(kv, "k", 600)


def test_incr_with_a_ttl_keeps_a_key_that_never_expires(kv):
    kv.set("k", 1, ttl=None)
    kv.incr("k", ttl=60)
    assert kv.ttl("k") is None


def test_incr_with_ttl_none_creates_a_key_that_never_expires(api):
    kv = api(KeyVal("test", ttl=60))
    kv.incr("k", ttl=None)
    assert kv.ttl("k") is None


def test_decr_with_a_ttl_creates_the_key_with_that_ttl(kv):
    assert kv.decr("k", 2, ttl=60) == -2
    assert kv.decr("k", ttl=5) == -3
    assert_ttl_near(kv, "k", 60)


@pytest.mark.parametrize("ttl", [0, -1, "60"])
def test_incr_with_a_bad_ttl_fails_and_changes_nothing(kv, ttl):
    kv.set("k", 1)
    with pytest.raises((ValueError, TypeError)):
        kv.incr("k", ttl=ttl)
    with pytest.raises((ValueError, TypeError)):
        kv.incr("new", ttl=ttl)
    assert kv.get("k") == 1
    assert not kv.exists("new")


def test_a_counter_starts_a_new_window_at_1_once_its_ttl_ran_out(kv):
    assert [kv.incr("window", ttl=60) for _ in range(3)] == [1, 2, 3]
    expire(kv, "window")
    assert kv.incr("window", ttl=60) == 1
    assert_ttl_near(kv, "window", 60)


def test_modify_keeps_the_expiry(kv):
    kv.set("k", 1, ttl=600)
    kv.modify("k", lambda old: old + 1)
    assert_ttl_near(kv, "k", 600)


# Expired keys are missing for every operation


@pytest.fixture
def expired_kv(kv):
    """A store holding "k" (expired, value "old") and "live" (never expires)."""
    kv.set("k", "old")
    kv.set("live", "live")
    expire(kv, "k")
    return kv


RAISES_KEYERROR = {
    "get": lambda kv: kv.get("k"),
    "pop": lambda kv: kv.pop("k"),
    "delete": lambda kv: kv.delete("k"),
    "ttl": lambda kv: kv.ttl("k"),
    "getitem": lambda kv: kv["k"],
    "delitem": lambda kv: kv.__delitem__("k"),
    "modify_without_default": lambda kv: kv.modify("k", lambda old: old),
}


@pytest.mark.parametrize("operation", list(RAISES_KEYERROR.values()), ids=list(RAISES_KEYERROR))
def test_expired_key_raises_keyerror(expired_kv, operation):
    with pytest.raises(KeyError):
        operation(expired_kv)


MISSING_RESULTS = {
    "get_with_default": (lambda kv: kv.get("k", "dflt"), "dflt"),
    "get_default": (lambda kv: kv.get_default("k", "dflt"), "dflt"),
    "pop_with_default": (lambda kv: kv.pop("k", "dflt"), "dflt"),
    "pop_default": (lambda kv: kv.pop_default("k", "dflt"), "dflt"),
    "exists": (lambda kv: kv.exists("k"), False),
    "contains": (lambda kv: "k" in kv, False),
    "delete_ignore_keyerror": (lambda kv: kv.delete("k", ignore_keyerror=True), False),
    "touch": (lambda kv: kv.touch("k", 60), False),
    "incr": (lambda kv: kv.incr("k", 5), 5),
    "decr": (lambda kv: kv.decr("k", 5), -5),
    "modify": (lambda kv: kv.modify("k", lambda old: old + ["x"], []), ["x"]),
    "get_or_set": (lambda kv: kv.get_or_set("k", "new"), "new"),
    "keys": (lambda kv: kv.keys(), ["live"]),
    "keys_prefix": (lambda kv: kv.keys("k"), []),
    "iter_keys": (lambda kv: list(kv.iter_keys()), ["live"]),
    "iter": (lambda kv: list(kv), ["live"]),
    "items": (lambda kv: list(kv.items()), [("live", "live")]),
    "count": (lambda kv: kv.count(), 1),
    "len": (lambda kv: len(kv), 1),
    "get_many": (lambda kv: kv.get_many(["k", "live"]), {"live": "live"}),
    "delete_many": (lambda kv: kv.delete_many(["k", "live"]), 1),
    "delete_prefix": (lambda kv: kv.delete_prefix("k"), 0),
    "set": (lambda kv: kv.set("k", "new"), True),
    "add": (lambda kv: kv.add("k", "new"), True),
}


@pytest.mark.parametrize(
    ("operation", "expected"), list(MISSING_RESULTS.values()), ids=list(MISSING_RESULTS)
)
def test_expired_key_is_missing(expired_kv, operation, expected):
    assert operation(expired_kv) == expected


def test_expired_key_is_found_by_no_operation_after_a_real_wait(kv):
    kv.set("k", "old", ttl=0.05)
    time.sleep(0.1)
    assert kv.get_many(["k"]) == {}
    assert kv.keys() == []
    assert kv.set("k", "new") is True


def test_add_over_an_expired_key_stores_the_new_value(expired_kv):
    expired_kv.add("k", "new")
    assert expired_kv.get("k") == "new"


def test_add_over_an_expired_key_applies_the_new_ttl(expired_kv):
    expired_kv.add("k", "new", ttl=None)
    assert expired_kv.ttl("k") is None


def test_set_over_an_expired_key_applies_the_new_ttl(expired_kv):
    expired_kv.set("k", "new")
    assert expired_kv.ttl("k") is None


def test_incr_over_an_expired_key_does_not_keep_the_old_expiry(expired_kv):
    expired_kv.incr("k")
    assert expired_kv.ttl("k") is None


def test_incr_over_an_expired_key_applies_its_ttl(expired_kv):
    assert expired_kv.incr("k", ttl=60) == 1
    assert_ttl_near(expired_kv, "k", 60)


def test_get_or_set_over_an_expired_key_stores_the_default(expired_kv):
    expired_kv.get_or_set("k", "new")
    assert expired_kv.get("k") == "new"


def test_touch_does_not_revive_an_expired_key(expired_kv):
    expired_kv.touch("k", 60)
    assert not expired_kv.exists("k")


def test_expired_key_store_is_not_listed(kv, api):
    kv.set("k", 1)
    expire(kv, "k")
    assert api(KeyVal).stores() == []


def test_store_with_a_live_key_is_still_listed(expired_kv, api):
    assert api(KeyVal).stores() == ["test"]


# touch


def test_touch_returns_true_for_a_live_key(kv):
    kv.set("k", 1, ttl=10)
    assert kv.touch("k", 600) is True


def test_touch_resets_the_expiry(kv):
    kv.set("k", 1, ttl=10)
    kv.touch("k", 600)
    assert_ttl_near(kv, "k", 600)


def test_touch_with_ttl_none_removes_the_expiry(kv):
    kv.set("k", 1, ttl=10)
    kv.touch("k", None)
    assert kv.ttl("k") is None


def test_touch_without_ttl_applies_the_store_default(api):
    kv = api(KeyVal("test", ttl=600))
    kv.set("k", 1, ttl=10)
    kv.touch("k")
    assert_ttl_near(kv, "k", 600)


def test_touch_without_ttl_or_default_removes_the_expiry(kv):
    kv.set("k", 1, ttl=10)
    kv.touch("k")
    assert kv.ttl("k") is None


def test_touch_keeps_the_value(kv):
    kv.set("k", "value", ttl=10)
    kv.touch("k", 600)
    assert kv.get("k") == "value"


def test_touch_returns_false_for_a_missing_key(kv):
    assert kv.touch("missing", 60) is False


def test_touch_of_a_missing_key_writes_nothing(kv):
    kv.touch("missing", 60)
    assert not kv.exists("missing")


# purge_expired


def test_purge_expired_returns_the_number_removed(kv, api):
    write_expired("test", ["a", "b", "c"])
    assert api(KeyVal).purge_expired() == 3


def test_purge_expired_removes_expired_rows(kv, api):
    write_expired("test", ["a", "b", "c"])
    api(KeyVal).purge_expired()
    assert not Entry.objects.filter(store="test").exists()


def test_purge_expired_keeps_live_rows(kv, api):
    kv.set("forever", 1)
    kv.set("later", 2, ttl=600)
    write_expired("test", ["a", "b"])
    api(KeyVal).purge_expired()
    assert sorted(Entry.objects.values_list("key", flat=True)) == ["forever", "later"]


def test_purge_expired_covers_every_store(kv, api):
    write_expired("test", ["a"])
    write_expired("other", ["a", "b"])
    assert api(KeyVal).purge_expired() == 3


def test_purge_expired_returns_zero_when_nothing_expired(kv, api):
    kv.set("k", 1)
    assert api(KeyVal).purge_expired() == 0


def test_purge_expired_is_callable_on_an_instance(kv):
    write_expired("test", ["a"])
    assert kv.purge_expired() == 1


def test_purge_expired_is_callable_on_a_disconnected_instance(kv):
    write_expired("test", ["a"])
    kv.disconnect()
    assert kv.purge_expired() == 1


def test_purge_expired_removes_more_rows_than_one_batch(kv, api):
    write_expired("test", [f"k{i:02}" for i in range(25)])
    assert api(KeyVal).purge_expired(batch_size=10) == 25


def test_purge_expired_leaves_no_expired_row_after_several_batches(kv, api):
    write_expired("test", [f"k{i:02}" for i in range(25)])
    api(KeyVal).purge_expired(batch_size=10)
    assert Entry.objects.count() == 0


def test_purge_expired_deletes_in_batches_of_at_most_batch_size(kv, api):
    write_expired("test", [f"k{i:02}" for i in range(25)])
    with CaptureQueriesContext(connection) as queries:
        api(KeyVal).purge_expired(batch_size=10)
    deletes = [query for query in queries if query["sql"].lstrip().upper().startswith("DELETE")]
    assert len(deletes) >= math.ceil(25 / 10)


def test_purge_expired_batch_size_equal_to_the_count(kv, api):
    write_expired("test", [f"k{i:02}" for i in range(10)])
    assert api(KeyVal).purge_expired(batch_size=10) == 10


@pytest.mark.parametrize("batch_size", [0, -1], ids=str)
def test_purge_expired_rejects_a_non_positive_batch_size(batch_size, api):
    with pytest.raises(ValueError):
        api(KeyVal).purge_expired(batch_size=batch_size)


def test_purge_expired_with_a_bad_batch_size_deletes_nothing(kv, api):
    write_expired("test", ["a"])
    with pytest.raises(ValueError):
        api(KeyVal).purge_expired(batch_size=0)
    assert Entry.objects.count() == 1


def test_purge_expired_takes_batch_size_by_keyword_only(api):
    with pytest.raises(TypeError):
        api(KeyVal).purge_expired(10)


def test_purge_expired_removes_a_key_that_expired_by_waiting(kv, api):
    kv.set("k", 1, ttl=0.05)
    time.sleep(0.1)
    assert api(KeyVal).purge_expired() == 1
