"""Which database a store's reads and writes go to."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Model

from django_keyval.conf import get_config


@functools.cache
def entry_model() -> type[Model]:
    """Return the Entry model, looked up lazily so that importing the package stays cheap."""
    return apps.get_model("django_keyval", "Entry")


def _route(ask_routers: Callable[..., str], store: str | None, using: str | None) -> str:
    alias = using or get_config().database
    if alias:
        return alias
    if not router.routers:
        # What the routers would answer, without building their arguments on every call.
        return DEFAULT_DB_ALIAS
    hints: dict[str, Any] = {} if store is None else {"store": store}
    return ask_routers(entry_model(), **hints)


def db_for_read(store: str | None, using: str | None = None) -> str:
    """Return the alias to read ``store`` from: ``using``, KEYVAL['DATABASE'], or the routers."""
    return _route(router.db_for_read, store, using)


def db_for_write(store: str | None, using: str | None = None) -> str:
    """Return the alias to write ``store`` to: ``using``, KEYVAL['DATABASE'], or the routers."""
    return _route(router.db_for_write, store, using)
