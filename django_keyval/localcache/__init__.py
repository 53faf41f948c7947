"""The local cache of read-mostly stores, opted into per store in KEYVAL["STORES"].

Public: clear() (for a project's tests), snapshot() / asnapshot() (also as
``KeyVal.snapshot()``), touch_store() (``manage.py keyval touch``).
"""

from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver

from django_keyval.localcache.copies import clear
from django_keyval.localcache.reads import view
from django_keyval.localcache.scope import asnapshot, snapshot
from django_keyval.localcache.writes import (
    bump_cached,
    touch_store,
    writing,
    writing_every,
    writing_rows,
)

__all__ = [
    "asnapshot",
    "bump_cached",
    "clear",
    "snapshot",
    "touch_store",
    "view",
    "writing",
    "writing_every",
    "writing_rows",
]


@receiver(setting_changed, dispatch_uid="django_keyval.localcache.setting_changed")
def _clear_on_setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting in ("KEYVAL", "DATABASES", "DATABASE_ROUTERS"):
        clear()
