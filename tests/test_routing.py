"""Which database each operation uses: ``using``, KEYVAL["DATABASE"], or the database routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.db.models import Model

from django_keyval import KeyVal
from django_keyval.models import Entry
from tests.helpers import write_expired

# The tests run through the sync methods, then through their async twins, which
# must use the same databases: ``api(KeyVal(...))`` is the handle under test.
pytestmark = [pytest.mark.django_db(databases=["default", "other"]), pytest.mark.twins]

# Every call a router receives for the Entry model: (method, hints).
ROUTED: list[tuple[str, dict[str, Any]]] = []


def is_entry(model: type[Model]) -> bool:
    return model._meta.label == "django_keyval.Entry"


class StoreRouter:
    """Puts the store "remote" on "other" and everything else on "default"."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if not is_entry(model):
            return None
        return "other" if hints.get("store") == "remote" else "default"

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return self.db_for_read(model, **hints)


class ReplicaRouter:
    """Reads from "other", a replica lagging behind; writes to "default", the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return "other" if is_entry(model) else None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return "default" if is_entry(model) else None


class StorelessRouter:
    """Sends calls that name no store to "other", and those that name one to "default";
    records every call."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return self._route("read", model, hints)

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return self._route("write", model, hints)

    def _route(self, method: str, model: type[Model], hints: dict[str, Any]) -> str | None:
        if not is_entry(model):
            return None
        ROUTED.append((method, hints))
        return "default" if "store" in hints else "other"


@pytest.fixture(autouse=True)
def _forget_routed() -> Iterator[None]:
    ROUTED.clear()
    yield
    ROUTED.clear()


@pytest.fixture
def store_router(settings: Any) -> None:
    settings.DATABASE_ROUTERS = ["tests.test_routing.StoreRouter"]


@pytest.fixture
def replica_router(settings: Any) -> None:
    settings.DATABASE_ROUTERS = ["tests.test_routing.ReplicaRouter"]


@pytest.fixture
def storeless_router(settings: Any) -> None:
    settings.DATABASE_ROUTERS = ["tests.test_routing.StorelessRouter"]


@pytest.fixture
def primary() -> KeyVal:
    """The store "test" on "default", the primary of ReplicaRouter."""
    return KeyVal("test", using="default")


@pytest.fixture
def replica() -> KeyVal:
    """The store "test" on "other", the lagging replica of ReplicaRouter."""
    return KeyVal("test", using="other")


def rows(alias: str, store: str = "test") -> dict[str, bytes]:
    """Return the keys of ``store`` on database ``alias``, with their raw values."""
    entries = Entry.objects.using(alias).filter(store=store)
    return {entry.key: bytes(entry.value) for entry in entries}


def stored_keys(alias: str, store: str = "test") -> list[str]:
    return sorted(rows(alias, store))


# using=


def test_using_writes_to_that_database_only(api):
    api(KeyVal("test", using="other")).set("k", 1)
    assert (stored_keys("other"), stored_keys("default")) == (["k"], [])


def test_using_reads_from_that_database_only(primary, api):
    primary.set("k", "on default")
    assert api(KeyVal("test", using="other")).get("k", "missing") == "missing"


def test_using_reads_what_was_written_there(api):
    api(KeyVal("test", using="other")).set("k", "on other")
    assert api(KeyVal("test", using="other")).get("k") == "on other"


def test_every_operation_with_using_leaves_the_default_database_alone(
    django_assert_num_queries, api
):
    kv = api(KeyVal("test", using="other"))
    with django_assert_num_queries(0, connection=connections["default"]):
        kv.set("a", 1)
        kv.add("b", 2)
        kv.get_or_set("c", 3)
        kv.incr("a")
        kv.decr("a")
        kv.modify("b", lambda value: value + 1)
        kv.touch("b", 60)
        kv.ttl("b")
        kv.get("a")
        kv.exists("a")
        kv.get_many(["a", "b"])
        kv.set_many({"d": 4, "e": 5})
        kv.delete_many(["d"])
        kv.delete_prefix("e")
        kv.keys()
        list(kv.iter_keys())
        list(kv.items())
        kv.count()
        kv.pop("c")
        kv.delete("b")
        kv.flush()
    assert api(KeyVal("test", using="default")).count() == 0


def test_using_takes_precedence_over_the_database_setting(settings, api):
    settings.KEYVAL = {"DATABASE": "other"}
    api(KeyVal("test", using="default")).set("k", 1)
    assert (stored_keys("default"), stored_keys("other")) == (["k"], [])


def test_using_takes_precedence_over_the_routers(store_router, api):
    api(KeyVal("remote", using="default")).set("k", 1)
    assert (stored_keys("default", "remote"), stored_keys("other", "remote")) == (["k"], [])


# KEYVAL["DATABASE"]


def test_database_setting_writes_to_that_database_only(settings, api):
    settings.KEYVAL = {"DATABASE": "other"}
    api(KeyVal("test")).set("k", 1)
    assert (stored_keys("other"), stored_keys("default")) == (["k"], [])


def test_database_setting_reads_from_that_database_only(settings, primary, api):
    primary.set("k", "on default")
    settings.KEYVAL = {"DATABASE": "other"}
    assert api(KeyVal("test")).get("k", "missing") == "missing"


def test_database_setting_takes_precedence_over_the_routers(settings, store_router, api):
    settings.KEYVAL = {"DATABASE": "other"}
    api(KeyVal("local")).set("k", 1)
    assert (stored_keys("other", "local"), stored_keys("default", "local")) == (["k"], [])


def test_database_setting_applies_to_class_level_calls(settings, api):
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    settings.KEYVAL = {"DATABASE": "other"}
    assert api(KeyVal).stores() == ["on-other"]


# A router that places each store


def test_router_places_the_store_it_names_on_its_database(store_router, api):
    api(KeyVal("remote")).set("k", 1)
    assert (stored_keys("other", "remote"), stored_keys("default", "remote")) == (["k"], [])


def test_router_places_other_stores_on_the_default_database(store_router, api):
    api(KeyVal("local")).set("k", 1)
    assert (stored_keys("default", "local"), stored_keys("other", "local")) == (["k"], [])


def test_router_reads_the_store_from_its_database(store_router, api):
    KeyVal("remote", using="other").set("k", "on other")
    KeyVal("remote", using="default").set("k", "on default")
    assert api(KeyVal("remote")).get("k") == "on other"


def test_routers_receive_the_store_name_as_a_hint(storeless_router, api):
    kv = api(KeyVal("test"))
    kv.set("k", 1)
    kv.get("k")
    assert ROUTED == [("write", {"store": "test"}), ("read", {"store": "test"})]


# A router that reads from a lagging replica and writes to the primary


def test_get_reads_from_the_read_database(replica_router, primary, replica, api):
    primary.set("k", "fresh")
    replica.set("k", "stale")
    assert api(KeyVal("test")).get("k") == "stale"


def test_exists_reads_from_the_read_database(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).exists("k") is False


def test_keys_read_from_the_read_database(replica_router, primary, replica, api):
    primary.set("fresh", 1)
    replica.set("stale", 1)
    assert api(KeyVal("test")).keys() == ["stale"]


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda kv: kv.get_default("k"), "stale"),
        (lambda kv: kv["k"], "stale"),
        (lambda kv: "k" in kv, True),
        (lambda kv: kv.get_many(["k", "fresh"]), {"k": "stale"}),
        (lambda kv: list(kv.iter_keys()), ["k"]),
        (lambda kv: list(kv), ["k"]),
        (lambda kv: list(kv.items()), [("k", "stale")]),
        (lambda kv: kv.count(), 1),
        (lambda kv: len(kv), 1),
        (lambda kv: kv.ttl("k"), None),
    ],
    ids=[
        "get_default", "getitem", "contains", "get_many", "iter_keys", "iter", "items",
        "count", "len", "ttl",
    ],
)  # fmt: skip
def test_reads_go_to_the_read_database(replica_router, primary, replica, read, expected):
    primary.set_many({"k": "fresh", "fresh": "fresh"})
    replica.set("k", "stale")
    assert read(KeyVal("test")) == expected


def test_set_writes_to_the_write_database(replica_router, api):
    api(KeyVal("test")).set("k", 1)
    assert (stored_keys("default"), stored_keys("other")) == (["k"], [])


def test_set_returns_false_for_a_key_only_the_write_database_has(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).set("k", "newer") is False


def test_set_returns_true_for_a_key_only_the_read_database_has(replica_router, replica, api):
    replica.set("k", "stale")
    assert api(KeyVal("test")).set("k", "new") is True


def test_pop_returns_the_write_databases_value(replica_router, primary, replica, api):
    primary.set("k", "fresh")
    replica.set("k", "stale")
    assert api(KeyVal("test")).pop("k") == "fresh"


def test_pop_deletes_from_the_write_database_only(replica_router, primary, replica, api):
    primary.set("k", "fresh")
    replica.set("k", "stale")
    api(KeyVal("test")).pop("k")
    assert (stored_keys("default"), stored_keys("other")) == ([], ["k"])


def test_pop_returns_the_write_databases_value_when_the_read_one_lacks_it(
    replica_router, primary, api
):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).pop("k") == "fresh"


def test_pop_raises_keyerror_when_only_the_read_database_has_the_key(replica_router, replica, api):
    replica.set("k", "stale")
    with pytest.raises(KeyError):
        api(KeyVal("test")).pop("k")


def test_pop_default_returns_the_write_databases_value(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).pop_default("k") == "fresh"


def test_incr_continues_from_the_write_databases_value(replica_router, primary, replica, api):
    primary.set("n", 10)
    replica.set("n", 3)
    assert api(KeyVal("test")).incr("n") == 11


def test_incr_of_a_key_only_the_read_database_has_starts_from_zero(replica_router, replica, api):
    replica.set("n", 3)
    assert api(KeyVal("test")).incr("n") == 1


def test_decr_continues_from_the_write_databases_value(replica_router, primary, api):
    primary.set("n", 10)
    assert api(KeyVal("test")).decr("n") == 9


def test_modify_applies_to_the_write_databases_value(replica_router, primary, replica, api):
    primary.set("list", ["fresh"])
    replica.set("list", ["stale"])
    assert api(KeyVal("test")).modify("list", lambda items: [*items, "more"]) == ["fresh", "more"]


def test_modify_raises_keyerror_when_only_the_read_database_has_the_key(
    replica_router, replica, api
):
    replica.set("list", ["stale"])
    with pytest.raises(KeyError):
        api(KeyVal("test")).modify("list", lambda items: [*items, "more"])


def test_add_returns_false_for_a_key_only_the_write_database_has(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).add("k", "new") is False


def test_add_returns_true_for_a_key_only_the_read_database_has(replica_router, replica, api):
    replica.set("k", "stale")
    assert api(KeyVal("test")).add("k", "new") is True


def test_get_or_set_returns_the_write_databases_value(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).get_or_set("k", "default") == "fresh"


def test_get_or_set_stores_the_default_when_only_the_read_database_has_the_key(
    replica_router, replica, api
):
    replica.set("k", "stale")
    assert api(KeyVal("test")).get_or_set("k", "default") == "default"


def test_get_or_set_writes_the_default_to_the_write_database(replica_router, primary, api):
    api(KeyVal("test")).get_or_set("k", "default")
    assert primary.get("k") == "default"


def test_delete_reports_the_write_databases_key(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).delete("k") is True


def test_touch_reports_the_write_databases_key(replica_router, primary, api):
    primary.set("k", "fresh")
    assert api(KeyVal("test")).touch("k", 60) is True


# Class-level calls


def test_flush_all_with_using_empties_that_database_only(primary, replica, api):
    primary.set("k", 1)
    replica.set("k", 1)
    api(KeyVal).flush_all(using="other")
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


def test_flush_all_with_using_through_an_instance_empties_that_database_only(primary, replica, api):
    primary.set("k", 1)
    replica.set("k", 1)
    api(KeyVal("anything")).flush_all(using="other")
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


def test_class_level_calls_through_a_disconnected_instance_use_the_given_database(api):
    KeyVal("on-other", using="other").set("k", 1)
    kv = api(KeyVal("test"))
    kv.disconnect()
    assert kv.stores(using="other") == ["on-other"]


def test_stores_with_using_lists_that_databases_stores(api):
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    assert api(KeyVal).stores(using="other") == ["on-other"]


def test_purge_expired_with_using_purges_that_database_only(api):
    write_expired("test", ["old-on-default"], using="default")
    write_expired("test", ["old-on-other"], using="other")
    assert api(KeyVal).purge_expired(using="other") == 1


def test_purge_expired_with_using_leaves_other_databases_alone(api):
    write_expired("test", ["old-on-default"], using="default")
    write_expired("test", ["old-on-other"], using="other")
    api(KeyVal).purge_expired(using="other")
    assert (stored_keys("default"), stored_keys("other")) == (["old-on-default"], [])


def test_flush_all_follows_the_routers_without_a_store_hint(
    storeless_router, primary, replica, api
):
    primary.set("k", 1)
    replica.set("k", 1)
    api(KeyVal).flush_all()
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


def test_stores_follows_the_routers_without_a_store_hint(storeless_router, api):
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    assert api(KeyVal).stores() == ["on-other"]


def test_purge_expired_follows_the_routers_without_a_store_hint(storeless_router, api):
    write_expired("test", ["old-on-default"], using="default")
    write_expired("test", ["old-on-other"], using="other")
    api(KeyVal).purge_expired()
    assert (stored_keys("default"), stored_keys("other")) == (["old-on-default"], [])


def test_class_level_calls_give_the_routers_no_store_hint(storeless_router, api):
    api(KeyVal).flush_all()
    api(KeyVal).stores()
    api(KeyVal).purge_expired()
    assert ROUTED and all("store" not in hints for _, hints in ROUTED)


def test_stores_asks_where_to_read_while_flush_all_and_purge_expired_ask_where_to_write(
    storeless_router, api
):
    api(KeyVal).flush_all()
    api(KeyVal).stores()
    api(KeyVal).purge_expired()
    assert [method for method, _ in ROUTED] == ["write", "read", "write"]
