"""System checks of KEYVAL["SETTINGS"] and KEYVAL["SETTINGS_STORE"] (E014-E016)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import checks

from django_keyval.checks import check_settings
from django_keyval.conf import get_config


def ids_and_messages(settings: Any, declared: object, **extra: Any) -> list[tuple[str, str]]:
    settings.KEYVAL = {"SETTINGS": declared, **extra}
    messages: list[checks.CheckMessage] = check_settings()
    return [(str(message.id), message.msg) for message in messages]


def test_valid_declarations_pass(settings: Any) -> None:
    from tests.settings_helpers import DECLARED

    assert ids_and_messages(settings, DECLARED) == []


def test_settings_must_be_a_dict(settings: Any) -> None:
    assert ids_and_messages(settings, [("A", 1)]) == [
        ("django_keyval.E014", "KEYVAL['SETTINGS'] must be a dict, not list.")
    ]


@pytest.mark.parametrize("name", ["lower case", "_PRIVATE", "values", "get", 3])
def test_bad_names(settings: Any, name: object) -> None:
    ((check_id, message),) = ids_and_messages(settings, {name: (1, "")})
    assert check_id == "django_keyval.E014"
    assert repr(name) in message


@pytest.mark.parametrize(
    ("declaration", "reason"),
    [
        ((1, "help", str), "the default 1 is a int, not a str"),
        ((True, "help", int), "the default True is a bool, not a int"),
        ((None, "help"), "type must be a class"),
        ((1,), "a tuple must be"),
        ((1, 2), "help_text must be a str"),
        ("x", "must be a tuple or a dict, not str"),
        ({"help_text": "h"}, "a dict needs a 'default'"),
        ({"default": 1, "colour": "red"}, "unknown keys 'colour'"),
        ({"default": "a", "choices": [("b", "B")]}, "not one of the choices"),
        ({"default": "a", "choices": [("a", "A"), (2, "Two")]}, "the choice 2 is not a str"),
        ({"default": "a", "choices": ["a"]}, "choices must be a list of (value, label) pairs"),
        ({"default": 1, "validators": [1]}, "validators must be callables"),
        ({"default": object()}, "needs a form field"),
        ((datetime.datetime(2030, 1, 1), "h", datetime.date), "is a datetime, not a date"),
    ],
)
def test_bad_declarations(settings: Any, declaration: object, reason: str) -> None:
    ((check_id, message),) = ids_and_messages(settings, {"X": declaration})
    assert check_id == "django_keyval.E015"
    assert message.startswith("KEYVAL['SETTINGS']['X'] is invalid: ")
    assert reason in message


def test_a_bad_settings_store(settings: Any) -> None:
    assert ids_and_messages(settings, {}, SETTINGS_STORE="x" * 256)[0][0] == "django_keyval.E016"


def test_the_settings_store_is_cached_by_default(settings: Any) -> None:
    settings.KEYVAL = {"SETTINGS": {"A": (1, "")}}
    assert get_config().local_caches["settings"].max_staleness == 0
    settings.KEYVAL = {"SETTINGS": {"A": (1, "")}, "STORES": {"settings": {"LOCAL_CACHE": False}}}
    assert "settings" not in get_config().local_caches
    settings.KEYVAL = {
        "SETTINGS": {"A": (1, "")},
        "STORES": {"settings": {"LOCAL_CACHE": {"MAX_STALENESS": 5}}},
    }
    assert get_config().local_caches["settings"].max_staleness == 5
    settings.KEYVAL = {}
    assert "settings" not in get_config().local_caches
