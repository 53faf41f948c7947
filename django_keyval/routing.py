"""Which database a store's reads and writes go to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, router

from django_keyval.conf import get_config
from django_keyval.sql import entry_model


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


def every_database(using: str | None = None, *, reading: bool = False) -> list[str]:
    """Return the aliases that the calls on every store (``stores()``, ``flush_all()``,
    ``purge_expired()``) cover.

    ``using`` or KEYVAL['DATABASE'] if set; else the aliases of
    KEYVAL['DATABASES'] (stores spread over several databases by the routers);
    else the one database the routers give the model without a store hint, to
    read from when ``reading``, else to write to.
    """
    spread = spread_databases()
    if using or not spread:
        return [(db_for_read if reading else db_for_write)(None, using)]
    return spread


def spread_databases() -> list[str]:
    """Return the aliases of KEYVAL['DATABASES'], the databases stores are spread over;
    none when KEYVAL['DATABASE'] sends every store to one database."""
    config = get_config()
    return [] if config.database else list(config.databases)


def db_for_locks(store: str, using: str | None = None) -> str:
    """Return the alias that keeps the locks of ``store``: KEYVAL['LOCK_DATABASE'], else
    where the store's writes go (see db_for_write())."""
    return get_config().lock_database or db_for_write(store, using)
