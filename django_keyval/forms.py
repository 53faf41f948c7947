"""The admin's form for an entry: its value as typed JSON, its expiry; writes through KeyVal."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils import timezone as django_timezone

from django_keyval.admin_routing import adding_alias, writing_alias
from django_keyval.codec import StoreCodec
from django_keyval.conf import get_config
from django_keyval.exceptions import InvalidKey, KeyValError, SerializationError
from django_keyval.jsonvalues import json_text
from django_keyval.keys import validate_key
from django_keyval.models import Entry
from django_keyval.sql.rows import as_bytes, as_mac
from django_keyval.store import KeyVal

# Where decode_entry() keeps its result on the instance, so each row is decoded once.
_CACHE = "_keyval_decoded"


@dataclass(frozen=True)
class Decoded:
    """An entry's value as the admin shows it: the value, or why it cannot be shown."""

    value: Any = None
    error: str | None = None


def decode_entry(entry: Entry, payload: bytes | None = None) -> Decoded:
    """Return the entry's value, decoded by the serializer that wrote it; never raise.

    ``payload`` replaces ``entry.value`` (the change list reads only small values).
    The signature is checked before anything is unpickled (``codec.decode``).
    """
    cached: Decoded | None = entry.__dict__.get(_CACHE)
    if cached is None:
        data = as_bytes(entry.value if payload is None else payload)
        try:
            codec = StoreCodec(entry.store)
            value = codec.decode(entry.key, data, entry.serializer, as_mac(entry.mac))
        except KeyValError as exc:
            cached = Decoded(error=str(exc))
        else:
            cached = Decoded(value=value)
        entry.__dict__[_CACHE] = cached
    return cached


def forget_decoded(entry: Entry) -> None:
    """Drop the value decode_entry() remembered for ``entry`` (after it was rewritten)."""
    entry.__dict__.pop(_CACHE, None)


def local_datetime(timestamp: float) -> datetime:
    """Return the Unix ``timestamp`` as an aware datetime in the current time zone."""
    return django_timezone.localtime(datetime.fromtimestamp(timestamp, tz=timezone.utc))


def _canonical(text: Any) -> str:
    try:
        return json.dumps(json.loads(text))
    except (TypeError, ValueError, RecursionError):
        return str(text)


class TypedJSONField(forms.CharField):
    """JSON text in a textarea, cleaned to the Python value it denotes.

    Unlike ``forms.JSONField``, ``null``, ``""``, ``[]`` and ``{}`` are values
    like any other; only an empty textarea is missing.
    """

    def __init__(self, **kwargs: Any) -> None:
        attrs = {"rows": 12, "class": "vLargeTextField", "spellcheck": "false"}
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        super().__init__(strip=False, **kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(
                "Enter valid JSON (%(error)s). Strings need double quotes.",
                code="invalid_json",
                params={"error": exc},
            ) from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        # Textareas send CRLF and people re-indent: only a different value is a change.
        return _canonical(initial) != _canonical(data)


class EntryForm(forms.ModelForm):  # type: ignore[type-arg]
    """Add or edit an entry: a JSON value that keeps its type, and an expiry.

    Nothing is written by ``save()``: the admin calls ``write()``, which stores
    the value with ``KeyVal.set()``, so the entry is validated, serialized and
    signed exactly as the application's own writes are. An existing entry keeps
    its store, key and serializer; a value JSON cannot represent keeps its value,
    and only its expiry can change.
    """

    store = forms.CharField(
        max_length=255, required=False, strip=False, help_text="Any text; empty is allowed."
    )
    key = forms.CharField(max_length=255, required=False, strip=False)
    json_value = TypedJSONField(
        label="Value (JSON)",
        help_text=(
            'JSON keeps the type: "42" is a string, 42 an integer, 4.2 a float; also '
            "true, false, null, [lists] and {objects}."
        ),
    )
    expires = forms.SplitDateTimeField(
        label="Expires",
        required=False,
        widget=AdminSplitDateTime,
        help_text="Leave both empty for an entry that never expires.",
    )

    class Meta:
        model = Entry
        fields = ["store", "key"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adding = self.instance._state.adding
        self.decoded = None if self.adding else decode_entry(self.instance)
        if self.decoded is not None:
            # Store, key and serializer make up the signature: they never change here.
            for name in ("store", "key"):
                self.fields.pop(name, None)
            text = json_text(self.decoded.value, indent=2) if self.decoded.error is None else None
            if text is None:
                self.fields.pop("json_value", None)
            elif "json_value" in self.fields:
                self.fields["json_value"].initial = text
            if self.decoded.error is not None:
                self.fields.pop("expires", None)
        if "expires" in self.fields and self.instance.expires_at is not None:
            # The widget shows whole seconds: so does the initial value, and an
            # untouched expiry is kept exactly (see _expires_at()).
            initial = local_datetime(self.instance.expires_at).replace(microsecond=0)
            self.fields["expires"].initial = initial

    def _get_validation_exclusions(self) -> set[str]:
        # Store and key follow KeyVal's rules (validate_key) and a key is taken
        # only if it is live (clean()), on the store's database. The model's
        # unique-constraint check would ask the default router and count
        # expired rows too.
        exclusions: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        return {*exclusions, "store", "key"}

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.errors or not (self.adding or self.has_changed()):
            return cleaned
        store, key = self._store_and_key()
        if store is None or key is None:
            return cleaned
        expires_at = self._expires_at()
        if expires_at is not None and expires_at <= time.time():
            self.add_error("expires", "This time is in the past: choose a later one, or none.")
        value = self.value_to_write()
        try:
            StoreCodec(store, self.write_serializer()).encode(key, value)
        except SerializationError as exc:
            field = "json_value" if "json_value" in self.fields else None
            self.add_error(field, f"This value cannot be stored: {exc}")
        if self.adding and not self.errors and KeyVal(store, using=self.alias()).exists(key):
            self.add_error("key", "This key is already in use in this store: edit that entry.")
        return cleaned

    def _store_and_key(self) -> tuple[str | None, str | None]:
        if not self.adding:
            return self.instance.store, self.instance.key
        names: dict[str, str | None] = {}
        for name, what in (("store", "store name"), ("key", "key")):
            try:
                names[name] = validate_key(self.cleaned_data.get(name, ""), what)
            except (InvalidKey, TypeError) as exc:
                self.add_error(name, str(exc))
                names[name] = None
        return names["store"], names["key"]

    def _expires_at(self) -> float | None:
        if "expires" not in self.fields or "expires" not in self.changed_data:
            expires_at: float | None = self.instance.expires_at
            return expires_at
        when: datetime | None = self.cleaned_data.get("expires")
        return None if when is None else when.timestamp()

    def alias(self) -> str:
        """Return the database alias the admin writes the entry to."""
        if not self.adding:
            return writing_alias(self.instance._state.db)
        store, _ = self._store_and_key()
        return adding_alias(store or "")

    def write_serializer(self) -> str:
        """Return the serializer of the write: the entry's own, or KEYVAL's for a new one."""
        return get_config().serializer if self.adding else self.instance.serializer

    def value_to_write(self) -> Any:
        """Return the value to store: the edited JSON, or the entry's value as it is."""
        if "json_value" in self.fields:
            return self.cleaned_data["json_value"]
        assert self.decoded is not None and self.decoded.error is None
        return self.decoded.value

    def write(self) -> None:
        """Store the value and expiry with ``KeyVal.set()``; nothing if nothing changed."""
        if not (self.adding or self.has_changed()):
            return
        store, key = self._store_and_key()
        assert store is not None and key is not None
        expires_at = self._expires_at()
        # set() takes a time to live, counted from its own clock: the expiry
        # shown in the form is kept to within the time between these two calls.
        ttl = None if expires_at is None else max(expires_at - time.time(), 0.001)
        handle = KeyVal(store, using=self.alias(), serializer=self.write_serializer())
        handle.set(key, self.value_to_write(), ttl=ttl)
