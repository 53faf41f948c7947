"""manage.py keyval: the original -c form, every subcommand, errors, and real processes."""

from __future__ import annotations

import argparse
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError

from django_keyval import KeyVal
from django_keyval.management.commands.keyval import Command
from django_keyval.models import Entry
from tests.helpers import WRONG_MAC, expire, tamper
from tests.processes import child_databases, run_python, write_child_settings

pytestmark = pytest.mark.django_db


def keyval(*args: str, **options: Any) -> tuple[str, str]:
    """Run ``manage.py keyval ARGS`` through call_command; return its stdout and stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("keyval", *args, stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


# Subprocesses run the real manage.py, on the test databases of this process.


def run_manage(directory: Path, *args: str, stdin: str | None = None) -> Any:
    """Run ``python manage.py ARGS`` with the settings written in ``directory``."""
    return run_python("manage.py", *args, settings_in=directory, stdin=stdin)


@pytest.fixture
def child() -> Iterator[Path]:
    """A directory holding the settings of a manage.py process on the test databases."""
    with tempfile.TemporaryDirectory(prefix="keyval_child_") as directory:
        write_child_settings(Path(directory), child_databases())
        yield Path(directory)


# The original form


def test_original_set_new_key(kv):
    out, err = keyval("-c", "set", "-n", "test", "-k", "greeting", "-V", "hello")
    assert out == "New key greeting set to hello.\n"
    assert err == ""
    assert kv.get("greeting") == "hello"


def test_original_set_existing_key(kv):
    kv.set("greeting", "hello")
    out, _ = keyval("-c", "set", "-n", "test", "-k", "greeting", "-V", "hi")
    assert out == "Existing key greeting overwritten to hi.\n"
    assert kv.get("greeting") == "hi"


def test_original_set_stores_the_string_given(kv):
    keyval("-c", "set", "-n", "test", "-k", "n", "-V", "42")
    assert kv.get("n") == "42"


def test_original_get_prints_the_value(kv):
    kv.set("greeting", "hello")
    out, _ = keyval("-c", "get", "-n", "test", "-k", "greeting")
    assert out == "Value for key greeting is hello\n"


def test_original_del_deletes_the_key(kv):
    kv.set("greeting", "hello")
    out, _ = keyval("-c", "del", "-n", "test", "-k", "greeting")
    assert out == "Key greeting deleted\n"
    assert not kv.exists("greeting")


@pytest.mark.parametrize("command", ["get", "del"])
def test_original_missing_key_raises_the_original_warning(kv, command):
    with pytest.raises(CommandError, match=r"^Warning: Key nope does not exist in test\.$") as info:
        keyval("-c", command, "-n", "test", "-k", "nope")
    assert info.value.returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--command", "set", "--store_name", "test", "--ke", "k", "--value", "v"],
        ["--command=set", "--store-name=test", "--key=k", "--value=v"],
        ["-cset", "-ntest", "-kk", "-Vv"],
    ],
    ids=["original-long", "corrected-long", "attached"],
)
def test_original_long_options(kv, args):
    out, _ = keyval(*args)
    assert out == "New key k set to v.\n"
    assert kv.get("k") == "v"


def test_original_form_as_keyword_arguments(kv):
    out, _ = keyval(command="set", store_name="test", key="k", value="v")
    assert out == "New key k set to v.\n"
    out, _ = keyval(command="get", store_name="test", key="k")
    assert out == "Value for key k is v\n"


def test_original_value_may_start_with_a_dash(kv):
    keyval("-c", "set", "-n", "test", "-k", "k", "-V", "-5")
    assert kv.get("k") == "-5"


def test_original_set_without_value_fails(kv):
    with pytest.raises(CommandError, match="-c set needs -V VALUE"):
        keyval("-c", "set", "-n", "test", "-k", "k")


@pytest.mark.parametrize("missing", ["-n", "-k"])
def test_original_form_without_name_or_key_fails(kv, missing):
    args = {"-n": "test", "-k": "k"}
    del args[missing]
    with pytest.raises(CommandError, match="needs -n NAME and -k KEY"):
        keyval("-c", "get", *[part for item in args.items() for part in item])


def test_original_form_and_subcommand_together_fail(kv):
    with pytest.raises(CommandError, match="not both"):
        keyval("-c", "get", "get", "test", "k")


def test_no_subcommand_fails(db):
    with pytest.raises(CommandError, match="Give a subcommand"):
        keyval()


def test_unknown_subcommand_fails(db):
    with pytest.raises(CommandError, match="invalid choice: 'bogus'"):
        keyval("bogus")


# set, get, del


def test_set_stores_the_string_given(kv):
    out, _ = keyval("set", "test", "k", "42")
    assert out == "New key k set to 42.\n"
    assert kv.get("k") == "42"


def test_set_overwrite_says_so(kv):
    kv.set("k", 1)
    out, _ = keyval("set", "test", "k", "2")
    assert out == "Existing key k overwritten to 2.\n"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("4.5", 4.5),
        ('"42"', "42"),
        ("true", True),
        ("null", None),
        ('[1, "a", {"b": null}]', [1, "a", {"b": None}]),
        ('{"é": [1.0]}', {"é": [1.0]}),
    ],
)
def test_set_json_stores_the_typed_value(kv, text, value):
    keyval("set", "test", "k", text, "--json")
    stored = kv.get("k")
    assert stored == value
    assert type(stored) is type(value)


def test_set_invalid_json_fails_and_writes_nothing(kv):
    with pytest.raises(CommandError, match=r"^Invalid JSON value for key 'k': Expecting"):
        keyval("set", "test", "k", "{nope", "--json")
    assert not kv.exists("k")


def test_set_ttl(kv):
    keyval("set", "test", "k", "v", "--ttl", "90.5")
    assert 89 < kv.ttl("k") <= 90.5


def test_set_without_ttl_uses_the_store_default(kv, settings):
    settings.KEYVAL = {"DEFAULT_TTL": 60}
    keyval("set", "test", "k", "v")
    assert 55 < kv.ttl("k") <= 60


@pytest.mark.parametrize("ttl", ["0", "-1", "abc", "inf", "nan"])
def test_set_bad_ttl_fails(kv, ttl):
    with pytest.raises(CommandError, match="argument --ttl"):
        keyval("set", "test", "k", "v", f"--ttl={ttl}")
    assert not kv.exists("k")


def test_set_invalid_key_fails(kv):
    with pytest.raises(CommandError, match="longer than 255"):
        keyval("set", "test", "k" * 256, "v")


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("hello", "hello"),
        ("", ""),
        ("two\nlines\n", "two\nlines\n"),
        ("日本 ✓", "日本 ✓"),
        (42, "42"),
        (-0.0, "-0.0"),
        (None, "null"),
        (True, "true"),
        ([1, "a", None], '[1, "a", null]'),
        ({"é": {"x": [1.5]}}, '{"é": {"x": [1.5]}}'),
        ((1, 2), "(1, 2)"),
        (b"\x00\xff", "b'\\x00\\xff'"),
        (float("nan"), "nan"),
        ({1: "int key"}, "{1: 'int key'}"),
    ],
    ids=repr,
)
def test_get_prints_str_as_is_json_or_repr(kv, value, printed):
    kv.set("k", value)
    out, _ = keyval("get", "test", "k")
    assert out == printed + "\n"


@pytest.mark.parametrize(
    ("value", "printed"),
    [("hello", '"hello"'), (42, "42"), ([1, None], "[1, null]"), ("é", '"é"')],
)
def test_get_json_prints_json(kv, value, printed):
    kv.set("k", value)
    out, _ = keyval("get", "test", "k", "--json")
    assert out == printed + "\n"


def test_get_json_of_a_value_json_cannot_carry_fails(kv):
    kv.set("k", (1, 2))
    with pytest.raises(CommandError, match=r"is a tuple, which JSON cannot represent: \(1, 2\)"):
        keyval("get", "test", "k", "--json")


def test_get_missing_key_fails_with_the_original_warning(kv):
    with pytest.raises(CommandError, match=r"^Warning: Key nope does not exist in test\.$"):
        keyval("get", "test", "nope")


def test_get_expired_key_is_missing(kv):
    kv.set("k", "v")
    expire(kv, "k")
    with pytest.raises(CommandError, match="does not exist"):
        keyval("get", "test", "k")


def test_get_corrupt_value_fails_in_one_line(kv):
    kv.set("k", "v")
    tamper("test", "k", mac=WRONG_MAC)
    with pytest.raises(CommandError, match="fails its signature") as info:
        keyval("get", "test", "k")
    assert "\n" not in str(info.value)


def test_del_deletes(kv):
    kv.set("k", "v")
    out, _ = keyval("del", "test", "k")
    assert out == "Key k deleted\n"
    assert not kv.exists("k")


def test_del_missing_key_fails(kv):
    with pytest.raises(CommandError, match=r"^Warning: Key k does not exist in test\.$"):
        keyval("del", "test", "k")


def test_verbosity_zero_silences_messages_but_not_values(kv):
    assert keyval("set", "test", "k", "v", "-v", "0") == ("", "")
    assert keyval("get", "test", "k", "-v", "0") == ("v\n", "")
    assert keyval("-v", "0", "del", "test", "k") == ("", "")


def test_original_options_are_not_taken_after_a_subcommand(kv):
    with pytest.raises(CommandError, match="unrecognized arguments: -V x"):
        keyval("get", "test", "k", "-V", "x")


def test_django_options_work_after_a_subcommand(kv):
    keyval("set", "test", "k", "v", "--traceback", "--no-color", "--skip-checks")
    assert kv.get("k") == "v"


# list


def test_list_shows_every_store_with_its_key_count(kv, other_kv):
    kv.set_many({"a": 1, "b": 2})
    other_kv.set("a", 1)
    expired = KeyVal("expired")
    expired.set("gone", 1)
    expire(expired, "gone")
    out, _ = keyval("list")
    assert out == "other\t1\ntest\t2\n"


def test_list_without_stores_prints_nothing(db):
    assert keyval("list") == ("", "")


def test_list_store_shows_keys_with_type_size_and_expiry(kv):
    kv.set("text", "hello")
    kv.set("number", 42, ttl=3600)
    kv.set("tab\tkey", (1,))
    out, _ = keyval("list", "test")
    lines = [line.split("\t") for line in out.splitlines()]
    assert [line[:2] for line in lines] == [
        ["number", "int"],
        ["'tab\\tkey'", "tuple"],
        ["text", "str"],
    ]
    sizes = {row.key: len(row.value) for row in Entry.objects.filter(store="test")}
    assert [int(line[2]) for line in lines] == [sizes["number"], sizes["tab\tkey"], sizes["text"]]
    assert lines[0][3].endswith("Z") and lines[0][3][:2] == "20"
    assert lines[2][3] == "never"


def test_list_store_with_prefix(kv):
    kv.set_many({"user:1": "a", "user:2": "b", "other": "c"})
    out, _ = keyval("list", "test", "--prefix", "user:")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["user:1", "user:2"]


def test_list_shows_corrupt_values_as_such(kv):
    kv.set("k", "v")
    tamper("test", "k", mac=WRONG_MAC)
    out, _ = keyval("list", "test")
    assert out.split("\t")[:2] == ["k", "corrupt"]


def test_list_missing_store_fails(db):
    with pytest.raises(CommandError, match=r"^Store 'nope' does not exist"):
        keyval("list", "nope")


def test_list_prefix_without_store_fails(db):
    with pytest.raises(CommandError, match="give its NAME"):
        keyval("list", "--prefix", "a")


# flush


@pytest.fixture
def answer(monkeypatch):
    """Answer the confirmation prompt with the text set on the returned list."""
    answers: list[str] = []
    questions: list[str] = []

    def fake_input(question: str) -> str:
        questions.append(question)
        if not answers:
            raise EOFError
        return answers.pop(0)

    monkeypatch.setattr("builtins.input", fake_input)
    return answers, questions


def test_flush_asks_then_flushes(kv, other_kv, answer):
    answers, questions = answer
    answers[:] = ["yes"]
    kv.set_many({"a": 1, "b": 2})
    other_kv.set("a", 1)
    out, _ = keyval("flush", "test")
    assert "deletes all 2 keys of store 'test' on database 'default'" in questions[0]
    assert out == "Flushed store 'test'.\n"
    assert kv.count() == 0
    assert other_kv.count() == 1


@pytest.mark.parametrize("reply", ["no", "", "n", "whatever"])
def test_flush_declined_changes_nothing_and_succeeds(kv, answer, reply):
    answers, _ = answer
    answers[:] = [reply]
    kv.set("a", 1)
    out, _ = keyval("flush", "test")
    assert out == "Flush cancelled.\n"
    assert kv.get("a") == 1


@pytest.mark.parametrize("option", ["--yes", "--noinput", "--no-input"])
def test_flush_without_prompt(kv, answer, option):
    _, questions = answer
    kv.set("a", 1)
    keyval("flush", "test", option)
    assert questions == []
    assert kv.count() == 0


def test_flush_without_an_answer_fails_and_changes_nothing(kv, answer):
    answers, _ = answer
    answers.clear()
    kv.set("a", 1)
    with pytest.raises(CommandError, match="pass --yes"):
        keyval("flush", "test")
    assert kv.get("a") == 1


def test_flush_all(kv, other_kv):
    kv.set("a", 1)
    other_kv.set("a", 1)
    out, _ = keyval("flush", "--all", "--yes")
    assert out == "Flushed every store on database 'default'.\n"
    assert KeyVal.stores() == []


def test_flush_all_declined(kv, answer):
    answers, questions = answer
    answers[:] = ["no"]
    kv.set("a", 1)
    keyval("flush", "--all")
    assert questions[0].startswith("This deletes every key of 1 store on database 'default'.")
    assert kv.get("a") == 1


@pytest.mark.parametrize("args", [[], ["test", "--all"]])
def test_flush_needs_a_store_or_all(kv, args):
    with pytest.raises(CommandError, match="either a store NAME or --all"):
        keyval("flush", *args, "--yes")


def test_flush_missing_store_fails(db):
    with pytest.raises(CommandError, match="'nope' does not exist"):
        keyval("flush", "nope", "--yes")


# purge-expired


def test_purge_expired(kv):
    kv.set_many({"a": 1, "b": 2, "c": 3})
    expire(kv, "a")
    expire(kv, "b")
    out, _ = keyval("purge-expired", "--batch-size", "1")
    assert out == "Purged 2 expired entries.\n"
    assert Entry.objects.count() == 1


@pytest.mark.parametrize("size", ["0", "-1", "x"])
def test_purge_expired_bad_batch_size_fails(db, size):
    with pytest.raises(CommandError, match="argument --batch-size"):
        keyval("purge-expired", f"--batch-size={size}")


# --database


@pytest.mark.django_db(databases=["default", "other"])
def test_database_option_picks_the_alias():
    keyval("set", "test", "k", "there", "--database", "other")
    keyval("--database=other", "-c", "set", "-n", "test", "-k", "k2", "-V", "there")
    assert KeyVal("test", using="other").get_many(["k", "k2"]) == {"k": "there", "k2": "there"}
    assert not KeyVal("test").exists("k")
    assert keyval("get", "test", "k", "--database", "other")[0] == "there\n"
    assert keyval("list", "--database", "other")[0] == "test\t2\n"


def test_unknown_database_alias_fails(db):
    with pytest.raises(CommandError, match="Unknown database alias 'nope'"):
        keyval("get", "test", "k", "--database", "nope")


# Help


@pytest.mark.parametrize(
    "subcommand", ["set", "get", "del", "list", "flush", "export", "import", "purge-expired"]
)
def test_help_of_each_subcommand(subcommand, capsys):
    with pytest.raises(SystemExit) as info:
        keyval(subcommand, "--help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"keyval {subcommand}" in out
    assert "--database" in out


# Real processes: exit statuses and stderr, as scripts see them


@pytest.mark.django_db(transaction=True)
def test_process_original_form(child):
    result = run_manage(child, "keyval", "-c", "set", "-n", "app", "-k", "greeting", "-V", "hi")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        b"New key greeting set to hi.\n",
        b"",
    )
    result = run_manage(
        child, "keyval", "--command", "get", "--store_name", "app", "--ke", "greeting"
    )
    assert (result.returncode, result.stdout) == (0, b"Value for key greeting is hi\n")
    result = run_manage(child, "keyval", "-c", "del", "-n", "app", "-k", "greeting")
    assert (result.returncode, result.stdout) == (0, b"Key greeting deleted\n")
    assert not KeyVal("app").exists("greeting")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("args", [["-c", "get", "-n", "app", "-k", "nope"], ["del", "app", "nope"]])
def test_process_missing_key_prints_the_warning_and_exits_1(child, args):
    result = run_manage(child, "keyval", *args)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr == b"Warning: Key nope does not exist in app.\n"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["set", "app", "k", "v", "--ttl", "0"], 2, b"argument --ttl: '0' is not a positive"),
        (["get", "app"], 2, b"the following arguments are required: KEY"),
        (["bogus"], 2, b"invalid choice: 'bogus'"),
        (["set", "app", "k", "{", "--json"], 1, b"CommandError: Invalid JSON value for key 'k'"),
        (["list", "nope"], 1, b"CommandError: Store 'nope' does not exist"),
        (["import", "/nonexistent/dump.jsonl"], 1, b"Cannot read /nonexistent/dump.jsonl: No such"),
        (["export", "-o", "/nonexistent/dump.jsonl"], 1, b"Cannot write /nonexistent/dump.jsonl"),
        (["get", "app", "k", "--database", "nope"], 1, b"Unknown database alias 'nope'"),
    ],
    ids=["bad-ttl", "missing-arg", "bad-subcommand", "bad-json", "no-store", "no-file",
         "bad-output", "bad-alias"],
)  # fmt: skip
def test_process_errors_are_one_line_with_a_status(child, args, status, message):
    result = run_manage(child, "keyval", *args)
    assert result.returncode == status
    assert message in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert b"Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True)
def test_process_flush_declined_exits_0_and_keeps_the_store(child):
    KeyVal("app").set("k", "v")
    result = run_manage(child, "keyval", "flush", "app", stdin="no\n")
    assert result.returncode == 0
    assert result.stdout.endswith(b"Flush cancelled.\n")
    assert KeyVal("app").get("k") == "v"
    result = run_manage(child, "keyval", "flush", "app", "--noinput")
    assert result.returncode == 0
    assert not KeyVal("app").exists("k")


@pytest.mark.django_db(transaction=True)
def test_process_set_and_get_typed_values(child):
    run_manage(child, "keyval", "set", "app", "n", "41.5", "--json", "--ttl", "60")
    assert KeyVal("app").get("n") == 41.5
    ttl = KeyVal("app").ttl("n")
    assert ttl is not None and 30 < ttl <= 60
    result = run_manage(child, "keyval", "get", "app", "n", "-v", "0")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"41.5\n", b"")


def test_every_subcommand_has_one_handler():
    command = Command()
    parser = command.create_parser("manage.py", "keyval")
    (subparsers,) = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    assert set(command._subcommands()) == set(subparsers.choices)


# cull


def test_keyval_cull_command_culls_every_keyval_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_keyval.cache.KeyValCache",
            "LOCATION": "cache",
            "OPTIONS": {"MAX_ENTRIES": 4, "CULL_CHECK_INTERVAL": 100},
        },
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    caches["default"].set_many({f"k{i}": i for i in range(6)})
    assert keyval("cull") == ("Culled 2 entries from cache 'default'.\n", "")
    assert KeyVal("cache").count() == 4
    assert keyval("cull", "default") == ("Culled 0 entries from cache 'default'.\n", "")


@pytest.mark.parametrize(
    ("alias", "message"),
    [("nope", "Unknown cache 'nope'."), ("local", "Cache 'local' is not a KeyValCache.")],
)
def test_keyval_cull_command_refuses_other_caches(settings, alias, message):
    settings.CACHES = {
        "default": {"BACKEND": "django_keyval.cache.KeyValCache"},
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    with pytest.raises(CommandError, match=message):
        keyval("cull", alias)
