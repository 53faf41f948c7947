"""Shared fixtures: a fresh store on the database chosen by KEYVAL_TEST_DB.

Tests marked ``twins`` (a module's ``pytestmark`` or one test) run twice when
they use ``kv``, ``other_kv`` or ``api``: through KeyVal's sync methods
(id ``sync``), then through their async twins (id ``async``). ``sync_only``
takes one test of such a module out of the second run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar

import pytest
from django.db import connection

from django_keyval import KeyVal, localcache
from tests.twins import same, single_loop_thread, through_twins

T = TypeVar("T")


class Api(Protocol):
    def __call__(self, target: T, /) -> T: ...


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    test = metafunc.definition
    if (
        "api" in metafunc.fixturenames
        and test.get_closest_marker("twins")
        and not test.get_closest_marker("sync_only")
    ):
        metafunc.parametrize("api", ["sync", "async"], indirect=True)


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """How the test calls the store: ``api(kv)`` (or ``api(KeyVal)``) is ``kv`` itself, or
    in the async run of a test marked ``twins``, a stand-in calling its async twins."""
    if getattr(request, "param", "sync") == "sync":
        yield same
        return
    with single_loop_thread():
        yield through_twins


@pytest.fixture
def kv(db: None, api: Api) -> KeyVal:
    """A handle on an empty store named "test"."""
    return api(KeyVal("test"))


@pytest.fixture
def other_kv(db: None, api: Api) -> KeyVal:
    """A handle on a second store, to show that stores do not see each other's keys."""
    return api(KeyVal("other"))


@pytest.fixture
def vendor(db: None) -> str:
    """The vendor of the default database: "sqlite", "postgresql" or "mysql"."""
    return connection.vendor


@pytest.fixture(autouse=True)
def _fresh_local_caches() -> Iterator[None]:
    """Start and end each test with no local copy of any store (see localcache.clear())."""
    localcache.clear()
    yield
    localcache.clear()
