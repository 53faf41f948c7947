"""Shared fixtures: a fresh store on the database chosen by KEYVAL_TEST_DB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from django_keyval import KeyVal, localcache


@pytest.fixture
def kv(db: None) -> KeyVal:
    """A handle on an empty store named "test"."""
    return KeyVal("test")


@pytest.fixture
def other_kv(db: None) -> KeyVal:
    """A handle on a second store, to show that stores do not see each other's keys."""
    return KeyVal("other")


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
