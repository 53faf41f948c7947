"""The async twins behave as their sync twins (they wrap them)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from django_keyval import KeyVal

# The twins run their queries in asgiref's thread, on a connection of its own,
# so the tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

ASYNC_TWINS = [
    "aget", "aset", "aget_default", "apop", "apop_default", "aexists", "adelete", "aflush",
    "aadd", "aget_or_set", "aincr", "adecr", "amodify", "atouch", "attl", "aget_many",
    "aset_many", "adelete_many", "adelete_prefix", "akeys", "acount", "aflush_all",
    "astores", "apurge_expired", "aiter_keys", "aitems",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _close_thread_connections() -> Iterator[None]:
    yield
    # Close the connections asgiref's thread opened, or the test database
    # cannot be dropped at the end of the run.
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


def run(coroutine_function: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coroutine_function())


@pytest.mark.parametrize("name", ASYNC_TWINS)
def test_each_twin_has_the_signature_of_its_sync_twin(name):
    twin = getattr(KeyVal, name)
    sync = getattr(KeyVal, name[1:])
    assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin)
    twin_parameters = list(inspect.signature(twin).parameters.values())[1:]
    sync_parameters = list(inspect.signature(sync).parameters.values())[1:]
    assert twin_parameters == sync_parameters


def test_async_set_get_and_pop():
    kv = KeyVal("test")

    async def scenario() -> tuple[Any, ...]:
        created = await kv.aset("a", {"x": 1})
        overwritten = await kv.aset("a", {"x": 2})
        value = await kv.aget("a")
        default = await kv.aget("missing", "d")
        popped = await kv.apop("a")
        return created, overwritten, value, default, popped, await kv.aexists("a")

    assert run(scenario) == (True, False, {"x": 2}, "d", {"x": 2}, False)


def test_async_get_of_a_missing_key_raises_keyerror():
    kv = KeyVal("test")
    with pytest.raises(KeyError):
        run(lambda: kv.aget("missing"))


def test_async_counters_and_modify():
    kv = KeyVal("test")

    async def scenario() -> tuple[Any, ...]:
        return (
            await kv.aincr("n", 5),
            await kv.adecr("n", 2),
            await kv.amodify("l", lambda old: [*old, 1], []),
            await kv.aadd("n", 0),
            await kv.aget_or_set("g", lambda: "made"),
        )

    assert run(scenario) == (5, 3, [1], False, "made")


def test_async_bulk_operations():
    kv = KeyVal("test")

    async def scenario() -> tuple[Any, ...]:
        await kv.aset_many({"a": 1, "b": 2, "c": 3})
        many = await kv.aget_many(["a", "b", "x"])
        keys = await kv.akeys()
        count = await kv.acount()
        deleted = await kv.adelete_many(["a"])
        by_prefix = await kv.adelete_prefix("b")
        return many, keys, count, deleted, by_prefix, await kv.akeys()

    assert run(scenario) == ({"a": 1, "b": 2}, ["a", "b", "c"], 3, 1, 1, ["c"])


def test_async_ttl_and_touch():
    kv = KeyVal("test")

    async def scenario() -> tuple[Any, ...]:
        await kv.aset("a", 1)
        before = await kv.attl("a")
        touched = await kv.atouch("a", 100)
        return before, touched, await kv.attl("a")

    before, touched, after = run(scenario)
    assert before is None
    assert touched is True
    assert 99 < after <= 100


def test_async_class_level_calls():
    kv = KeyVal("test")
    kv.set("a", 1)

    async def scenario() -> tuple[Any, ...]:
        stores = await KeyVal.astores()
        purged = await KeyVal.apurge_expired(batch_size=10)
        await kv.aflush_all()
        return stores, purged, await KeyVal.astores()

    assert run(scenario) == (["test"], 0, [])


def test_async_iteration_streams_every_key_in_order():
    kv = KeyVal("test")
    keys = [f"k{i:05}" for i in range(2100)]
    kv.set_many(dict.fromkeys(keys, 0))

    async def scenario() -> tuple[list[str], list[tuple[str, Any]]]:
        seen = [key async for key in kv.aiter_keys()]
        items = [item async for item in kv.aitems("k000")]
        return seen, items

    seen, items = run(scenario)
    assert seen == keys
    assert items == [(key, 0) for key in keys[:100]]


def test_async_flush_and_delete():
    kv = KeyVal("test")
    kv.set_many({"a": 1, "b": 2})

    async def scenario() -> tuple[Any, ...]:
        deleted = await kv.adelete("a")
        missing = await kv.adelete("a", ignore_keyerror=True)
        default = await kv.apop_default("a", 7)
        fallback = await kv.aget_default("a")
        await kv.aflush()
        return deleted, missing, default, fallback, await kv.acount()

    assert run(scenario) == (True, False, 7, None, 0)
