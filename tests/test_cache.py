"""KeyValCache, the Django cache backend: what Django's own suite does not pin down."""

from __future__ import annotations

import io
import pickle
import warnings
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import CacheKeyWarning, InvalidCacheKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from django_keyval import KeyVal
from django_keyval import cache as cache_module
from django_keyval.cache import KeyValCache, UnpicklableValue
from django_keyval.exceptions import SerializationError
from tests.helpers import expire

pytestmark = pytest.mark.django_db

STORE = "cache"


def make_cache(**params: Any) -> KeyValCache:
    return KeyValCache(params.pop("LOCATION", STORE), params)


@pytest.fixture(autouse=True)
def _fresh_write_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count each test's writes from zero (the counts are the process's, across caches)."""
    monkeypatch.setattr(cache_module, "_writes", cache_module._WriteCounter())


@pytest.fixture
def cache() -> KeyValCache:
    return make_cache()


@pytest.fixture
def store() -> KeyVal:
    return KeyVal(STORE)


# Entries are the store's keys, as Django makes them


def test_entries_are_made_keys_of_the_store(cache, store):
    cache.set("a", 1)
    prefixed = make_cache(KEY_PREFIX="p", VERSION=3)
    prefixed.set("a", 2)
    assert store.keys() == [":1:a", "p:3:a"]
    assert cache.get("a") == 1
    assert prefixed.get("a") == 2
    assert cache.store.name == STORE


def test_location_defaults_to_cache():
    assert KeyValCache("", {}).store.name == "cache"


# Timeouts


def test_default_timeout_is_the_ttl(cache, store):
    cache.set("a", 1)
    assert 299 < store.ttl(":1:a") <= 300


def test_timeout_none_never_expires(cache, store):
    cache.set("a", 1, None)
    assert store.ttl(":1:a") is None
    assert make_cache(TIMEOUT=None).set("b", 1) is None
    assert store.ttl(":1:b") is None


@pytest.mark.parametrize("timeout", [0, -1, -0.5])
def test_timeout_zero_or_negative_deletes(cache, store, timeout):
    cache.set_many({"a": 1, "b": 2, "c": 3})
    cache.set("a", 9, timeout)
    cache.set_many({"b": 9}, timeout)
    assert cache.touch("c", timeout) is True
    assert store.keys() == []
    assert cache.add("a", 1, timeout) is True
    assert store.keys() == []


def test_add_with_timeout_zero_over_a_live_key_is_false(cache):
    cache.set("a", 1)
    assert cache.add("a", 2, 0) is False
    assert cache.get("a") == 1


def test_setting_timeout_zero_stores_nothing(store):
    cache = make_cache(TIMEOUT=0)
    cache.set("a", 1)
    assert cache.add("b", 1) is True
    assert store.keys() == []


def test_expired_entry_is_missing(cache):
    cache.set("a", 1)
    expire(STORE, ":1:a")
    assert cache.get("a", "gone") == "gone"
    assert cache.has_key("a") is False
    assert cache.add("a", 2) is True


# incr / decr


def test_incr_keeps_the_expiry(cache, store):
    cache.set("n", 1, 1000)
    before = store.ttl(":1:n")
    assert cache.incr("n", 5) == 6
    assert cache.decr("n", 2) == 4
    assert store.ttl(":1:n") <= before
    assert store.ttl(":1:n") > 990


def test_incr_of_a_missing_key_raises_value_error_and_writes_nothing(cache, store):
    with pytest.raises(ValueError, match="Key 'nope' not found"):
        cache.incr("nope")
    assert store.keys() == []


def test_incr_of_a_non_number_raises_type_error_and_leaves_it(cache):
    cache.set("s", "text")
    with pytest.raises(TypeError):
        cache.incr("s")
    assert cache.get("s") == "text"


# Bad input gets Django's errors


def test_unpicklable_value_raises_pickle_error_and_writes_nothing(cache, store):
    for write in (
        lambda: cache.set("a", lambda: 1),
        lambda: cache.add("a", lambda: 1),
        lambda: cache.set_many({"a": 1, "b": lambda: 1}),
    ):
        with pytest.raises(pickle.PickleError) as raised:
            write()
        assert isinstance(raised.value, UnpicklableValue)
        assert isinstance(raised.value, SerializationError)
    assert store.keys() == []


@pytest.mark.parametrize("key", ["x" * 300, "nul\x00", "lone \ud800"])
def test_key_the_store_cannot_hold_raises_invalid_cache_key(cache, key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)
        for call in (
            lambda: cache.set(key, 1),
            lambda: cache.get(key),
            lambda: cache.get_many([key]),
            lambda: cache.delete(key),
        ):
            with pytest.raises(InvalidCacheKey):
                call()


def test_memcached_unfriendly_key_warns_but_works(cache):
    with pytest.warns(CacheKeyWarning):
        cache.set("with space", 1)
    with pytest.warns(CacheKeyWarning):
        assert cache.get("with space") == 1


@pytest.mark.parametrize(
    "options",
    [{"MAX_ENTRY": 10}, {"CULL_CHECK_INTERVAL": 0}, {"CULL_CHECK_INTERVAL": "5"}],
)
def test_bad_options_are_improperly_configured(options):
    with pytest.raises(ImproperlyConfigured):
        make_cache(OPTIONS=options)


# Queries


@pytest.mark.parametrize(
    ("operation", "queries"),
    [
        (lambda c: c.get("a"), 1),
        (lambda c: c.get("missing"), 1),
        (lambda c: c.has_key("a"), 1),
        (lambda c: c.add("new", 1), 1),
        (lambda c: c.add("a", 1), 1),
        (lambda c: c.touch("a", 10), 1),
        (lambda c: c.delete("a"), 1),
        (lambda c: c.get_many(["a", "b", "c"]), 1),
        (lambda c: c.delete_many(["a", "b", "c"]), 1),
        (lambda c: c.clear(), 1),
    ],
)
def test_single_key_and_batch_operations_make_one_query(operation, queries):
    cache = make_cache(OPTIONS={"MAX_ENTRIES": 10**6})
    cache.set_many({"a": 1, "b": 2})
    with CaptureQueriesContext(connection) as captured:
        operation(cache)
    assert len(captured) == queries, [q["sql"] for q in captured]


def test_set_many_is_one_statement_in_a_transaction():
    cache = make_cache(OPTIONS={"MAX_ENTRIES": 10**6})
    with CaptureQueriesContext(connection) as captured:
        assert cache.set_many({f"k{i}": i for i in range(100)}) == []
    statements = [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"].upper()]
    assert len(statements) == 1, statements


def test_set_checks_the_size_only_every_interval_writes(store):
    cache = make_cache(LOCATION="interval", OPTIONS={"MAX_ENTRIES": 10**6})
    assert cache._check_interval == 10**4
    small = make_cache(LOCATION="interval2", OPTIONS={"CULL_CHECK_INTERVAL": 5})
    counted = 0
    for i in range(20):
        with CaptureQueriesContext(connection) as captured:
            small.set(f"k{i}", i)
        counted += any("COUNT(" in q["sql"].upper() for q in captured)
    assert counted == 4


# Culling


def test_store_exceeds_max_entries_by_at_most_the_interval():
    cache = make_cache(LOCATION="cull", OPTIONS={"MAX_ENTRIES": 20, "CULL_CHECK_INTERVAL": 5})
    for i in range(200):
        cache.set(f"k{i:03}", i)
        assert cache.store.count() <= 20 + 5


def test_cull_deletes_a_fraction_in_key_order_and_purges_expired(store):
    cache = make_cache(OPTIONS={"MAX_ENTRIES": 6, "CULL_FREQUENCY": 3, "CULL_CHECK_INTERVAL": 100})
    cache.set_many({f"k{i}": i for i in range(9)})
    KeyVal("elsewhere").set("old", 1)
    expire("elsewhere", "old")
    assert cache.cull() == 3
    assert store.keys() == [f":1:k{i}" for i in range(3, 9)]
    assert cache.cull() == 0
    assert KeyVal.purge_expired() == 0


def test_cull_frequency_zero_empties_the_store(store):
    cache = make_cache(OPTIONS={"MAX_ENTRIES": 3, "CULL_FREQUENCY": 0, "CULL_CHECK_INTERVAL": 9})
    cache.set_many({f"k{i}": i for i in range(5)})
    assert cache.cull() == 5
    assert store.keys() == []


# Django's integration


def test_createcachetable_leaves_it_alone(settings, django_assert_num_queries):
    settings.CACHES = {"default": {"BACKEND": "django_keyval.cache.KeyValCache"}}
    stdout = io.StringIO()
    with django_assert_num_queries(0):
        call_command("createcachetable", stdout=stdout, verbosity=2)
        call_command("createcachetable", dry_run=True, stdout=stdout)
    assert stdout.getvalue() == ""


def test_failures_leave_the_callers_transaction_usable(cache):
    with transaction.atomic():
        cache.set("a", 1)
        with pytest.raises(ValueError):
            cache.incr("missing")
        cache.set("s", "text")
        with pytest.raises(TypeError):
            cache.incr("s")
        with pytest.raises(pickle.PickleError):
            cache.add("b", lambda: 1)
        assert cache.incr("a") == 2
        assert cache.get_many(["a", "s"]) == {"a": 2, "s": "text"}


def test_writes_roll_back_with_the_callers_transaction(cache):
    cache.set("a", 1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        cache.set("a", 2)
        cache.set("b", 2)
        1 / 0  # noqa: B018
    assert cache.get_many(["a", "b"]) == {"a": 1}


def test_async_twins(cache):
    async def run() -> list[Any]:
        await cache.aset("a", 1)
        return [
            await cache.aadd("a", 2),
            await cache.aget("a"),
            await cache.aincr("a", 2),
            await cache.adecr("a"),
            await cache.ahas_key("a"),
            await cache.atouch("a", 10),
            await cache.aset_many({"b": 1}),
            await cache.aget_many(["a", "b", "c"]),
            await cache.adelete_many(["b"]),
            await cache.aget_or_set("c", 3),
            await cache.adelete("a"),
            await cache.aclear(),
            await cache.aget("c"),
        ]

    # async_to_sync sends the twins' database work back to this thread, into the test's
    # transaction.
    assert async_to_sync(run)() == [
        False,
        1,
        3,
        2,
        True,
        True,
        [],
        {"a": 2, "b": 1},
        None,
        3,
        True,
        None,
        None,
    ]
