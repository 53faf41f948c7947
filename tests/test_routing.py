"""Which database each operation uses: ``using``, KEYVAL["DATABASE"], or the database routers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.db.models import Model

from django_keyval import KeyVal
from django_keyval.models import Entry

pytestmark = pytest.mark.django_db(databases=["default", "other"])

T = TypeVar("T")

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


def add_expired(alias: str, store: str, key: str) -> None:
    past = time.time() - 60
    Entry.objects.using(alias).create(
        store=store, key=key, value=b"", serializer="pickle", mac=None,
        expires_at=past, updated_at=past,
    )  # fmt: skip


def run_async(coroutine_function: Callable[[], Coroutine[Any, Any, T]]) -> T:
    async def main() -> T:
        try:
            return await coroutine_function()
        finally:
            # Close what asgiref's thread opened, or the test databases cannot be dropped.
            await sync_to_async(connections.close_all, thread_sensitive=True)()

    return asyncio.run(main())


# using=


def test_using_writes_to_that_database_only():
    KeyVal("test", using="other").set("k", 1)
    assert (stored_keys("other"), stored_keys("default")) == (["k"], [])


def test_using_reads_from_that_database_only(primary):
    primary.set("k", "on default")
    assert KeyVal("test", using="other").get("k", "missing") == "missing"


def test_using_reads_what_was_written_there():
    KeyVal("test", using="other").set("k", "on other")
    assert KeyVal("test", using="other").get("k") == "on other"


def test_every_operation_with_using_leaves_the_default_database_alone(
    django_assert_num_queries,
):
    kv = KeyVal("test", using="other")
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
    assert KeyVal("test", using="default").count() == 0


def test_using_takes_precedence_over_the_database_setting(settings):
    settings.KEYVAL = {"DATABASE": "other"}
    KeyVal("test", using="default").set("k", 1)
    assert (stored_keys("default"), stored_keys("other")) == (["k"], [])


def test_using_takes_precedence_over_the_routers(store_router):
    KeyVal("remote", using="default").set("k", 1)
    assert (stored_keys("default", "remote"), stored_keys("other", "remote")) == (["k"], [])


# KEYVAL["DATABASE"]


def test_database_setting_writes_to_that_database_only(settings):
    settings.KEYVAL = {"DATABASE": "other"}
    KeyVal("test").set("k", 1)
    assert (stored_keys("other"), stored_keys("default")) == (["k"], [])


def test_database_setting_reads_from_that_database_only(settings, primary):
    primary.set("k", "on default")
    settings.KEYVAL = {"DATABASE": "other"}
    assert KeyVal("test").get("k", "missing") == "missing"


def test_database_setting_takes_precedence_over_the_routers(settings, store_router):
    settings.KEYVAL = {"DATABASE": "other"}
    KeyVal("local").set("k", 1)
    assert (stored_keys("other", "local"), stored_keys("default", "local")) == (["k"], [])


def test_database_setting_applies_to_class_level_calls(settings):
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    settings.KEYVAL = {"DATABASE": "other"}
    assert KeyVal.stores() == ["on-other"]


# A router that places each store


def test_router_places_the_store_it_names_on_its_database(store_router):
    KeyVal("remote").set("k", 1)
    assert (stored_keys("other", "remote"), stored_keys("default", "remote")) == (["k"], [])


def test_router_places_other_stores_on_the_default_database(store_router):
    KeyVal("local").set("k", 1)
    assert (stored_keys("default", "local"), stored_keys("other", "local")) == (["k"], [])


def test_router_reads_the_store_from_its_database(store_router):
    KeyVal("remote", using="other").set("k", "on other")
    KeyVal("remote", using="default").set("k", "on default")
    assert KeyVal("remote").get("k") == "on other"


def test_routers_receive_the_store_name_as_a_hint(storeless_router):
    kv = KeyVal("test")
    kv.set("k", 1)
    kv.get("k")
    assert ROUTED == [("write", {"store": "test"}), ("read", {"store": "test"})]


# A router that reads from a lagging replica and writes to the primary


def test_get_reads_from_the_read_database(replica_router, primary, replica):
    primary.set("k", "fresh")
    replica.set("k", "stale")
    assert KeyVal("test").get("k") == "stale"


def test_exists_reads_from_the_read_database(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").exists("k") is False


def test_keys_read_from_the_read_database(replica_router, primary, replica):
    primary.set("fresh", 1)
    replica.set("stale", 1)
    assert KeyVal("test").keys() == ["stale"]


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


def test_set_writes_to_the_write_database(replica_router):
    KeyVal("test").set("k", 1)
    assert (stored_keys("default"), stored_keys("other")) == (["k"], [])


def test_set_returns_false_for_a_key_only_the_write_database_has(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").set("k", "newer") is False


def test_set_returns_true_for_a_key_only_the_read_database_has(replica_router, replica):
    replica.set("k", "stale")
    assert KeyVal("test").set("k", "new") is True


def test_pop_returns_the_write_databases_value(replica_router, primary, replica):
    primary.set("k", "fresh")
    replica.set("k", "stale")
    assert KeyVal("test").pop("k") == "fresh"


def test_pop_deletes_from_the_write_database_only(replica_router, primary, replica):
    primary.set("k", "fresh")
    replica.set("k", "stale")
    KeyVal("test").pop("k")
    assert (stored_keys("default"), stored_keys("other")) == ([], ["k"])


def test_pop_returns_the_write_databases_value_when_the_read_one_lacks_it(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").pop("k") == "fresh"


def test_pop_raises_keyerror_when_only_the_read_database_has_the_key(replica_router, replica):
    replica.set("k", "stale")
    with pytest.raises(KeyError):
        KeyVal("test").pop("k")


def test_pop_default_returns_the_write_databases_value(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").pop_default("k") == "fresh"


def test_incr_continues_from_the_write_databases_value(replica_router, primary, replica):
    primary.set("n", 10)
    replica.set("n", 3)
    assert KeyVal("test").incr("n") == 11


def test_incr_of_a_key_only_the_read_database_has_starts_from_zero(replica_router, replica):
    replica.set("n", 3)
    assert KeyVal("test").incr("n") == 1


def test_decr_continues_from_the_write_databases_value(replica_router, primary):
    primary.set("n", 10)
    assert KeyVal("test").decr("n") == 9


def test_modify_applies_to_the_write_databases_value(replica_router, primary, replica):
    primary.set("list", ["fresh"])
    replica.set("list", ["stale"])
    assert KeyVal("test").modify("list", lambda items: [*items, "more"]) == ["fresh", "more"]


def test_modify_raises_keyerror_when_only_the_read_database_has_the_key(replica_router, replica):
    replica.set("list", ["stale"])
    with pytest.raises(KeyError):
        KeyVal("test").modify("list", lambda items: [*items, "more"])


def test_add_returns_false_for_a_key_only_the_write_database_has(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").add("k", "new") is False


def test_add_returns_true_for_a_key_only_the_read_database_has(replica_router, replica):
    replica.set("k", "stale")
    assert KeyVal("test").add("k", "new") is True


def test_get_or_set_returns_the_write_databases_value(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").get_or_set("k", "default") == "fresh"


def test_get_or_set_stores_the_default_when_only_the_read_database_has_the_key(
    replica_router, replica
):
    replica.set("k", "stale")
    assert KeyVal("test").get_or_set("k", "default") == "default"


def test_get_or_set_writes_the_default_to_the_write_database(replica_router, primary):
    KeyVal("test").get_or_set("k", "default")
    assert primary.get("k") == "default"


def test_delete_reports_the_write_databases_key(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").delete("k") is True


def test_touch_reports_the_write_databases_key(replica_router, primary):
    primary.set("k", "fresh")
    assert KeyVal("test").touch("k", 60) is True


# Class-level calls


def test_flush_all_with_using_empties_that_database_only(primary, replica):
    primary.set("k", 1)
    replica.set("k", 1)
    KeyVal.flush_all(using="other")
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


def test_flush_all_with_using_through_an_instance_empties_that_database_only(primary, replica):
    primary.set("k", 1)
    replica.set("k", 1)
    KeyVal("anything").flush_all(using="other")
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


def test_class_level_calls_through_a_disconnected_instance_use_the_given_database():
    KeyVal("on-other", using="other").set("k", 1)
    kv = KeyVal("test")
    kv.disconnect()
    assert kv.stores(using="other") == ["on-other"]


def test_stores_with_using_lists_that_databases_stores():
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    assert KeyVal.stores(using="other") == ["on-other"]


def test_purge_expired_with_using_purges_that_database_only():
    add_expired("default", "test", "old-on-default")
    add_expired("other", "test", "old-on-other")
    assert KeyVal.purge_expired(using="other") == 1


def test_purge_expired_with_using_leaves_other_databases_alone():
    add_expired("default", "test", "old-on-default")
    add_expired("other", "test", "old-on-other")
    KeyVal.purge_expired(using="other")
    assert (stored_keys("default"), stored_keys("other")) == (["old-on-default"], [])


def test_flush_all_follows_the_routers_without_a_store_hint(storeless_router, primary, replica):
    primary.set("k", 1)
    replica.set("k", 1)
    KeyVal.flush_all()
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


def test_stores_follows_the_routers_without_a_store_hint(storeless_router):
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    assert KeyVal.stores() == ["on-other"]


def test_purge_expired_follows_the_routers_without_a_store_hint(storeless_router):
    add_expired("default", "test", "old-on-default")
    add_expired("other", "test", "old-on-other")
    KeyVal.purge_expired()
    assert (stored_keys("default"), stored_keys("other")) == (["old-on-default"], [])


def test_class_level_calls_give_the_routers_no_store_hint(storeless_router):
    KeyVal.flush_all()
    KeyVal.stores()
    KeyVal.purge_expired()
    assert ROUTED and all("store" not in hints for _, hints in ROUTED)


def test_stores_asks_where_to_read_while_flush_all_and_purge_expired_ask_where_to_write(
    storeless_router,
):
    KeyVal.flush_all()
    KeyVal.stores()
    KeyVal.purge_expired()
    assert [method for method, _ in ROUTED] == ["write", "read", "write"]


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_async_flush_all_with_using_empties_that_database_only(primary, replica):
    primary.set("k", 1)
    replica.set("k", 1)
    run_async(lambda: KeyVal.aflush_all(using="other"))
    assert (stored_keys("other"), stored_keys("default")) == ([], ["k"])


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_async_stores_with_using_lists_that_databases_stores():
    KeyVal("on-default", using="default").set("k", 1)
    KeyVal("on-other", using="other").set("k", 1)
    assert run_async(lambda: KeyVal.astores(using="other")) == ["on-other"]


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_async_purge_expired_with_using_purges_that_database_only():
    add_expired("default", "test", "old-on-default")
    add_expired("other", "test", "old-on-other")
    assert run_async(lambda: KeyVal.apurge_expired(using="other")) == 1
