"""``manage.py keyval settings`` and the typed get/set of declared settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from django_keyval.live import config as live_config
from django_keyval.live import declaration, declared_settings, settings_store


def is_setting(store: str, key: str) -> bool:
    """Return whether ``key`` of ``store`` is a declared setting."""
    return store == settings_store().name and key in declared_settings()


def parse_setting(key: str, text: str) -> Any:
    """Return ``text`` parsed by the declared type of ``key``; CommandError if it is not one."""
    try:
        value = declaration(key).parse(text)
    except ValueError as exc:
        raise CommandError(f"Invalid value for setting {key}: {exc}.") from None
    check_setting(key, value)
    return value


def check_setting(key: str, value: Any) -> None:
    """Raise CommandError if ``value`` is not a valid value of the setting ``key``."""
    try:
        declaration(key).check(value)
    except TypeError as exc:
        raise CommandError(f"Invalid value for setting {key}: {exc}.") from None
    except ValidationError as exc:
        raise CommandError(f"Invalid value for setting {key}: {' '.join(exc.messages)}") from None


def setting_lines(display: Any) -> list[str]:
    """Return one tab-separated line per declared setting: name, type, changed or default,
    value, default (``display`` renders a value)."""
    stored = settings_store().get_many(list(declared_settings()))
    lines = []
    for name, setting in declared_settings().items():
        value = live_config.get(name) if name in stored else setting.default
        state = "changed" if value != setting.default else "default"
        if name in stored and value is setting.default and stored[name] != value:
            state = "bad type"  # stored, but no longer of the declared type
        fields = [name, setting.type_name(), state, display(value), display(setting.default)]
        lines.append("\t".join(fields))
    return lines


def stale_keys() -> list[str]:
    """Return the keys of the settings store that no setting declares any more."""
    declared = declared_settings()
    return [key for key in settings_store() if key not in declared]


def remove_stale(keys: list[str]) -> int:
    """Delete ``keys`` from the settings store; return how many were deleted."""
    return settings_store().delete_many(keys)
