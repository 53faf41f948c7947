"""django-ratelimit on KeyValCache: its system check, and a limit shared by processes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.core.cache import caches
from django.core.checks.registry import registry
from django.test import RequestFactory
from django_ratelimit.checks import check_caches
from django_ratelimit.core import is_ratelimited

from django_keyval import KeyVal
from tests.processes import line_up, run_in_processes

# Importing django_ratelimit.checks registers its check with Django for the rest of the
# session, where it would fail every other test's ``manage.py check`` (the test settings'
# cache is LocMemCache): the test below calls it itself.
registry.registered_checks.discard(check_caches)

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 8
ATTEMPTS = 10  # by each process
LIMIT = 25


@pytest.fixture
def keyval_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django_keyval.cache.KeyValCache", "LOCATION": "ratelimit"}
    }


def test_check_only_warns_that_the_backend_is_not_on_its_list(keyval_cache):
    # Its check knows backends by path: anything not on its list gets W001, which
    # SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] silences (see the README).
    found = check_caches(None)
    assert [(message.level, message.id) for message in found] == [
        (checks.WARNING, "django_ratelimit.W001")
    ]


def test_a_limit_lets_exactly_its_number_through_across_processes(keyval_cache):
    def worker(me: int, barrier: Any) -> int:
        request = RequestFactory().get("/")
        line_up(barrier)
        return sum(
            not is_ratelimited(
                request,
                group="api",
                key=lambda group, request: "shared",
                rate=f"{LIMIT}/d",
                increment=True,
            )
            for _ in range(ATTEMPTS)
        )

    allowed = run_in_processes([worker] * PROCESSES)
    assert sum(allowed) == LIMIT
    assert KeyVal("ratelimit").count() == 1
    caches["default"].clear()
