"""Template context processors: ``django_keyval.context_processors.config``."""

from __future__ import annotations

from django.http import HttpRequest

from django_keyval.live import LiveSettings
from django_keyval.live import config as live_config


def config(request: HttpRequest) -> dict[str, LiveSettings]:
    """Add ``config`` to the context: ``{{ config.MAINTENANCE_MODE }}`` reads a declared
    setting when the template uses it (through the local cache, like any other read)."""
    return {"config": live_config}
