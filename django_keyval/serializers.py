"""The built-in serializers and the lookup of a serializer by name or dotted path."""

from __future__ import annotations

import functools
import json
import pickle
from typing import Any, Protocol

from django.utils.module_loading import import_string


class Serializer(Protocol):
    """What a serializer provides: ``dumps(value) -> bytes`` and ``loads(data) -> value``."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class PickleSerializer:
    """Any picklable Python value. Only safe to load because stored values are signed."""

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    # pickle.loads itself, without a method around it (it runs on every read):
    # safe only because codec.decode() checks the signature first.
    loads = staticmethod(pickle.loads)


class JSONSerializer:
    """JSON-representable values: str, int, float, bool, None, lists and dicts."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class BytesSerializer:
    """Raw ``bytes``, stored as they are."""

    def dumps(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"the bytes serializer stores bytes only, not {type(value).__name__}")

    def loads(self, data: bytes) -> Any:
        return data


BUILTIN_SERIALIZERS: dict[str, type[Serializer]] = {
    "pickle": PickleSerializer,
    "json": JSONSerializer,
    "bytes": BytesSerializer,
}


def get_serializer(name: object) -> Serializer:
    """Return the serializer called ``name``: a built-in name or a dotted path to a class.

    Raise ``TypeError`` if ``name`` is not a str, and ``ValueError`` naming the
    problem when it does not lead to a class with ``dumps`` and ``loads`` methods.
    """
    if not isinstance(name, str):
        raise TypeError(f"serializer must be a str (a name or a dotted path), not {name!r}")
    return _load_serializer(name)


def is_pickle(name: str) -> bool:
    """Return whether the serializer ``name`` is the built-in pickle serializer."""
    return isinstance(get_serializer(name), PickleSerializer)


@functools.lru_cache(maxsize=64)
def _load_serializer(name: str) -> Serializer:
    if name in BUILTIN_SERIALIZERS:
        return BUILTIN_SERIALIZERS[name]()
    if "." not in name:
        raise ValueError(
            f"unknown serializer {name!r}: use 'pickle', 'json', 'bytes' or the dotted path "
            "of a class with dumps() and loads()"
        )
    try:
        cls = import_string(name)
    except ImportError as exc:
        raise ValueError(f"serializer {name!r} cannot be imported: {exc}") from exc
    has_methods = callable(getattr(cls, "dumps", None)) and callable(getattr(cls, "loads", None))
    if not (isinstance(cls, type) and has_methods):
        raise ValueError(f"serializer {name!r} is not a class with dumps() and loads() methods")
    serializer: Serializer = cls()
    return serializer
