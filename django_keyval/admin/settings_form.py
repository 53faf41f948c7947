"""The form of the admin's Settings page: one field per declared setting, by type."""

from __future__ import annotations

import copy
import datetime
import decimal
import hashlib
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from django_keyval.declared import Declared
from django_keyval.live import UNSET

LOADED = "{}__loaded"
RESET = "{}__reset"


def state_digest(stored: Any) -> str:
    """Return a short digest of what the store holds for a setting (a value or UNSET): the
    form carries the digest it was loaded with, to refuse a save over a newer change."""
    text = "unset" if stored is UNSET else f"{type(stored).__qualname__}:{stored!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _typed_field(declared: Declared) -> forms.Field:
    kind = declared.type
    if kind is bool:
        return forms.BooleanField(required=False)
    if kind is int:
        return forms.IntegerField()
    if kind is float:
        return forms.FloatField()
    if kind is decimal.Decimal:
        return forms.DecimalField()
    if kind is datetime.datetime:
        return forms.DateTimeField(
            widget=forms.DateTimeInput(
                format="%Y-%m-%dT%H:%M:%S", attrs={"type": "datetime-local", "step": "1"}
            )
        )
    if kind is datetime.date:
        return forms.DateField(widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    if kind is datetime.time:
        return forms.TimeField(
            widget=forms.TimeInput(format="%H:%M:%S", attrs={"type": "time", "step": "1"})
        )
    if kind is datetime.timedelta:
        return forms.DurationField(help_text="[DD] [HH:[MM:]]SS[.uuuuuu]")
    if kind in (dict, list):
        # Not required: an empty list or dict is a value like any other.
        return forms.JSONField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    return forms.CharField(required=False, strip=False, widget=forms.TextInput(attrs={"size": 60}))


def form_field(declared: Declared) -> forms.Field:
    """Return the form field of ``declared``: its own ``field``, a choice of its choices,
    or the field of its type."""
    if declared.field is not None:
        given = declared.field
        field: forms.Field = given() if isinstance(given, type) else copy.deepcopy(given)
    elif declared.choices is not None:
        by_text = {str(value): value for value, _ in declared.choices}
        field = forms.TypedChoiceField(
            choices=[(str(value), label) for value, label in declared.choices],
            coerce=by_text.__getitem__,
        )
    else:
        field = _typed_field(declared)
    field.label = declared.name
    if declared.help_text:
        field.help_text = declared.help_text
    return field


class SettingsForm(forms.Form):
    """The declared settings shown, each with its value, its loaded-state digest and a
    "reset to default" box. Only the settings whose value (or reset box) changed are
    checked, and only they are written."""

    def __init__(
        self,
        declared: dict[str, Declared],
        values: dict[str, Any],
        stored: dict[str, Any],
        *args: Any,
        editable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.declared = declared
        for name, setting in declared.items():
            field = form_field(setting)
            field.disabled = not editable
            field.initial = values[name]
            self.fields[name] = field
            self.fields[LOADED.format(name)] = forms.CharField(
                widget=forms.HiddenInput, initial=state_digest(stored[name]), required=False
            )
            self.fields[RESET.format(name)] = forms.BooleanField(
                required=False, label="reset to default", disabled=not editable
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.changed_settings():
            if name in cleaned:
                try:
                    self.declared[name].check(cleaned[name])
                except TypeError as exc:
                    self.add_error(name, str(exc))
                except ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    def changed_settings(self) -> list[str]:
        """Return the names of the settings whose value was changed (reset ones excluded)."""
        changed = set(self.changed_data)
        return [name for name in self.declared if name in changed and not self.reset(name)]

    def reset(self, name: str) -> bool:
        """Return whether "reset to default" was ticked for ``name``."""
        field = self.fields[RESET.format(name)]
        return not field.disabled and bool(
            field.to_python(self.data.get(self.add_prefix(RESET.format(name))))
        )

    def loaded(self, name: str) -> str:
        """Return the digest of the stored state the form was loaded with."""
        return str(self.data.get(self.add_prefix(LOADED.format(name)), ""))

    def rows(self) -> list[tuple[str | None, list[dict[str, Any]]]]:
        """Return the settings grouped by fieldset (in declaration order): for each,
        its bound field, reset box, loaded digest, declaration."""
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for name, setting in self.declared.items():
            groups.setdefault(setting.fieldset, []).append(
                {
                    "field": self[name],
                    "reset": self[RESET.format(name)],
                    "loaded": self[LOADED.format(name)],
                    "declared": setting,
                    "changed": bool(self.fields[name].initial != setting.default),
                }
            )
        return list(groups.items())
