"""System checks of the KEYVAL setting, and importing the package without settings."""

from __future__ import annotations

import subprocess

import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_keyval.checks import check_settings
from tests.processes import run_python

pytestmark = pytest.mark.django_db


class NotASerializer:
    """A class without dumps() and loads()."""


class ValidSerializer:
    """A serializer of the project's own."""

    def dumps(self, value):
        return repr(value).encode()

    def loads(self, data):
        return data.decode()


def only(messages: list[checks.CheckMessage]) -> checks.CheckMessage:
    assert len(messages) == 1, messages
    return messages[0]


# Valid configurations


def test_no_keyval_setting_passes(settings):
    del settings.KEYVAL
    assert check_settings() == []


def test_empty_keyval_setting_passes(settings):
    settings.KEYVAL = {}
    assert check_settings() == []


def test_full_valid_keyval_setting_passes(settings):
    settings.KEYVAL = {
        "SERIALIZER": "json",
        "SIGN_VALUES": True,
        "DEFAULT_TTL": 60,
        "DATABASE": "other",
    }
    assert check_settings() == []


@pytest.mark.parametrize(
    "serializer",
    ["pickle", "json", "bytes", "tests.test_checks.ValidSerializer"],
    ids=str,
)
def test_valid_serializer_passes(settings, serializer):
    settings.KEYVAL = {"SERIALIZER": serializer}
    assert check_settings() == []


@pytest.mark.parametrize("ttl", [None, 1, 0.5, 86400], ids=repr)
def test_valid_default_ttl_passes(settings, ttl):
    settings.KEYVAL = {"DEFAULT_TTL": ttl}
    assert check_settings() == []


def test_json_without_signing_passes(settings):
    settings.KEYVAL = {"SERIALIZER": "json", "SIGN_VALUES": False}
    assert check_settings() == []


def test_database_none_passes(settings):
    settings.KEYVAL = {"DATABASE": None}
    assert check_settings() == []


# E001: not a dict


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(["SERIALIZER"], "list"), ("pickle", "str"), (None, "NoneType")],
    ids=["list", "str", "none"],
)
def test_keyval_not_a_dict_is_e001(settings, value, type_name):
    settings.KEYVAL = value
    message = only(check_settings())
    assert message.id == "django_keyval.E001"
    assert message.msg == f"KEYVAL must be a dict, not {type_name}."


def test_keyval_not_a_dict_is_an_error(settings):
    settings.KEYVAL = []
    assert only(check_settings()).level == checks.ERROR


# E002: unknown keys


def test_unknown_key_is_e002(settings):
    settings.KEYVAL = {"TTL": 10}
    message = only(check_settings())
    assert message.id == "django_keyval.E002"
    assert message.msg == "KEYVAL has unknown keys: 'TTL'."


def test_unknown_keys_are_listed_sorted_in_one_e002(settings):
    settings.KEYVAL = {"TTL": 10, "SERIALISER": "json"}
    message = only(check_settings())
    assert message.id == "django_keyval.E002"
    assert message.msg == "KEYVAL has unknown keys: 'SERIALISER', 'TTL'."


def test_unknown_key_hint_lists_the_known_keys(settings):
    settings.KEYVAL = {"TTL": 10}
    known = (
        "SERIALIZER, SIGN_VALUES, DEFAULT_TTL, DATABASE, DATABASES, LOCK_DATABASE, STORES, "
        "SETTINGS, SETTINGS_STORE"
    )
    assert only(check_settings()).hint == f"The known keys are {known}."


def test_lowercase_key_is_unknown(settings):
    settings.KEYVAL = {"serializer": "json"}
    assert only(check_settings()).id == "django_keyval.E002"


# E003: serializer


def test_unknown_serializer_name_is_e003(settings):
    settings.KEYVAL = {"SERIALIZER": "yaml"}
    message = only(check_settings())
    assert message.id == "django_keyval.E003"
    assert message.msg == (
        "KEYVAL['SERIALIZER'] is invalid: unknown serializer 'yaml': use 'pickle', 'json', "
        "'bytes' or the dotted path of a class with dumps() and loads()."
    )


def test_serializer_in_a_missing_module_is_e003(settings):
    settings.KEYVAL = {"SERIALIZER": "nope.Missing"}
    message = only(check_settings())
    assert message.id == "django_keyval.E003"
    assert message.msg == (
        "KEYVAL['SERIALIZER'] is invalid: serializer 'nope.Missing' cannot be imported: "
        "No module named 'nope'."
    )


def test_missing_serializer_class_is_e003(settings):
    settings.KEYVAL = {"SERIALIZER": "tests.test_checks.Missing"}
    message = only(check_settings())
    assert message.id == "django_keyval.E003"
    assert message.msg == (
        "KEYVAL['SERIALIZER'] is invalid: serializer 'tests.test_checks.Missing' cannot be "
        'imported: Module "tests.test_checks" does not define a "Missing" attribute/class.'
    )


@pytest.mark.parametrize(
    "path", ["tests.test_checks.NotASerializer", "os.path.join"], ids=["class", "function"]
)
def test_serializer_path_to_a_non_serializer_is_e003(settings, path):
    settings.KEYVAL = {"SERIALIZER": path}
    message = only(check_settings())
    assert message.id == "django_keyval.E003"
    assert message.msg == (
        f"KEYVAL['SERIALIZER'] is invalid: serializer {path!r} is not a class with dumps() "
        "and loads() methods."
    )


def test_serializer_not_a_str_is_e003(settings):
    settings.KEYVAL = {"SERIALIZER": 1}
    message = only(check_settings())
    assert message.id == "django_keyval.E003"
    assert message.msg == (
        "KEYVAL['SERIALIZER'] is invalid: serializer must be a str (a name or a dotted path), "
        "not 1."
    )


def test_serializer_list_is_e003_saying_it_must_be_a_str(settings):
    settings.KEYVAL = {"SERIALIZER": ["json"]}
    message = only(check_settings())
    assert message.id == "django_keyval.E003"
    assert message.msg == (
        "KEYVAL['SERIALIZER'] is invalid: serializer must be a str (a name or a dotted path), "
        "not ['json']."
    )


# E004: SIGN_VALUES


@pytest.mark.parametrize("value", ["yes", 1, 0, None], ids=repr)
def test_sign_values_not_a_bool_is_e004(settings, value):
    settings.KEYVAL = {"SIGN_VALUES": value}
    message = only(check_settings())
    assert message.id == "django_keyval.E004"
    assert message.msg == "KEYVAL['SIGN_VALUES'] must be True or False."


# E005: DEFAULT_TTL


@pytest.mark.parametrize("ttl", [0, -1, -0.5, float("inf")], ids=repr)
def test_non_positive_default_ttl_is_e005(settings, ttl):
    settings.KEYVAL = {"DEFAULT_TTL": ttl}
    message = only(check_settings())
    assert message.id == "django_keyval.E005"
    assert message.msg == (
        "KEYVAL['DEFAULT_TTL'] must be None or a positive, finite number of seconds "
        f"(or a timedelta), not {ttl!r}."
    )


@pytest.mark.parametrize("ttl", ["x", "10", True], ids=repr)
def test_non_number_default_ttl_is_e005(settings, ttl):
    settings.KEYVAL = {"DEFAULT_TTL": ttl}
    message = only(check_settings())
    assert message.id == "django_keyval.E005"
    assert message.msg == (
        "KEYVAL['DEFAULT_TTL'] must be None or a positive, finite number of seconds "
        f"(or a timedelta), not {ttl!r}."
    )


# E006: DATABASE


def test_unknown_database_alias_is_e006(settings):
    settings.KEYVAL = {"DATABASE": "nope"}
    message = only(check_settings())
    assert message.id == "django_keyval.E006"
    assert message.msg == "KEYVAL['DATABASE'] is 'nope', which is not an alias in DATABASES."


def test_unknown_database_alias_hint_lists_the_aliases(settings):
    settings.KEYVAL = {"DATABASE": "nope"}
    assert only(check_settings()).hint == "Use one of: 'default', 'other', or None."


def test_unhashable_database_is_e006(settings):
    settings.KEYVAL = {"DATABASE": ["default"]}
    assert only(check_settings()).id == "django_keyval.E006"


def test_known_database_alias_passes(settings):
    settings.KEYVAL = {"DATABASE": "default"}
    assert check_settings() == []


# E011: LOCK_DATABASE


def test_unknown_lock_database_alias_is_e011(settings):
    settings.KEYVAL = {"LOCK_DATABASE": "nope"}
    message = only(check_settings())
    assert message.id == "django_keyval.E011"
    assert message.msg == "KEYVAL['LOCK_DATABASE'] is 'nope', which is not an alias in DATABASES."
    assert message.hint == "Use one of: 'default', 'other', or None."


def test_known_lock_database_alias_passes(settings):
    settings.KEYVAL = {"LOCK_DATABASE": "other"}
    assert check_settings() == []


# W001: pickle without signing


def test_pickle_without_signing_is_w001(settings):
    settings.KEYVAL = {"SIGN_VALUES": False}
    message = only(check_settings())
    assert message.id == "django_keyval.W001"
    assert message.msg == (
        "KEYVAL uses the pickle serializer with SIGN_VALUES off: anyone who can write to the "
        "entry table can make this project run code."
    )


def test_pickle_without_signing_is_a_warning(settings):
    settings.KEYVAL = {"SIGN_VALUES": False}
    assert only(check_settings()).level == checks.WARNING


def test_explicit_pickle_without_signing_is_w001(settings):
    settings.KEYVAL = {"SERIALIZER": "pickle", "SIGN_VALUES": False}
    assert only(check_settings()).id == "django_keyval.W001"


def test_pickle_by_dotted_path_without_signing_is_w001(settings):
    settings.KEYVAL = {
        "SERIALIZER": "django_keyval.serializers.PickleSerializer",
        "SIGN_VALUES": False,
    }
    assert only(check_settings()).id == "django_keyval.W001"


# Several problems at once


def test_every_problem_is_reported(settings):
    settings.KEYVAL = {"SIGN_VALUES": "yes", "DATABASE": "nope", "TTL": 1}
    assert [message.id for message in check_settings()] == [
        "django_keyval.E002",
        "django_keyval.E004",
        "django_keyval.E006",
    ]


@pytest.mark.parametrize(
    "keyval",
    [
        ["x"],
        {"TTL": 1},
        {"SERIALIZER": "yaml"},
        {"SIGN_VALUES": "yes"},
        {"DEFAULT_TTL": 0},
        {"DATABASE": "nope"},
    ],
    ids=["E001", "E002", "E003", "E004", "E005", "E006"],
)
def test_errors_are_errors(settings, keyval):
    settings.KEYVAL = keyval
    assert only(check_settings()).level == checks.ERROR


# Through manage.py check


@pytest.mark.parametrize(
    ("keyval", "check_id"),
    [
        (["x"], "django_keyval.E001"),
        ({"TTL": 1}, "django_keyval.E002"),
        ({"SERIALIZER": "nope.Missing"}, "django_keyval.E003"),
        ({"SIGN_VALUES": "yes"}, "django_keyval.E004"),
        ({"DEFAULT_TTL": -1}, "django_keyval.E005"),
        ({"DATABASE": "nope"}, "django_keyval.E006"),
    ],
    ids=["E001", "E002", "E003", "E004", "E005", "E006"],
)
def test_check_command_fails_on_a_bad_setting(settings, keyval, check_id):
    settings.KEYVAL = keyval
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check")
    assert check_id in str(excinfo.value)


def test_check_command_passes_on_a_valid_setting(settings, capsys):
    settings.KEYVAL = {"SERIALIZER": "json", "DEFAULT_TTL": 60}
    call_command("check")
    assert "django_keyval" not in capsys.readouterr().err


def test_check_command_reports_w001_without_failing(settings, capsys):
    settings.KEYVAL = {"SIGN_VALUES": False}
    call_command("check")
    assert "django_keyval.W001" in capsys.readouterr().err


# Importing the package


def run_without_settings(code: str) -> subprocess.CompletedProcess[str]:
    return run_python("-c", code, text=True, DJANGO_SETTINGS_MODULE=None)


def test_import_without_settings_succeeds():
    result = run_without_settings("import django_keyval")
    assert result.returncode == 0, result.stderr


def test_import_without_settings_leaves_settings_unconfigured():
    result = run_without_settings(
        "import django_keyval\nfrom django.conf import settings\nprint(settings.configured)"
    )
    assert result.stdout.strip() == "False", result.stderr


def test_import_without_settings_leaves_the_app_registry_alone():
    result = run_without_settings(
        "import django_keyval\nfrom django.apps import apps\nprint(apps.loading, apps.ready)"
    )
    assert result.stdout.strip() == "False False", result.stderr


def test_import_without_settings_does_not_import_the_model():
    result = run_without_settings(
        "import sys\nimport django_keyval\nprint('django_keyval.models' in sys.modules)"
    )
    assert result.stdout.strip() == "False", result.stderr


def test_public_names_import_without_settings():
    result = run_without_settings(
        "from django_keyval import DEFAULT_TTL, KeyVal\nprint(KeyVal.__name__, repr(DEFAULT_TTL))"
    )
    assert result.stdout.strip() == "KeyVal DEFAULT_TTL", result.stderr


def test_models_keyval_is_the_package_keyval():
    result = run_python(
        "-c",
        "import django\n"
        "django.setup()\n"
        "import django_keyval\n"
        "from django_keyval.models import KeyVal\n"
        "print(KeyVal is django_keyval.KeyVal)",
        text=True,
        DJANGO_SETTINGS_MODULE=django_settings.SETTINGS_MODULE,
    )
    assert result.stdout.strip() == "True", result.stderr


def test_models_keyval_is_the_package_keyval_in_this_process():
    import django_keyval
    from django_keyval.models import KeyVal

    assert KeyVal is django_keyval.KeyVal
