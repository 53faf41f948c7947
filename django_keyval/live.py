"""``django_keyval.config``: the declared live settings (KEYVAL["SETTINGS"]) as attributes.

A read returns the stored value, or the declared default when the setting was
never saved (nothing is written). The settings store reads through its local
cache (on by default), so repeated reads in a request cost no query, misses
included. Every value is written with the signed pickle serializer whatever
KEYVAL["SERIALIZER"] says, so Decimal, timedelta, date and time values come
back exactly as they were stored.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from django_keyval.conf import get_config
from django_keyval.declared import Declared, is_of_type
from django_keyval.store import KeyVal

# The serializer of the settings store: it keeps every declared type exact.
SETTINGS_SERIALIZER = "pickle"
# What a read of a setting that was never saved gets from the store.
UNSET: Any = object()


def declared_settings() -> dict[str, Declared]:
    """Return the declared settings by name (KEYVAL["SETTINGS"])."""
    return get_config().settings


def settings_store() -> KeyVal:
    """Return a handle on the store that holds the declared settings (its values never
    expire, whatever KEYVAL["DEFAULT_TTL"] says)."""
    return KeyVal(get_config().settings_store, ttl=None, serializer=SETTINGS_SERIALIZER)


def declaration(name: str) -> Declared:
    """Return the declaration of ``name``; AttributeError naming it if it is not declared."""
    found = get_config().settings.get(name)
    if found is None:
        raise AttributeError(f"{name!r} is not a declared setting (KEYVAL['SETTINGS'])")
    return found


def stored_or_default(declared: Declared, stored: Any) -> Any:
    """Return ``stored`` (a value read, or UNSET) as the setting reads: the default when
    it is missing or no longer of the declared type."""
    if stored is UNSET or not is_of_type(stored, declared.type):
        return declared.default
    return stored


class LiveSettings:
    """The declared settings: ``config.NAME`` reads, ``config.NAME = value`` writes.

    Reads never write; an undeclared name raises AttributeError; a value of the
    wrong type raises TypeError (a validator's refusal, ValidationError) before
    anything is written.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delattr__(self, name: str) -> None:
        self.reset(name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *declared_settings()})

    def __repr__(self) -> str:
        return f"<LiveSettings {', '.join(declared_settings()) or '(none declared)'}>"

    def get(self, name: str) -> Any:
        """Return the value of the setting ``name``: stored, or its default."""
        declared = declaration(name)
        return stored_or_default(declared, settings_store().get(name, UNSET))

    def set(self, name: str, value: Any) -> None:
        """Check ``value`` against the declaration of ``name``, then store it."""
        declaration(name).check(value)
        settings_store().set(name, value, ttl=None)

    def reset(self, name: str) -> bool:
        """Delete the stored value of ``name``, so that it reads as its default again;
        return whether one was stored."""
        declaration(name)
        return settings_store().delete(name, ignore_keyerror=True)

    def is_changed(self, name: str) -> bool:
        """Return whether ``name`` reads as something other than its default."""
        return bool(self.get(name) != declaration(name).default)

    def values(self) -> dict[str, Any]:
        """Return every declared setting's value, read in one query (none from a valid
        local copy)."""
        declared = declared_settings()
        stored = settings_store().get_many(list(declared))
        return {
            name: stored_or_default(setting, stored.get(name, UNSET))
            for name, setting in declared.items()
        }

    def declared(self) -> dict[str, Declared]:
        """Return the declarations, by name, in the order of KEYVAL['SETTINGS']."""
        return dict(declared_settings())

    async def aget(self, name: str) -> Any:
        """Async version of :meth:`get`."""
        return await sync_to_async(self.get, thread_sensitive=True)(name)

    async def aset(self, name: str, value: Any) -> None:
        """Async version of :meth:`set`."""
        await sync_to_async(self.set, thread_sensitive=True)(name, value)

    async def areset(self, name: str) -> bool:
        """Async version of :meth:`reset`."""
        return await sync_to_async(self.reset, thread_sensitive=True)(name)


config = LiveSettings()
