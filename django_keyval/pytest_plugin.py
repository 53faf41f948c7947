"""The pytest plugin of django-keyval (registered through the ``pytest11`` entry point).

Fixture ``keyval_override``: ``keyval_override(MAINTENANCE_MODE=True)`` (or
``keyval_override("flags", beta=True)`` for a plain store) sets the values
until the end of the test, then restores what was there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def keyval_override() -> Iterator[Callable[..., None]]:
    """Set declared settings (or a store's keys) until the end of the test; the test needs
    database access (``db`` or ``@pytest.mark.django_db``)."""
    from django_keyval.testing import override_keyval

    active: list[override_keyval] = []

    def override(store: str | None = None, **values: Any) -> None:
        overriding = override_keyval(store, **values)
        overriding.enable()
        active.append(overriding)

    yield override
    for overriding in reversed(active):
        overriding.disable()
