"""Values to stored rows and back: the serializer, then the signature envelope."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, NamedTuple

from django_keyval import signing
from django_keyval.conf import get_config
from django_keyval.exceptions import CorruptValue, SerializationError
from django_keyval.serializers import Serializer, get_serializer


class Encoded(NamedTuple):
    """A value as it is stored: the serializer's bytes, its tag and their signature."""

    payload: bytes
    tag: str
    mac: bytes | None


def encode(value: Any, store: str, key: str, tag: str, sign: bool) -> Encoded:
    """Serialize ``value`` for ``(store, key)`` with serializer ``tag``; sign it if ``sign``.

    Raise ``SerializationError`` (nothing is written) if the serializer refuses it.
    """
    serializer = get_serializer(tag)
    try:
        payload = serializer.dumps(value)
    except Exception as exc:  # Pickling runs arbitrary __reduce__ code: anything can fail.
        raise SerializationError(
            f"cannot serialize the value for key {key!r} in store {store!r} "
            f"with the {tag!r} serializer: {exc}"
        ) from exc
    if not isinstance(payload, bytes):
        raise SerializationError(
            f"serializer {tag!r} returned {type(payload).__name__}, not bytes, "
            f"for key {key!r} in store {store!r}"
        )
    mac = signing.sign(store, key, tag, payload) if sign else None
    return Encoded(payload, tag, mac)


def trusted_unsigned_tags(serializer: str | None = None) -> Collection[str]:
    """Return the serializers whose unsigned rows may be decoded (see decode()).

    Nothing while KEYVAL['SIGN_VALUES'] is on; otherwise the serializers that
    cannot run code, and those the project chose (KEYVAL['SERIALIZER'], and a
    handle's own ``serializer``), accepting the risk check W001 warns of.
    """
    config = get_config()
    if config.sign_values:
        return ()
    return {"json", "bytes", config.serializer, serializer or config.serializer}


def decode(
    store: str,
    key: str,
    payload: bytes,
    tag: str,
    mac: bytes | None,
    unsigned_tags: Collection[str] = (),
) -> Any:
    """Return the value stored as ``payload`` under ``(store, key)``.

    The signature is checked before the serializer sees a byte, so a forged
    or tampered row raises ``CorruptValue`` and is never unpickled. An
    unsigned row is decoded only if its serializer is in ``unsigned_tags``:
    a row's tag is as untrusted as the rest of it, and must not pick a
    serializer the project did not choose.
    """
    if mac is not None:
        if not signing.verify(store, key, tag, payload, mac):
            raise _forged(store, key)
    elif tag not in unsigned_tags:
        raise _unsigned(store, key, tag)
    try:
        loads = get_serializer(tag).loads
    except (TypeError, ValueError) as exc:
        raise _unloadable(store, key, tag, exc) from exc
    try:
        return loads(payload)
    except Exception as exc:
        raise _undecodable(store, key, tag, exc) from exc


def decoder(
    store: str, unsigned_tags: Collection[str] = ()
) -> Callable[[str, bytes, str, bytes | None], Any]:
    """Return ``decode`` for many values of ``store`` at once (``get_many()``, ``items()``).

    It takes ``(key, payload, tag, mac)`` and checks each value as decode()
    does, with what the values share (the store's part of the signature, the
    serializers) worked out once.
    """
    verify = signing.verifier(store)
    serializers: dict[str, Serializer] = {}

    def decode_one(key: str, payload: bytes, tag: str, mac: bytes | None) -> Any:
        if mac is not None:
            if not verify(key, tag, payload, mac):
                raise _forged(store, key)
        elif tag not in unsigned_tags:
            raise _unsigned(store, key, tag)
        serializer = serializers.get(tag)
        if serializer is None:
            try:
                serializer = serializers[tag] = get_serializer(tag)
            except (TypeError, ValueError) as exc:
                raise _unloadable(store, key, tag, exc) from exc
        try:
            return serializer.loads(payload)
        except Exception as exc:
            raise _undecodable(store, key, tag, exc) from exc

    return decode_one


def _forged(store: str, key: str) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} fails its signature "
        "(tampered with, copied from another key, or signed with another SECRET_KEY)"
    )


def _unsigned(store: str, key: str, tag: str) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} is not signed, and unsigned values "
        f"are not accepted from serializer {tag!r}"
    )


def _unloadable(store: str, key: str, tag: str, exc: Exception) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} was written by serializer {tag!r}, "
        f"which cannot be loaded: {exc}"
    )


def _undecodable(store: str, key: str, tag: str, exc: Exception) -> CorruptValue:
    return CorruptValue(
        f"the value of key {key!r} in store {store!r} cannot be decoded by "
        f"serializer {tag!r}: {exc}"
    )
