"""Signatures of stored values, bound to their store, key and serializer.

A signature is a MAC, keyed from SECRET_KEY, of a header (the store name, the
key and the serializer's name, each preceded by its length, so that no two
triples share a header) followed by the payload. Payloads shorter than
SMALL_PAYLOAD bytes are signed with keyed BLAKE2b, longer ones with
HMAC-SHA256, each the faster of the two at those sizes: BLAKE2b hashes once
where HMAC hashes twice, which is most of the cost of a small value, while
SHA-256 runs on the SHA instructions of current CPUs, about 1.5 times as fast
as BLAKE2b per byte. The payload's length picks the same MAC when verifying as
when signing; each MAC has a key of its own.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_KEY_SALT = b"django_keyval.signing.v2"
MAC_SIZE = 32
SMALL_PAYLOAD = 1024
_BLOCK_SIZE = 64  # SHA-256's block size, which HMAC pads its key to.
_length = struct.Struct(">I").pack


def _part(text: str) -> bytes:
    """Return ``text`` as a part of the header: its length, then its UTF-8 bytes."""
    data = text.encode()
    return _length(len(data)) + data


# Serializer names are few: their parts are worked out once.
_serializer_part = functools.lru_cache(maxsize=64)(_part)


class _States(NamedTuple):
    """The hash states every signature of one store's values starts from."""

    blake2b: hashlib.blake2b  # keyed, having hashed the store's part of the header
    hmac_inner: hashlib._Hash  # HMAC's inner hash, having hashed its pad and the store's part
    hmac_outer: hashlib._Hash  # HMAC's outer hash, having hashed its pad


@functools.lru_cache(maxsize=256)
def _store_states(secret: str | bytes, store: str) -> _States:
    """Return the states the signatures of ``store``'s values start from under ``secret``.

    Hashing the keys and the store's name once, and copying the states, leaves
    the key, the serializer and the payload to hash for each value.
    """
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    blake2b_key = hashlib.sha256(_KEY_SALT + b".blake2b." + secret_bytes).digest()
    hmac_key = hashlib.sha256(_KEY_SALT + b".hmac-sha256." + secret_bytes).digest()
    store_part = _part(store)
    blake2b = hashlib.blake2b(key=blake2b_key, digest_size=MAC_SIZE)
    blake2b.update(store_part)
    # HMAC (RFC 2104) is H((K ^ opad) || H((K ^ ipad) || message)).
    padded = hmac_key.ljust(_BLOCK_SIZE, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
    inner.update(store_part)
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))
    return _States(blake2b, inner, outer)


def _mac(states: _States, key_and_serializer: bytes, payload: bytes) -> bytes:
    """Return the signature of ``payload`` from the store's ``states``, given the key's
    and the serializer's parts of the header."""
    if len(payload) < SMALL_PAYLOAD:
        blake2b = states.blake2b.copy()
        blake2b.update(key_and_serializer)
        blake2b.update(payload)
        return blake2b.digest()
    inner = states.hmac_inner.copy()
    inner.update(key_and_serializer)
    inner.update(payload)
    outer = states.hmac_outer.copy()
    outer.update(inner.digest())
    return outer.digest()


@functools.cache
def _secret() -> str | bytes:
    """Return SECRET_KEY, read once until the setting changes (settings are slow to read)."""
    secret: str | bytes = settings.SECRET_KEY
    return secret


@receiver(setting_changed)
def _clear_secret(*, setting: str, **kwargs: Any) -> None:
    if setting == "SECRET_KEY":
        _secret.cache_clear()


def signature(secret: str | bytes, store: str, key: str, serializer: str, payload: bytes) -> bytes:
    """Return the signature of ``payload``, stored under ``(store, key)`` by the serializer
    named ``serializer``, with the key derived from ``secret``."""
    return _mac(_store_states(secret, store), _part(key) + _serializer_part(serializer), payload)


def sign(store: str, key: str, serializer: str, payload: bytes) -> bytes:
    """Return the signature of ``payload`` stored under ``(store, key)`` by ``serializer``."""
    return signature(_secret(), store, key, serializer, payload)


def verify(store: str, key: str, serializer: str, payload: bytes, mac: bytes) -> bool:
    """Return whether ``mac`` signs this payload with SECRET_KEY or one of its fallbacks."""
    return _verifier(_secret(), store)(key, serializer, payload, mac)


def _verify_fallbacks(store: str, key_and_serializer: bytes, payload: bytes, mac: bytes) -> bool:
    return any(
        hmac.compare_digest(_mac(_store_states(secret, store), key_and_serializer, payload), mac)
        for secret in getattr(settings, "SECRET_KEY_FALLBACKS", ())
    )


def verifier(store: str) -> Callable[[str, str, bytes, bytes], bool]:
    """Return ``verify`` for the values of ``store``: ``(key, serializer, payload, mac)``."""
    return _verifier(_secret(), store)


@functools.lru_cache(maxsize=256)
def _verifier(secret: str | bytes, store: str) -> Callable[[str, str, bytes, bytes], bool]:
    """Return the check of ``store``'s signatures under ``secret``, made once per pair."""
    states = _store_states(secret, store)
    blake2b = states.blake2b
    compare, length, small = hmac.compare_digest, _length, SMALL_PAYLOAD

    def verify_one(key: str, serializer: str, payload: bytes, mac: bytes) -> bool:
        k = key.encode()
        key_and_serializer = length(len(k)) + k + _serializer_part(serializer)
        if len(payload) < small:  # _mac() inlined: this runs for every value read.
            hashed = blake2b.copy()
            hashed.update(key_and_serializer)
            hashed.update(payload)
            expected = hashed.digest()
        else:
            expected = _mac(states, key_and_serializer, payload)
        return compare(expected, mac) or _verify_fallbacks(store, key_and_serializer, payload, mac)

    return verify_one
