"""The state of a KeyVal handle and the helpers every operation shares."""

from __future__ import annotations

from django_keyval.codec import StoreCodec
from django_keyval.conf import get_config
from django_keyval.exceptions import StoreDisconnected
from django_keyval.keys import validate_key
from django_keyval.serializers import get_serializer
from django_keyval.sql.cursors import cursor_for
from django_keyval.ttl import DEFAULT_TTL, TTL, expiry, ttl_seconds


class Handle:
    """A handle on the store ``name``: its options, and whether it is still connected."""

    def __init__(
        self,
        name: str,
        *,
        using: str | None = None,
        ttl: TTL = DEFAULT_TTL,
        serializer: str | None = None,
    ) -> None:
        self._name = validate_key(name, "store name")
        if using is not None and not isinstance(using, str):
            raise TypeError(f"using must be a database alias (a str), not {using!r}")
        self._using = using
        self._default_ttl = ttl if ttl is DEFAULT_TTL else ttl_seconds(ttl)
        if serializer is not None:
            get_serializer(serializer)
        self._serializer = serializer
        # How this store's values are written and read (codec.py).
        self._codec = StoreCodec(self._name, serializer)
        self._connected = True

    def disconnect(self, name: str | None = None) -> None:
        """Close this handle: every store operation on it raises StoreDisconnected afterwards.

        ``name``, if given, must be this handle's store name (``ValueError`` otherwise).
        """
        store = self._store()
        if name is not None and name != store:
            raise ValueError(f"this handle is on store {store!r}, not {name!r}")
        self._connected = False

    @property
    def name(self) -> str:
        """The store's name."""
        return self._name

    def __repr__(self) -> str:
        state = "" if self._connected else " (disconnected)"
        return f"<KeyVal {self._name!r}{state}>"

    # Internals

    def _store(self) -> str:
        if not self._connected:
            raise StoreDisconnected(f"the handle on store {self._name!r} is disconnected")
        return self._name

    def _key(self, key: object) -> tuple[str, str]:
        return self._store(), validate_key(key)

    # ``with self._cursor(alias) as (ops, cursor)``: the statements and a cursor for the
    # database ``alias``, kept open on its connection from call to call (sql/cursors.py).
    _cursor = staticmethod(cursor_for)

    def _ttl_seconds(self, ttl: TTL) -> float | None:
        """Return ``ttl`` in seconds, the store's default for DEFAULT_TTL; None for never."""
        if ttl is not DEFAULT_TTL:
            return ttl_seconds(ttl)
        if self._default_ttl is not DEFAULT_TTL:
            return self._default_ttl
        return get_config().default_ttl

    def _expiry(self, ttl: TTL, now: float) -> float | None:
        return expiry(self._ttl_seconds(ttl), now)
