"""A persistent key-value store for Django, kept in the project's own database.

Importing this package touches neither the settings nor the app registry.
"""

from __future__ import annotations

from django_keyval.live import config
from django_keyval.store import KeyVal
from django_keyval.ttl import DEFAULT_TTL

__all__ = ["DEFAULT_TTL", "KeyVal", "config"]
