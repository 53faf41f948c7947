"""KEYVAL["SETTINGS"]: the declared live settings, their types, and the checks of a value.

A declaration is a tuple ``(default, help_text[, type])`` or a dict with
``default``, ``help_text`` and optionally ``type``, ``choices``, ``validators``,
``fieldset`` and ``field`` (a form field, for a type of the project's own).
Values are checked, never converted.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_duration

# The types the admin, the command and the checks know without a form field.
KNOWN_TYPES: tuple[type, ...] = (
    bool,
    int,
    float,
    decimal.Decimal,
    str,
    datetime.date,
    datetime.datetime,
    datetime.time,
    datetime.timedelta,
    dict,
    list,
)
DICT_KEYS = frozenset(
    {"default", "help_text", "type", "choices", "validators", "fieldset", "field"}
)
# Names of the config object's own methods and attributes: no setting may take them.
RESERVED = frozenset(
    {"aget", "aset", "areset", "get", "set", "reset", "declared", "is_changed", "values"}
)
TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})

# (check id suffix, message, hint), as conf.Problem takes them.
SettingProblem = tuple[str, str, str]


@dataclass(frozen=True)
class Declared:
    """One declared setting."""

    name: str
    default: Any
    help_text: str
    type: type
    choices: tuple[tuple[Any, str], ...] | None = None
    validators: tuple[Callable[[Any], None], ...] = ()
    fieldset: str | None = None
    # A form field (instance or class) for the admin and the command; None: chosen by type.
    field: Any = None

    def type_name(self) -> str:
        """Return the name of the type, as the admin and the command show it."""
        return "choice" if self.choices else self.type.__name__

    def check(self, value: Any) -> None:
        """Raise TypeError if ``value`` is not of the declared type, ValidationError if it
        is not one of the choices or a validator refuses it."""
        if not is_of_type(value, self.type):
            raise TypeError(
                f"setting {self.name} is a {self.type.__name__}, not "
                f"{type(value).__name__}: {value!r}"
            )
        if self.choices is not None and value not in [choice for choice, _ in self.choices]:
            allowed = ", ".join(repr(choice) for choice, _ in self.choices)
            raise ValidationError(
                f"{value!r} is not one of the choices of {self.name}: {allowed}.",
                code="invalid_choice",
            )
        for validator in self.validators:
            validator(value)

    def parse(self, text: str) -> Any:
        """Return ``text`` (as typed on a command line) as a value of this setting's type;
        ValueError with a one-line reason if it is not one."""
        if self.field is not None:
            field = self.field() if isinstance(self.field, type) else self.field
            try:
                return field.clean(text)
            except ValidationError as exc:
                raise ValueError("; ".join(exc.messages)) from None
        if self.choices is not None:
            for choice, _ in self.choices:
                if str(choice) == text:
                    return choice
            allowed = ", ".join(str(choice) for choice, _ in self.choices)
            raise ValueError(f"{text!r} is not one of: {allowed}")
        try:
            return parse_text(self.type, text)
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"{text!r} is not a {self.type.__name__} ({exc})") from None


def is_of_type(value: Any, kind: type) -> bool:
    """Return whether ``value`` is a ``kind``, strictly: a bool is no int, a datetime no date."""
    if kind is bool or kind is int:
        return type(value) is kind
    if kind is datetime.date:
        return type(value) is datetime.date
    if kind is float:
        return type(value) is float
    return isinstance(value, kind)


def parse_text(kind: type, text: str) -> Any:
    """Return ``text`` parsed as a ``kind`` (one of KNOWN_TYPES); ValueError if it is not one."""
    if kind is bool:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("use true/false, yes/no, on/off or 1/0")
    if kind is str:
        return text
    if kind in (dict, list):
        value = json.loads(text)
        if not isinstance(value, kind):
            raise ValueError(f"JSON {type(value).__name__}, not {kind.__name__}")
        return value
    if kind is datetime.timedelta:
        duration = parse_duration(text)
        if duration is None:
            raise ValueError("use seconds, [DD ]HH:MM:SS or ISO 8601 such as P1DT2H")
        return duration
    if kind is decimal.Decimal:
        try:
            return decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError("not a decimal number") from None
    if kind in (int, float):
        return kind(text)
    if kind in (datetime.date, datetime.datetime, datetime.time):
        return kind.fromisoformat(text)
    raise ValueError(f"{kind.__name__} has no text form: declare a form field for it")


def _declaration(name: str, raw: Any) -> Declared:
    """Return the declaration ``raw`` of ``name``; TypeError/ValueError if it is malformed."""
    if isinstance(raw, tuple):
        if len(raw) not in (2, 3):
            raise ValueError("a tuple must be (default, help_text) or (default, help_text, type)")
        options: dict[str, Any] = dict(zip(("default", "help_text", "type"), raw, strict=False))
    elif isinstance(raw, Mapping):
        unknown = sorted(set(raw) - DICT_KEYS, key=str)
        if unknown:
            raise ValueError(f"unknown keys {', '.join(map(repr, unknown))}")
        if "default" not in raw:
            raise ValueError("a dict needs a 'default'")
        options = dict(raw)
    else:
        raise TypeError(f"must be a tuple or a dict, not {type(raw).__name__}")
    default = options["default"]
    kind = options.get("type", type(default))
    if not isinstance(kind, type) or kind is type(None):
        raise TypeError(
            f"type must be a class, not {kind!r} (give 'type' when the default is None)"
        )
    help_text = options.get("help_text", "")
    if not isinstance(help_text, str):
        raise TypeError(f"help_text must be a str, not {type(help_text).__name__}")
    choices = options.get("choices")
    if choices is not None:
        if not isinstance(choices, Sequence) or not all(
            isinstance(choice, Sequence) and len(choice) == 2 for choice in choices
        ):
            raise TypeError("choices must be a list of (value, label) pairs")
        choices = tuple((value, str(label)) for value, label in choices)
        for value, _ in choices:
            if not is_of_type(value, kind):
                raise TypeError(f"the choice {value!r} is not a {kind.__name__}")
    validators = tuple(options.get("validators", ()))
    if not all(callable(validator) for validator in validators):
        raise TypeError("validators must be callables")
    fieldset = options.get("fieldset")
    if fieldset is not None and not isinstance(fieldset, str):
        raise TypeError("fieldset must be a str")
    field = options.get("field")
    if field is None and kind not in KNOWN_TYPES:
        raise TypeError(f"type {kind.__name__} needs a form field: add 'field' to its dict")
    declared = Declared(name, default, help_text, kind, choices, validators, fieldset, field)
    try:
        declared.check(default)
    except TypeError:
        raise TypeError(
            f"the default {default!r} is a {type(default).__name__}, not a {kind.__name__}"
        ) from None
    except ValidationError as exc:
        raise ValueError(f"the default is refused: {'; '.join(exc.messages)}") from None
    return declared


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError("a setting's name must be a Python identifier")
    if name.startswith("_") or name in RESERVED:
        raise ValueError(
            f"the name is reserved (names may not start with '_' or be {sorted(RESERVED)})"
        )


def settings_problems(raw: object) -> list[SettingProblem]:
    """Return what is wrong with a KEYVAL['SETTINGS'] setting."""
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        return [
            (
                "E014",
                f"KEYVAL['SETTINGS'] must be a dict, not {type(raw).__name__}.",
                "Map each setting's name to (default, help_text[, type]) or a dict.",
            )
        ]
    problems: list[SettingProblem] = []
    for name, declaration in raw.items():
        try:
            _check_name(name)
        except ValueError as exc:
            problems.append(("E014", f"KEYVAL['SETTINGS'] has a bad name {name!r}: {exc}.", ""))
            continue
        try:
            _declaration(name, declaration)
        except (TypeError, ValueError) as exc:
            problems.append(
                (
                    "E015",
                    f"KEYVAL['SETTINGS'][{name!r}] is invalid: {exc}.",
                    "Declare (default, help_text[, type]) or a dict with 'default', "
                    "'help_text' and optionally "
                    + ", ".join(sorted(DICT_KEYS - {"default", "help_text"}))
                    + ".",
                )
            )
    return problems


def declarations(raw: Mapping[str, Any] | None) -> dict[str, Declared]:
    """Return the declared settings by name, from a valid KEYVAL['SETTINGS']."""
    return {name: _declaration(name, declaration) for name, declaration in (raw or {}).items()}
