"""Django's own cache tests (``BaseCacheTests``) on KeyValCache, with USE_TZ off and on.

The tests come from the installed Django's source distribution, downloaded when
the suite first runs (tests/upstream_django.py). Without a network they are
skipped, except under CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from django.conf import settings
from django.test import TestCase, override_settings

if settings.DJANGO_CACHE_TESTS_UNAVAILABLE is not None:
    reason = f"Django's cache tests are unavailable: {settings.DJANGO_CACHE_TESTS_UNAVAILABLE}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

upstream: Any = importlib.import_module("cache.tests")

CACHES = upstream.caches_setting_for_tests(
    BACKEND="django_keyval.cache.KeyValCache", LOCATION="django cache tests"
)


@override_settings(CACHES=CACHES, USE_TZ=False)
class KeyValCacheTests(upstream.BaseCacheTests, TestCase):  # type: ignore[misc]
    """Every test of BaseCacheTests, with these cull figures of our own."""

    def test_zero_cull(self) -> None:
        # The store is emptied once it holds more than MAX_ENTRIES, as Django's
        # database cache does (DBCacheTests pins 18 too); BaseCacheTests' 19 is
        # LocMemCache's, which empties itself on reaching MAX_ENTRIES.
        self._perform_cull_test("zero_cull", 50, 18)


@override_settings(USE_TZ=True)
class KeyValCacheWithTimeZoneTests(KeyValCacheTests):
    """The same with USE_TZ on."""
