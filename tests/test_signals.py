"""value_changed and value_deleted: sent once the write commits, with what each operation knows."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction

from django_keyval import KeyVal
from django_keyval.signals import (
    MISSING,
    UNKNOWN,
    change_source,
    current_origin,
    value_changed,
    value_deleted,
)
from django_keyval.transfer import export_lines, header_line, import_lines
from tests.helpers import expire

# Real commits: pytest-django's usual transaction never commits, so it runs no
# on_commit callback. Each test runs through the sync methods and the async twins.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.twins]


class Received(list[dict[str, Any]]):
    """The signals received, as dicts of their keyword arguments plus ``signal``."""

    def of(self, signal: str) -> list[dict[str, Any]]:
        return [sent for sent in self if sent["signal"] == signal]

    def brief(self) -> list[tuple[Any, ...]]:
        """(signal, store, key, old_value, new_value) of each, in order."""
        return [
            (sent["signal"], sent["store"], sent["key"], sent["old_value"], sent.get("new_value"))
            for sent in self
        ]


@pytest.fixture
def received() -> Iterator[Received]:
    found = Received()

    def on_changed(sender: Any, **kwargs: Any) -> None:
        assert sender is KeyVal
        found.append({**kwargs, "signal": "changed"})

    def on_deleted(sender: Any, **kwargs: Any) -> None:
        assert sender is KeyVal
        found.append({**kwargs, "signal": "deleted"})

    value_changed.connect(on_changed)
    value_deleted.connect(on_deleted)
    yield found
    value_changed.disconnect(on_changed)
    value_deleted.disconnect(on_deleted)


def fail() -> None:
    raise ZeroDivisionError


@pytest.fixture
def old_values(settings: Any) -> None:
    """The "test" store reads the old value of every write for the signals."""
    settings.KEYVAL = {"STORES": {"test": {"SIGNAL_OLD_VALUES": True}}}


# What each operation sends


def test_set_of_a_new_key_knows_it_was_missing(kv, received):
    kv.set("a", 1)
    (sent,) = received
    assert sent == {
        "signal": "changed",
        "store": "test",
        "key": "a",
        "old_value": MISSING,
        "new_value": 1,
        "source": "api",
        "user": None,
        "using": "default",
    }


def test_set_over_a_key_does_not_read_the_old_value_unless_the_store_asks(kv, received):
    kv.set("a", 1)
    kv.set("a", 2)
    assert received.brief()[1] == ("changed", "test", "a", UNKNOWN, 2)


def test_set_with_old_values_reads_the_value_it_replaces(kv, received, old_values):
    kv.set("a", [1])
    kv.set("a", [2])
    expire("test", "a")
    kv.set("a", [3])
    assert [sent["old_value"] for sent in received] == [MISSING, [1], MISSING]


def test_add_signals_only_when_it_adds(kv, received):
    assert kv.add("a", 1) is True
    assert kv.add("a", 2) is False
    assert received.brief() == [("changed", "test", "a", MISSING, 1)]


def test_get_or_set_signals_only_when_it_sets(kv, received):
    assert kv.get_or_set("a", 1) == 1
    assert kv.get_or_set("a", 2) == 1
    assert received.brief() == [("changed", "test", "a", MISSING, 1)]


def test_incr_decr_and_modify_know_the_old_value(kv, received):
    kv.incr("n")
    kv.incr("n", 5)
    kv.decr("n")
    kv.modify("n", lambda n: n * 10)
    assert [(sent["old_value"], sent["new_value"]) for sent in received] == [
        (MISSING, 1),
        (1, 6),
        (6, 5),
        (5, 50),
    ]


def test_modify_gives_the_old_value_as_it_was_before_func_changed_it(kv, received):
    kv.set("list", [1])

    def append(items: list[int]) -> list[int]:
        items.append(2)
        return items

    kv.modify("list", append)
    assert received.brief()[1] == ("changed", "test", "list", [1], [1, 2])


def test_a_failed_modify_sends_nothing(kv, received):
    kv.set("a", "text")
    received.clear()
    with pytest.raises(TypeError):
        kv.incr("a")
    assert received == []


def test_touch_and_reads_send_nothing(kv, received):
    kv.set("a", 1)
    received.clear()
    kv.touch("a", 60)
    kv.get("a")
    kv.get_many(["a"])
    assert received == []


def test_pop_gives_the_value_it_deleted(kv, received):
    kv.set("a", {"x": 1})
    received.clear()
    assert kv.pop("a") == {"x": 1}
    assert kv.pop("a", None) is None
    assert received.brief() == [("deleted", "test", "a", {"x": 1}, None)]
    assert "new_value" not in received[0]


def test_delete_signals_only_a_deleted_key(kv, received):
    kv.set("a", 1)
    received.clear()
    kv.delete("a")
    kv.delete("a", ignore_keyerror=True)
    assert received.brief() == [("deleted", "test", "a", UNKNOWN, None)]


def test_delete_with_old_values(kv, received, old_values):
    kv.set("a", 1)
    kv.delete("a")
    assert received.brief()[1] == ("deleted", "test", "a", 1, None)


def test_set_many_signals_each_key(kv, received, old_values):
    kv.set("a", 1)
    received.clear()
    kv.set_many({"a": 2, "b": 3})
    assert sorted(received.brief()) == [
        ("changed", "test", "a", 1, 2),
        ("changed", "test", "b", MISSING, 3),
    ]


def test_set_many_without_old_values(kv, received):
    kv.set_many({"a": 2, "b": 3})
    assert [sent["old_value"] for sent in received] == [UNKNOWN, UNKNOWN]


def test_delete_many_signals_each_key_it_deleted(kv, received):
    kv.set_many({"a": 1, "b": 2, "gone": 3})
    expire("test", "gone")
    received.clear()
    assert kv.delete_many(["a", "b", "gone", "never"]) == 2
    assert sorted(received.brief()) == [
        ("deleted", "test", "a", UNKNOWN, None),
        ("deleted", "test", "b", UNKNOWN, None),
    ]


def test_delete_many_with_old_values(kv, received, old_values):
    kv.set_many({"a": 1, "b": 2})
    received.clear()
    kv.delete_many(["a", "b", "never"])
    assert sorted(received.brief()) == [
        ("deleted", "test", "a", 1, None),
        ("deleted", "test", "b", 2, None),
    ]


def test_delete_prefix_and_flush_signal_once_per_call(kv, received):
    kv.set_many({"a:1": 1, "a:2": 2, "b": 3})
    received.clear()
    kv.delete_prefix("a:")
    kv.delete_prefix("nothing")
    kv.flush()
    assert [(sent["store"], sent["key"], sent["prefix"]) for sent in received] == [
        ("test", None, "a:"),
        ("test", None, ""),
    ]
    assert {sent["old_value"] for sent in received} == {UNKNOWN}


def test_flush_all_signals_once_with_no_store(api, db, received):
    KeyVal("test").set("a", 1)
    received.clear()
    api(KeyVal).flush_all()
    (sent,) = received
    assert (sent["signal"], sent["store"], sent["key"], sent["prefix"]) == (
        "deleted",
        None,
        None,
        "",
    )


def test_purge_expired_sends_nothing(api, db, received):
    KeyVal("test").set("a", 1)
    expire("test", "a")
    received.clear()
    assert api(KeyVal).purge_expired() == 1
    assert received == []


# After the commit only


def test_nothing_is_sent_before_the_commit(kv, received):
    with transaction.atomic():
        kv.set("a", 1)
        kv.delete("a")
        assert received == []
    assert [sent["signal"] for sent in received] == ["changed", "deleted"]


def test_nothing_is_sent_for_a_rolled_back_write(kv, received):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        kv.set("a", 1)
        kv.set_many({"b": 2})
        fail()
    assert received == []
    assert kv.get("a", None) is None


def test_a_rolled_back_savepoint_drops_its_signals_only(kv, received):
    with transaction.atomic():
        kv.set("kept", 1)
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            kv.set("dropped", 2)
            fail()
    assert [sent["key"] for sent in received] == ["kept"]


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_the_signal_names_the_database_written(api, received):
    api(KeyVal("test", using="other")).set("a", 1)
    assert received[0]["using"] == "other"


# Source and user


def test_change_source_sets_the_source_and_user_of_the_writes_inside(kv, received):
    user = User(pk=7, username="ada")
    with change_source("admin", user):
        kv.set("a", 1)
        with change_source("import"):
            kv.set("b", 2)
    kv.set("c", 3)
    assert [(sent["key"], sent["source"], sent["user"]) for sent in received] == [
        ("a", "admin", user),
        ("b", "import", user),
        ("c", "api", None),
    ]


def test_the_source_is_taken_at_the_write_not_at_the_commit(kv, received):
    with transaction.atomic(), change_source("command"):
        kv.set("a", 1)
    assert received[0]["source"] == "command"


@pytest.mark.sync_only
def test_change_source_refuses_an_unknown_source():
    with pytest.raises(ValueError, match="'api', 'admin', 'command', 'import'"):
        change_source("cron").__enter__()
    assert current_origin().source == "api"


@pytest.mark.sync_only
def test_change_source_holds_in_async_code(db, received):
    from asgiref.sync import async_to_sync

    async def write() -> None:
        with change_source("command"):
            await KeyVal("test").aset("a", 1)

    async_to_sync(write)()
    assert received[0]["source"] == "command"


@pytest.mark.sync_only
def test_the_command_writes_as_command_and_imports_as_import(db, received):
    call_command("keyval", "set", "test", "a", "1")
    (sent,) = received
    assert (sent["source"], sent["new_value"]) == ("command", "1")
    received.clear()
    KeyVal("test").set("b", 2)
    received.clear()
    lines = [header_line(), *(line for line, _ in export_lines(["test"]))]
    import_lines(line.encode() for line in lines)
    assert sorted((sent["key"], sent["source"], sent["new_value"]) for sent in received) == [
        ("a", "import", "1"),
        ("b", "import", 2),
    ]
    received.clear()
    call_command("keyval", "del", "test", "a", stdout=io.StringIO())
    assert received.brief() == [("deleted", "test", "a", UNKNOWN, None)]
    assert received[0]["source"] == "command"
