"""The async twins: one for each public method, with its signature, and what only async code does.

What each twin does is tested with its sync method: the tests marked ``twins``
(test_store.py, test_ttl.py, test_iteration.py, ...) run through both.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from django_keyval import KeyVal
from django_keyval.sql.base import KEYS_PAGE
from tests.twins import (
    ASYNC_CONTEXTS,
    ASYNC_ITERATORS,
    ASYNC_LEASES,
    NO_TWIN,
    TWINS,
    AsyncTwins,
    is_async,
    public_methods,
    through_twins,
    twin_names,
)

# One handle, to read the methods' signatures as bound (without self, or cls).
HANDLE = KeyVal("signatures")

# The contract, derived from the class: a public method added without a twin fails here.


@pytest.mark.parametrize("name", sorted(TWINS))
def test_each_public_method_has_an_async_twin(name):
    twin = getattr(KeyVal, TWINS[name], None)
    assert twin is not None, f"KeyVal.{name}() has no async twin {TWINS[name]}()"
    if name in ASYNC_ITERATORS:
        assert inspect.isasyncgenfunction(twin)
    elif name in ASYNC_CONTEXTS:
        assert inspect.isasyncgenfunction(twin.__wrapped__)  # an @asynccontextmanager
    elif name in ASYNC_LEASES:
        assert not is_async(twin)  # returns the lease, whose methods are async
    else:
        assert inspect.iscoroutinefunction(twin)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_each_twin_has_the_signature_of_its_sync_method(name):
    sync = inspect.signature(getattr(HANDLE, name))
    twin = inspect.signature(getattr(HANDLE, TWINS[name]))
    assert list(twin.parameters.values()) == list(sync.parameters.values())
    if name in ASYNC_ITERATORS | ASYNC_CONTEXTS:
        assert twin.return_annotation == f"Async{sync.return_annotation}"
    else:
        assert twin.return_annotation == sync.return_annotation


@pytest.mark.parametrize("name", sorted(TWINS))
def test_each_twin_is_a_class_method_where_its_sync_method_is(name):
    def kind(attribute: str) -> type[Any]:
        return type(inspect.getattr_static(KeyVal, attribute))

    assert kind(TWINS[name]) is kind(name)


def test_every_async_method_is_the_twin_of_a_public_method():
    async_methods = {name for name, method in public_methods().items() if is_async(method)}
    assert async_methods == {TWINS[name] for name in TWINS if name not in ASYNC_LEASES}


def test_the_methods_without_a_twin_are_public_methods():
    assert set(NO_TWIN) <= set(public_methods())
    assert set(ASYNC_ITERATORS | ASYNC_CONTEXTS | ASYNC_LEASES) <= set(TWINS)


class Grown(KeyVal):
    """KeyVal with a public method added, and no twin for it."""

    def frobnicate(self, key: str) -> None:
        pass


def test_a_public_method_added_without_a_twin_is_found():
    assert twin_names(Grown)["frobnicate"] == "afrobnicate"
    assert not hasattr(Grown, "afrobnicate")


# The stand-in that runs the twins from sync tests


class Spied(KeyVal):
    async def aget(self, key: str, default: Any = None) -> Any:
        return ("aget", key)


def test_the_stand_in_calls_the_twin():
    assert through_twins(Spied("test")).get("a") == ("aget", "a")


def test_the_stand_in_has_no_method_without_a_twin():
    with pytest.raises(AttributeError, match="frobnicate"):
        AsyncTwins(Grown("test")).frobnicate("a")


def test_the_stand_in_runs_the_twins_on_the_tests_connection(kv, django_assert_num_queries):
    # Rows written in the test's transaction, not yet committed: another
    # connection would not see them.
    kv.set("a", 1)
    twins = through_twins(kv)
    with django_assert_num_queries(2):
        assert twins.get("a") == 1
        assert twins.set("b", 2) is True
    assert kv.get("b") == 2


# From a running event loop, the twins run their queries in asgiref's
# thread, on a connection of its own: these tests commit for real.


@pytest.fixture
def _close_thread_connections() -> Iterator[None]:
    yield
    # Close the connections asgiref's thread opened, or the test database
    # cannot be dropped at the end of the run.
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


in_an_event_loop = pytest.mark.usefixtures("transactional_db", "_close_thread_connections")


@in_an_event_loop
def test_twins_run_in_an_event_loop():
    kv = KeyVal("test")

    async def scenario() -> tuple[Any, ...]:
        created = await kv.aset("a", {"x": 1})
        overwritten = await kv.aset("a", {"x": 2})
        value = await kv.aget("a")
        default = await kv.aget("missing", "d")
        popped = await kv.apop("a")
        return created, overwritten, value, default, popped, await kv.aexists("a")

    assert asyncio.run(scenario()) == (True, False, {"x": 2}, "d", {"x": 2}, False)


@in_an_event_loop
def test_twins_gathered_on_one_event_loop_each_count_once():
    kv = KeyVal("test")

    async def scenario() -> list[int]:
        return await asyncio.gather(*(kv.aincr("n") for _ in range(20)))

    assert sorted(asyncio.run(scenario())) == list(range(1, 21))
    assert kv.get("n") == 20


@in_an_event_loop
def test_aiter_keys_reads_a_page_at_a_time_and_sees_keys_deleted_while_iterating():
    kv = KeyVal("test")
    keys = [f"key-{i:06d}" for i in range(2 * KEYS_PAGE + 345)]
    kv.set_many(dict.fromkeys(keys, 0))
    doomed = keys[KEYS_PAGE + 100 : KEYS_PAGE + 200]

    async def scenario() -> list[str]:
        seen: list[str] = []
        async for key in kv.aiter_keys():
            if not seen:
                await kv.adelete_many(doomed)
            seen.append(key)
        return seen

    assert asyncio.run(scenario()) == [key for key in keys if key not in doomed]
