"""Backends for other key-value APIs, each an optional extra: ``minimalkv``, ``py_key_value``."""
