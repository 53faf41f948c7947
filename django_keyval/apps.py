"""The app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class KeyValConfig(AppConfig):
    name = "django_keyval"
    verbose_name = "Key-value store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_keyval import checks

        checks.register_checks()
