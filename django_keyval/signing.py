"""HMAC signatures of stored values, bound to their store, key and serializer."""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings

_KEY_SALT = b"django_keyval.signing.v1"
MAC_SIZE = 32


@functools.lru_cache(maxsize=16)
def _derived_key(secret: str | bytes) -> bytes:
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(_KEY_SALT + secret_bytes).digest()


def _header(store: str, key: str, tag: str) -> bytes:
    # Length-prefixed, so that no two (store, key, tag) triples share a header.
    parts = [part.encode() for part in (store, key, tag)]
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _mac(secret: str | bytes, header: bytes, payload: bytes) -> bytes:
    digest = hmac.new(_derived_key(secret), header, hashlib.sha256)
    digest.update(payload)
    return digest.digest()


def sign(store: str, key: str, tag: str, payload: bytes) -> bytes:
    """Return the signature of ``payload`` stored under ``(store, key)`` by serializer ``tag``."""
    return _mac(settings.SECRET_KEY, _header(store, key, tag), payload)


def verify(store: str, key: str, tag: str, payload: bytes, mac: bytes) -> bool:
    """Return whether ``mac`` signs this payload with SECRET_KEY or one of its fallbacks."""
    header = _header(store, key, tag)
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    return any(hmac.compare_digest(_mac(secret, header, payload), mac) for secret in secrets)
