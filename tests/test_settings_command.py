"""``manage.py keyval settings`` and the typed get/set of declared settings."""

from __future__ import annotations

import datetime
import decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_keyval import KeyVal, config
from tests.settings_helpers import declare

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def declared(settings: Any) -> None:
    declare(settings)


def keyval(*args: str) -> str:
    out = StringIO()
    call_command("keyval", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("MAINTENANCE_MODE", "true", True),
        ("MAINTENANCE_MODE", "off", False),
        ("MAX_UPLOAD_MB", "100", 100),
        ("RATIO", "0.25", 0.25),
        ("PRICE", "0.10", decimal.Decimal("0.10")),
        ("GREETING", "42", "42"),
        ("LAUNCH_DATE", "2031-02-03", datetime.date(2031, 2, 3)),
        ("OPENS", "07:30", datetime.time(7, 30)),
        ("GRACE", "1 02:00:00", datetime.timedelta(days=1, hours=2)),
        ("GRACE", "P2D", datetime.timedelta(days=2)),
        ("THEME", "dark", "dark"),
        ("LIMITS", '{"a": [1]}', {"a": [1]}),
    ],
)
def test_set_parses_by_the_declared_type(name: str, text: str, value: Any) -> None:
    assert keyval("set", "settings", name, text) == f"New key {name} set to {text}.\n"
    assert getattr(config, name) == value
    assert type(getattr(config, name)) is type(value)
    assert KeyVal("settings").ttl(name) is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "MAINTENANCE_MODE",
            "maybe",
            "Invalid value for setting MAINTENANCE_MODE: 'maybe' is not a bool",
        ),
        ("MAX_UPLOAD_MB", "2.5", "Invalid value for setting MAX_UPLOAD_MB: '2.5' is not a int"),
        ("MAX_UPLOAD_MB", "5000", "Ensure this value is less than or equal to 1000."),
        ("PRICE", "cheap", "'cheap' is not a Decimal"),
        ("THEME", "purple", "'purple' is not one of: light, dark"),
        ("LIMITS", "[1]", "JSON list, not dict"),
    ],
)
def test_a_bad_value_is_one_clear_error(name: str, text: str, message: str) -> None:
    with pytest.raises(CommandError, match="^Invalid value for setting") as raised:
        keyval("set", "settings", name, text)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert KeyVal("settings").count() == 0


def test_json_values_are_checked() -> None:
    keyval("set", "settings", "MAX_UPLOAD_MB", "7", "--json")
    assert config.MAX_UPLOAD_MB == 7
    with pytest.raises(CommandError, match="setting GREETING is a str, not int"):
        keyval("set", "settings", "GREETING", "7", "--json")


def test_settings_never_expire() -> None:
    with pytest.raises(CommandError, match="settings never expire"):
        keyval("set", "settings", "THEME", "dark", "--ttl", "5")


def test_other_keys_and_stores_are_plain_strings() -> None:
    keyval("set", "settings", "UNDECLARED", "true")
    keyval("set", "other", "MAINTENANCE_MODE", "true")
    assert KeyVal("settings").get("UNDECLARED") == "true"
    assert KeyVal("other").get("MAINTENANCE_MODE") == "true"


def test_get_prints_the_default_of_an_unset_setting() -> None:
    assert keyval("get", "settings", "THEME") == "light\n"
    assert keyval("get", "settings", "MAX_UPLOAD_MB") == "25\n"
    assert KeyVal("settings").count() == 0


def test_settings_lists_every_declared_setting() -> None:
    config.THEME = "dark"
    lines = keyval("settings").splitlines()
    assert len(lines) == 12
    assert "THEME\tchoice\tchanged\tdark\tlight" in lines
    assert "MAINTENANCE_MODE\tbool\tdefault\tfalse\tfalse" in lines
    assert (
        "GRACE\ttimedelta\tdefault\tdatetime.timedelta(seconds=3600)\tdatetime.timedelta(seconds=3600)"
        in lines
    )


def test_stale_keys_are_listed_and_deleted() -> None:
    config.THEME = "dark"
    KeyVal("settings").set_many({"OLD_FLAG": True, "REMOVED": 1})
    assert keyval("settings", "--stale") == "OLD_FLAG\nREMOVED\n"
    out = keyval("settings", "--stale", "--delete", "--yes")
    assert out.endswith("Deleted 2 stale keys.\n")
    assert KeyVal("settings").keys() == ["THEME"]
    with pytest.raises(CommandError, match="give --stale too"):
        keyval("settings", "--delete")
