"""Writes join the caller's transaction, and a failed call leaves it usable."""

from __future__ import annotations

import pytest
from django.db import transaction

from django_keyval import KeyVal
from django_keyval.exceptions import InvalidKey, SerializationError

# Each test runs through the sync methods, then through their async twins: run from
# sync code (async_to_sync), a twin works on the caller's connection, in its transaction.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.twins]


class Rollback(Exception):
    pass


@pytest.mark.parametrize(
    "write",
    [
        lambda kv: kv.set("a", 2),
        lambda kv: kv.set("new", 1),
        lambda kv: kv.add("new", 1),
        lambda kv: kv.delete("a"),
        lambda kv: kv.pop("a"),
        lambda kv: kv.flush(),
        lambda kv: kv.incr("n"),
        lambda kv: kv.modify("a", lambda old: old + 1),
        lambda kv: kv.set_many({"a": 5, "new": 6}),
        lambda kv: kv.delete_many(["a", "n"]),
        lambda kv: kv.delete_prefix(""),
        lambda kv: kv.touch("a", 10),
        lambda kv: kv.get_or_set("new", 1),
        lambda kv: kv.flush_all(),
    ],
)
def test_writes_roll_back_with_the_callers_transaction(write, api):
    kv = api(KeyVal("test"))
    kv.set_many({"a": 1, "n": 10})
    with pytest.raises(Rollback), transaction.atomic():
        write(kv)
        raise Rollback
    assert dict(kv.items()) == {"a": 1, "n": 10}
    assert kv.ttl("a") is None


def test_writes_commit_with_the_callers_transaction(api):
    kv = api(KeyVal("test"))
    with transaction.atomic():
        kv.set("a", 1)
        kv.incr("n")
    assert kv.get_many(["a", "n"]) == {"a": 1, "n": 1}


@pytest.mark.parametrize(
    ("failing_call", "error"),
    [
        (lambda kv: kv.get("missing"), KeyError),
        (lambda kv: kv.pop("missing"), KeyError),
        (lambda kv: kv.delete("missing"), KeyError),
        (lambda kv: kv.modify("missing", lambda old: old), KeyError),
        (lambda kv: kv.incr("text"), TypeError),
        (lambda kv: kv.modify("a", lambda old: 1 / 0), ZeroDivisionError),
        (lambda kv: kv.set("a", lambda: None), SerializationError),
        (lambda kv: kv.set_many({"b": 1, "c": lambda: None}), SerializationError),
        (lambda kv: kv.set("\x00", 1), InvalidKey),
        (lambda kv: kv.ttl("missing"), KeyError),
    ],
)
def test_a_failed_call_leaves_the_callers_transaction_usable(failing_call, error, api):
    kv = api(KeyVal("test"))
    kv.set_many({"a": 1, "text": "x"})
    with transaction.atomic():
        kv.set("before", 1)
        with pytest.raises(error):
            failing_call(kv)
        kv.set("after", 2)
        assert kv.incr("a") == 2
    assert kv.get_many(["a", "before", "after", "b"]) == {"a": 2, "before": 1, "after": 2}


def test_a_lost_add_race_leaves_the_callers_transaction_usable(api):
    kv = api(KeyVal("test"))
    kv.set("a", 1)
    with transaction.atomic():
        assert kv.add("a", 2) is False
        assert kv.get_or_set("a", 3) == 1
        kv.set("b", 1)
    assert kv.get_many(["a", "b"]) == {"a": 1, "b": 1}
