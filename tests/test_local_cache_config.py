"""KEYVAL["STORES"][name]["LOCAL_CACHE"]: parsed options, and the checks E008-E010."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_keyval.checks import check_settings
from django_keyval.conf import get_config
from django_keyval.storeconf import LocalCacheOptions


def only(messages):
    assert len(messages) == 1, messages
    return messages[0]


def test_true_takes_the_defaults(settings):
    settings.KEYVAL = {"STORES": {"settings": {"LOCAL_CACHE": True}}}
    assert get_config().local_caches == {
        "settings": LocalCacheOptions(
            max_staleness=0.0, max_age=300.0, load_all_max_keys=1000, serve_stale_on_error=0.0
        )
    }


def test_a_dict_is_merged_over_the_defaults(settings):
    settings.KEYVAL = {"STORES": {"flags": {"LOCAL_CACHE": {"MAX_STALENESS": 2}}}}
    options = get_config().local_caches["flags"]
    assert (options.max_staleness, options.max_age) == (2.0, 300.0)


def test_false_and_undeclared_stores_have_no_local_cache(settings):
    settings.KEYVAL = {"STORES": {"plain": {"LOCAL_CACHE": False}, "other": {}}}
    assert get_config().local_caches == {}


def test_no_stores_is_no_local_cache(settings):
    settings.KEYVAL = {}
    assert get_config().local_caches == {}
    assert check_settings() == []


def test_a_valid_declaration_passes_the_checks(settings):
    settings.KEYVAL = {
        "STORES": {
            "settings": {
                "LOCAL_CACHE": {
                    "MAX_STALENESS": 0.5,
                    "MAX_AGE": 60,
                    "LOAD_ALL_MAX_KEYS": 0,
                    "SERVE_STALE_ON_ERROR": 30,
                }
            }
        }
    }
    assert check_settings() == []


# E008: the STORES mapping


def test_stores_not_a_dict_is_e008(settings):
    settings.KEYVAL = {"STORES": ["settings"]}
    message = only(check_settings())
    assert message.id == "django_keyval.E008"
    assert message.msg == "KEYVAL['STORES'] must be a dict, not list."


def test_store_options_not_a_dict_is_e008(settings):
    settings.KEYVAL = {"STORES": {"settings": True}}
    message = only(check_settings())
    assert message.id == "django_keyval.E008"
    assert message.msg == "KEYVAL['STORES']['settings'] must be a dict, not bool."


def test_unknown_store_option_is_e008(settings):
    settings.KEYVAL = {"STORES": {"settings": {"LOCAL_CAHCE": True}}}
    message = only(check_settings())
    assert message.id == "django_keyval.E008"
    assert message.msg == "KEYVAL['STORES']['settings'] has unknown keys: 'LOCAL_CAHCE'."
    assert message.hint == (
        "The known keys are LOCAL_CACHE, HISTORY, SIGNAL_OLD_VALUES, SIGN_VALUES."
    )


def test_invalid_store_name_is_e008(settings):
    settings.KEYVAL = {"STORES": {"a\x00b": {"LOCAL_CACHE": True}}}
    assert only(check_settings()).id == "django_keyval.E008"


# E009: the LOCAL_CACHE declaration


def test_local_cache_of_another_type_is_e009(settings):
    settings.KEYVAL = {"STORES": {"settings": {"LOCAL_CACHE": 1}}}
    message = only(check_settings())
    assert message.id == "django_keyval.E009"
    assert message.msg == (
        "KEYVAL['STORES']['settings']['LOCAL_CACHE'] must be True, False or a dict, not int."
    )


def test_unknown_local_cache_option_is_e009(settings):
    settings.KEYVAL = {"STORES": {"settings": {"LOCAL_CACHE": {"TTL": 1}}}}
    message = only(check_settings())
    assert message.id == "django_keyval.E009"
    assert message.msg == "KEYVAL['STORES']['settings']['LOCAL_CACHE'] has unknown keys: 'TTL'."
    assert message.hint == (
        "The known keys are MAX_STALENESS, MAX_AGE, LOAD_ALL_MAX_KEYS, SERVE_STALE_ON_ERROR."
    )


# E010: bad values


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("MAX_STALENESS", -1, "a number of seconds, 0 or more"),
        ("MAX_STALENESS", "1", "a number of seconds, 0 or more"),
        ("MAX_STALENESS", True, "a number of seconds, 0 or more"),
        ("MAX_AGE", 0, "a positive number of seconds"),
        ("MAX_AGE", float("inf"), "a positive number of seconds"),
        ("LOAD_ALL_MAX_KEYS", 1.5, "an int of 0 or more"),
        ("LOAD_ALL_MAX_KEYS", -1, "an int of 0 or more"),
        ("SERVE_STALE_ON_ERROR", None, "a number of seconds, 0 or more"),
    ],
)
def test_bad_option_value_is_e010(settings, option, value, expected):
    settings.KEYVAL = {"STORES": {"settings": {"LOCAL_CACHE": {option: value}}}}
    message = only(check_settings())
    assert message.id == "django_keyval.E010"
    assert message.msg == (
        f"KEYVAL['STORES']['settings']['LOCAL_CACHE'][{option!r}] must be {expected}, "
        f"not {value!r}."
    )


def test_a_bad_declaration_stops_the_store_at_runtime(settings):
    settings.KEYVAL = {"STORES": {"settings": {"LOCAL_CACHE": {"MAX_AGE": -1}}}}
    with pytest.raises(ImproperlyConfigured, match="MAX_AGE"):
        get_config()
