"""Declared live settings: ``django_keyval.config``, typed, read through the local cache."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test import RequestFactory

from django_keyval import KeyVal, config, localcache
from django_keyval.context_processors import config as config_processor
from tests.settings_helpers import DECLARED, declare
from tests.settings_page import TWENTY

UTC = datetime.timezone.utc

# A value of each declared type that is not its default.
CHANGED: dict[str, Any] = {
    "MAINTENANCE_MODE": True,
    "MAX_UPLOAD_MB": 100,
    "RATIO": 0.125,
    "PRICE": decimal.Decimal("12345678901234567890.000000001"),
    "GREETING": "hé\nllo",
    "LAUNCH_DATE": datetime.date(2031, 2, 28),
    "LAUNCH_AT": datetime.datetime(2031, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
    "OPENS": datetime.time(7, 30, 0, 1),
    "GRACE": datetime.timedelta(days=3, microseconds=7),
    "THEME": "dark",
    "LIMITS": {"max_users": [1, 2.5, None], "nested": {"a": True}},
    "ADMINS": ["a@example.com", {"b": 1}],
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def declared(settings: Any) -> None:
    declare(settings)


def test_unset_settings_read_their_defaults_and_write_nothing() -> None:
    for name, declaration in DECLARED.items():
        default = declaration[0] if isinstance(declaration, tuple) else declaration["default"]
        assert getattr(config, name) == default
    assert KeyVal("settings").count() == 0
    assert not config.is_changed("THEME")


@pytest.mark.parametrize("name", list(CHANGED))
def test_each_type_round_trips_exactly(name: str) -> None:
    value = CHANGED[name]
    setattr(config, name, value)
    localcache.clear()
    read = getattr(config, name)
    assert read == value
    assert type(read) is type(value)
    if isinstance(value, decimal.Decimal):
        assert str(read) == str(value)
    assert config.is_changed(name)


def test_the_settings_store_is_pickled_whatever_the_serializer(settings: Any) -> None:
    settings.KEYVAL = {**settings.KEYVAL, "SERIALIZER": "json"}
    config.PRICE = decimal.Decimal("0.1")
    config.GRACE = datetime.timedelta(microseconds=1)
    localcache.clear()
    assert decimal.Decimal("0.1") == config.PRICE
    assert datetime.timedelta(microseconds=1) == config.GRACE
    assert KeyVal("json-store").set("k", 1)  # other stores keep the project's serializer


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAINTENANCE_MODE", "maybe"),
        ("MAINTENANCE_MODE", 1),
        ("MAX_UPLOAD_MB", True),
        ("MAX_UPLOAD_MB", 2.5),
        ("RATIO", 1),
        ("PRICE", 1.5),
        ("GREETING", 42),
        ("LAUNCH_DATE", datetime.datetime(2031, 1, 1, tzinfo=UTC)),
        ("GRACE", 60),
        ("LIMITS", [1]),
        ("ADMINS", ("a",)),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_before_any_write(name: str, value: Any) -> None:
    with pytest.raises(TypeError, match=name):
        setattr(config, name, value)
    assert KeyVal("settings").count() == 0


def test_choices_and_validators_raise_validation_error() -> None:
    with pytest.raises(ValidationError, match="not one of the choices of THEME"):
        config.THEME = "purple"
    with pytest.raises(ValidationError):
        config.MAX_UPLOAD_MB = 10_000
    assert KeyVal("settings").count() == 0


def test_an_undeclared_name_raises_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'NOPE' is not a declared setting"):
        config.NOPE  # noqa: B018
    with pytest.raises(AttributeError, match="'NOPE'"):
        config.NOPE = 1
    assert not hasattr(config, "NOPE")
    assert "THEME" in dir(config)


def test_reset_deletes_the_stored_value() -> None:
    config.THEME = "dark"
    assert config.reset("THEME") is True
    assert config.THEME == "light"
    del config.THEME
    assert KeyVal("settings").count() == 0


def test_a_stored_value_of_another_type_reads_as_the_default() -> None:
    KeyVal("settings").set("MAX_UPLOAD_MB", "25 MiB")
    assert config.MAX_UPLOAD_MB == 25


def test_values_reads_every_setting() -> None:
    config.THEME = "dark"
    values = config.values()
    assert values["THEME"] == "dark"
    assert values["MAINTENANCE_MODE"] is False
    assert list(values) == list(DECLARED)


def test_another_settings_store(settings: Any) -> None:
    settings.KEYVAL = {**settings.KEYVAL, "SETTINGS_STORE": "site"}
    config.THEME = "dark"
    assert KeyVal("site").get("THEME") == "dark"


@pytest.mark.django_db(transaction=True)
def test_repeated_reads_in_a_snapshot_cost_no_query(
    django_assert_num_queries: Any, django_assert_max_num_queries: Any
) -> None:
    config.THEME = "dark"
    localcache.clear()
    with KeyVal.snapshot():
        with django_assert_max_num_queries(2):  # the store's generation, and its rows
            assert config.THEME == "dark"
        with django_assert_num_queries(0):
            for _ in range(5):
                assert config.THEME == "dark"
                assert config.MAINTENANCE_MODE is False  # a default: a cached miss
                assert config.values()["GRACE"] == datetime.timedelta(hours=1)


def test_async_reads_and_writes() -> None:

    async def main() -> tuple[Any, Any]:
        await config.aset("THEME", "dark")
        theme = await config.aget("THEME")
        await config.areset("THEME")
        return theme, await config.aget("THEME")

    assert async_to_sync(main)() == ("dark", "light")


def test_the_context_processor() -> None:
    config.GREETING = "bonjour"
    context = config_processor(RequestFactory().get("/"))
    assert Template("{{ config.GREETING }} {{ config.THEME }}").render(Context(context)) == (
        "bonjour light"
    )


@pytest.mark.django_db(transaction=True)
def test_a_page_reading_20_settings(
    client: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    """The figures of README.rst's "Live settings": 2 queries for the first request of a
    process (the store's generation, then the whole store, loaded once), 1 for each later
    request (the generation, unchanged), whatever the number of settings read."""
    declare(settings, TWENTY)
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {
                "context_processors": [
                    *settings.TEMPLATES[0]["OPTIONS"]["context_processors"],
                    "django_keyval.context_processors.config",
                ]
            },
        }
    ]
    config.SETTING_03 = 333
    localcache.clear()
    expected = " ".join(str(333 if n == 3 else n) for n in range(20)) + " "
    with django_assert_num_queries(2):
        assert client.get("/twenty-settings/").content.decode() == expected
    for _ in range(3):
        with django_assert_num_queries(1):
            assert client.get("/twenty-settings/").content.decode() == expected
