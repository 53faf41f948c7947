"""Values to stored rows and back: which serializer writes, the signature, which rows to trust.

``StoreCodec`` is the one policy every writer and reader of values uses: the
facade, the admin's form and export/import.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from django_keyval import signing
from django_keyval.conf import get_config
from django_keyval.exceptions import CorruptValue, SerializationError
from django_keyval.serializers import Serializer, get_serializer
from django_keyval.sql.rows import Encoded

# decode(key, payload, serializer, mac) for the values of one store.
Decoder = Callable[[str, bytes, str, "bytes | None"], Any]

# The built-in serializers whose loads() cannot run code: a store declared with
# SIGN_VALUES False (KEYVAL["STORES"]) stores their values unsigned.
CODE_FREE = frozenset({"json", "bytes"})


class StoreCodec:
    """How the values of one store are written and read.

    ``serializer`` is the serializer a handle chose for its writes; None means
    ``KEYVAL['SERIALIZER']``. Settings are read on each call (they are cached
    by ``get_config()``), so ``override_settings`` takes effect at once.
    """

    __slots__ = ("serializer", "store")

    def __init__(self, store: str, serializer: str | None = None) -> None:
        self.store = store
        self.serializer = serializer

    def write_serializer(self) -> str:
        """Return the name of the serializer new writes use."""
        return self.serializer or get_config().serializer

    def encode(self, key: str, value: Any) -> Encoded:
        """Serialize ``value`` for ``key`` with write_serializer(), signed when
        ``KEYVAL['SIGN_VALUES']`` is on, unless the store's own SIGN_VALUES is False
        and the serializer cannot run code. Raise ``SerializationError`` if it is refused."""
        config = get_config()
        serializer = self.serializer or config.serializer
        sign = config.sign_values and not (
            self.store in config.unsigned and serializer in CODE_FREE
        )
        return encode(value, self.store, key, serializer, sign)

    def trusted_unsigned(self) -> Collection[str]:
        """Return the serializers whose unsigned rows may be decoded.

        While ``KEYVAL['SIGN_VALUES']`` is on, nothing, or for a store declared
        with SIGN_VALUES False, the serializers that cannot run code. Otherwise
        those, and the serializers the project chose (``KEYVAL['SERIALIZER']`` and
        this store's own), accepting the risk check W001 warns of.
        """
        config = get_config()
        if config.sign_values:
            return CODE_FREE if self.store in config.unsigned else ()
        return {*CODE_FREE, config.serializer, self.serializer or config.serializer}

    def decode(self, key: str, payload: bytes, serializer: str, mac: bytes | None) -> Any:
        """Return the value stored as ``payload`` under ``key``; see decode()."""
        unsigned = () if mac is not None else self.trusted_unsigned()
        return decode(self.store, key, payload, serializer, mac, unsigned)

    def decoder(self) -> Decoder:
        """Return decode() for many values at once (``get_many()``, ``items()``, export)."""
        return decoder(self.store, self.trusted_unsigned())


def encode(value: Any, store: str, key: str, serializer: str, sign: bool) -> Encoded:
    """Serialize ``value`` for ``(store, key)`` with ``serializer``; sign it if ``sign``.

    Raise ``SerializationError`` (nothing is written) if the serializer refuses it.
    """
    dumps = get_serializer(serializer).dumps
    try:
        payload = dumps(value)
    except Exception as exc:  # Pickling runs arbitrary __reduce__ code: anything can fail.
        raise SerializationError(
            f"cannot serialize the value for key {key!r} in store {store!r} "
            f"with the {serializer!r} serializer: {exc}"
        ) from exc
    if not isinstance(payload, bytes):
        raise SerializationError(
            f"serializer {serializer!r} returned {type(payload).__name__}, not bytes, "
            f"for key {key!r} in store {store!r}"
        )
    mac = signing.sign(store, key, serializer, payload) if sign else None
    return Encoded(payload, serializer, mac)


def decode(
    store: str,
    key: str,
    payload: bytes,
    serializer: str,
    mac: bytes | None,
    unsigned_serializers: Collection[str] = (),
) -> Any:
    """Return the value stored as ``payload`` under ``(store, key)``.

    The signature is checked before the serializer sees a byte, so a forged
    or tampered row raises ``CorruptValue`` and is never unpickled. An
    unsigned row is decoded only if its serializer is in ``unsigned_serializers``:
    a row's serializer name is as untrusted as the rest of it, and must not
    pick a serializer the project did not choose.
    """
    if mac is not None:
        if not signing.verify(store, key, serializer, payload, mac):
            raise _forged(store, key)
    elif serializer not in unsigned_serializers:
        raise _unsigned(store, key, serializer)
    try:
        loads = get_serializer(serializer).loads
    except (TypeError, ValueError) as exc:
        raise _unloadable(store, key, serializer, exc) from exc
    try:
        return loads(payload)
    except Exception as exc:
        raise _undecodable(store, key, serializer, exc) from exc


def decoder(store: str, unsigned_serializers: Collection[str] = ()) -> Decoder:
    """Return ``decode`` for many values of ``store`` at once.

    It takes ``(key, payload, serializer, mac)`` and checks each value as
    decode() does, with what the values share (the store's part of the
    signature, the serializers) worked out once.
    """
    verify = signing.verifier(store)
    serializers: dict[str, Serializer] = {}

    def decode_one(key: str, payload: bytes, serializer: str, mac: bytes | None) -> Any:
        if mac is not None:
            if not verify(key, serializer, payload, mac):
                raise _forged(store, key)
        elif serializer not in unsigned_serializers:
            raise _unsigned(store, key, serializer)
        loaded = serializers.get(serializer)
        if loaded is None:
            try:
                loaded = serializers[serializer] = get_serializer(serializer)
            except (TypeError, ValueError) as exc:
                raise _unloadable(store, key, serializer, exc) from exc
        try:
            return loaded.loads(payload)
        except Exception as exc:
            raise _undecodable(store, key, serializer, exc) from exc

    return decode_one


def _forged(store: str, key: str) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} fails its signature "
        "(tampered with, copied from another key, or signed with another SECRET_KEY)"
    )


def _unsigned(store: str, key: str, serializer: str) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} is not signed, and unsigned values "
        f"are not accepted from serializer {serializer!r}"
    )


def _unloadable(store: str, key: str, serializer: str, exc: Exception) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} was written by serializer "
        f"{serializer!r}, which cannot be loaded: {exc}"
    )


def _undecodable(store: str, key: str, serializer: str, exc: Exception) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} cannot be decoded by "
        f"serializer {serializer!r}: {exc}"
    )
