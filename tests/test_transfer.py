"""Export and import: the line format, lossless round trips across databases, all-or-nothing."""

from __future__ import annotations

import base64
import io
import json
import math
import pickle
import random
import tempfile
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from django_keyval import KeyVal
from django_keyval.jsonvalues import is_json_value
from django_keyval.management import console
from django_keyval.models import Entry
from django_keyval.transfer import IMPORT_BATCH
from tests.helpers import WRONG_MAC, expire, tamper
from tests.processes import run_python, write_child_settings
from tests.test_commands import keyval

pytestmark = pytest.mark.django_db

CUSTOM = "tests.test_codec.ReversedJSONSerializer"


class Label(str):
    """A str subclass: JSON would lose its type, so it travels pickled."""


BIG = random.Random(5).randbytes(5 * 2**20)

VALUES: dict[str, Any] = {
    "str": "hello",
    "empty str": "",
    "unicode str": "värde ✓ 日本 🚀",
    "control chars": "line\nbreak\ttab\r\x00nul \u2028 \u2029 \x1b",
    "lone surrogate": "half \ud800 pair",
    "int": -7,
    "big int": 10**30,
    "huge int": 10**5000,
    "float": 1.5,
    "tiny float": 5e-324,
    "negative zero": -0.0,
    "nan": float("nan"),
    "inf": float("inf"),
    "-inf": float("-inf"),
    "true": True,
    "false": False,
    "none": None,
    "list": [1, "two", [3.0, None], {"k": False}],
    "dict": {"a": 1, "nested": {"b": [True]}, "é": "ü", "": 0},
    "empty list": [],
    "empty dict": {},
    "tuple": (1, "two"),
    "list of tuple": [(1, 2)],
    "list of nan": [float("nan")],
    "set": {1, 2, 3},
    "frozenset": frozenset({"a"}),
    "int keys": {1: "one"},
    "ordered dict": OrderedDict(a=1),
    "str subclass": Label("label"),
    "datetime": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
    "decimal": Decimal("1.10"),
    "bytes": b"\x00\xff binary",
    "empty bytes": b"",
    "bytearray": bytearray(b"ba"),
    "5 MiB": BIG,
}

KEYS = [
    "",
    "Key",
    "key",
    "key ",
    "ké",
    "ke\u0301",
    "tab\tkey",
    "new\nline",
    "%_\\",
    "日本 🚀",
    "x" * 255,
]

# (store, key, value, ttl, serializer): what populate() writes.
SAMPLE: list[tuple[str, str, Any, float | None, str | None]] = [
    *(("values", key, value, None, None) for key, value in VALUES.items()),
    *(("keys", key, f"value of {key}", None, None) for key in KEYS),
    ("ünïcødé store ✓", "ключ", "значение", 3600, None),
    ("expiring", "hour", 1, 3600, None),
    ("expiring", "day and a half second", [1], 86400.5, None),
    ("as-json", "doc", {"x": [1, 2]}, None, "json"),
    ("as-json", "text", "plain", 600, "json"),
    ("as-bytes", "raw", b"\x00raw\xff", None, "bytes"),
]


def populate() -> None:
    """Write SAMPLE through the facade (a child process on another database calls this too)."""
    for store, key, value, ttl, serializer in SAMPLE:
        KeyVal(store, serializer=serializer).set(key, value, ttl=ttl)


def same(a: Any, b: Any) -> bool:
    """Return whether ``a`` and ``b`` are equal with the same types all the way down."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    return bool(a == b)


def stored() -> dict[tuple[str, str], tuple[Any, str, float | None]]:
    """Return every live entry of the default database: (value, serializer, expires_at)."""
    now = time.time()
    return {
        (row.store, row.key): (KeyVal(row.store).get(row.key), row.serializer, row.expires_at)
        for row in Entry.objects.all()
        if row.expires_at is None or row.expires_at > now
    }


def snapshot(using: str = "default") -> list[tuple[Any, ...]]:
    """Return every row of the entry table, exactly as stored."""
    rows = Entry.objects.using(using).order_by("store", "key")
    return [
        (row.store, row.key, bytes(row.value), row.serializer, row.mac and bytes(row.mac),
         row.expires_at, row.updated_at)
        for row in rows
    ]  # fmt: skip


def file_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def expiries(path: Path) -> dict[tuple[str, str], float | None]:
    return {(line["store"], line["key"]): line["expires_at"] for line in file_lines(path)[1:]}


def assert_sample_imported(path: Path) -> None:
    """Assert that the default database holds SAMPLE exactly, with the expiries in ``path``."""
    entries = stored()
    assert sorted(entries) == sorted((store, key) for store, key, *_ in SAMPLE)
    exported = expiries(path)
    exported_at = file_lines(path)[0]["exported_at"]
    for store, key, value, ttl, serializer in SAMPLE:
        got, tag, expires_at = entries[store, key]
        assert same(got, value), (store, key, got, value)
        assert tag == (serializer or "pickle")
        assert expires_at == exported[store, key]
        if ttl is None:
            assert expires_at is None
        else:
            assert abs(expires_at - (exported_at + ttl)) < 300


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="keyval_transfer_") as directory:
        yield Path(directory)


def export(path: Path, *args: str) -> str:
    return keyval("export", "-o", str(path), *args)[0]


def write_file(path: Path, *records: dict[str, Any] | str) -> Path:
    lines = [json.dumps({"format": "django-keyval", "version": 1})]
    lines += [record if isinstance(record, str) else json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def record(key: str, value: Any = "v", **fields: Any) -> dict[str, Any]:
    return {
        "store": "test",
        "key": key,
        "type": "json",
        "expires_at": None,
        "value": value,
        **fields,
    }


# What JSON carries


@pytest.mark.parametrize(
    "value",
    ["", "é", 0, -1, 10**40, 1.5, -0.0, True, None, [], {}, [1, [None, {"a": ["b"]}]], {"": 1}],
    ids=repr,
)
def test_json_values(value):
    assert is_json_value(value)


@pytest.mark.parametrize(
    "value",
    [(1,), [(1,)], {1: "a"}, {"a": (1,)}, float("nan"), [float("inf")], b"", Label("x"),
     OrderedDict(), {1, 2}, Decimal(1), object()],
    # object()'s repr holds its address, which differs between processes.
    ids=lambda value: "object()" if type(value) is object else repr(value),
)  # fmt: skip
def test_values_json_would_change(value):
    assert not is_json_value(value)


# The format


def test_export_header_then_one_readable_object_per_entry(kv, workdir):
    kv.set("greeting", "hello")
    kv.set("日本", {"a": [1, None]}, ttl=60)
    kv.set("raw", b"\x00\xff")
    kv.set("pair", (1, 2))
    export(workdir / "dump.jsonl")
    text = (workdir / "dump.jsonl").read_text(encoding="utf-8")
    header, *lines = file_lines(workdir / "dump.jsonl")
    assert header["format"] == "django-keyval"
    assert header["version"] == 1
    assert time.time() - header["exported_at"] < 60
    by_key = {line["key"]: line for line in lines}
    assert by_key["greeting"] == {
        "store": "test", "key": "greeting", "type": "json", "serializer": "pickle",
        "expires_at": None, "value": "hello",
    }  # fmt: skip
    assert by_key["日本"]["value"] == {"a": [1, None]}
    assert by_key["日本"]["expires_at"] == Entry.objects.get(key="日本").expires_at
    assert '"key": "日本"' in text  # Readable, not \u-escaped.
    assert by_key["raw"]["type"] == "bytes"
    assert base64.b64decode(by_key["raw"]["value"]) == b"\x00\xff"
    assert by_key["pair"]["type"] == "pickle"
    assert pickle.loads(base64.b64decode(by_key["pair"]["value"])) == (1, 2)
    assert [line["key"] for line in lines] == ["greeting", "pair", "raw", "日本"]


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("huge int", "pickle"),
        ("nan", "pickle"),
        ("lone surrogate", "json"),
        ("bytearray", "pickle"),
    ],
)
def test_export_carries_awkward_values(db, workdir, key, kind):
    KeyVal("values").set(key, VALUES[key])
    export(workdir / "dump.jsonl")
    (line,) = file_lines(workdir / "dump.jsonl")[1:]
    assert line["type"] == kind


def test_export_to_stdout_is_the_file(kv, workdir):
    kv.set_many({"a": 1, "b": "two"})
    export(workdir / "dump.jsonl")
    out, err = keyval("export")
    assert err == ""
    strip = [json.loads(line) for line in out.splitlines()][1:]
    assert strip == file_lines(workdir / "dump.jsonl")[1:]


def test_export_named_stores_only(kv, other_kv, workdir):
    kv.set("a", 1)
    other_kv.set("b", 2)
    KeyVal("third").set("c", 3)
    out = export(workdir / "dump.jsonl", "third", "test", "test")
    assert out == f"Exported 2 entries of 2 stores to {workdir / 'dump.jsonl'}.\n"
    out = export(workdir / "one.jsonl", "third")
    assert out == f"Exported 1 entry of 1 store to {workdir / 'one.jsonl'}.\n"
    assert [line["store"] for line in file_lines(workdir / "dump.jsonl")[1:]] == ["third", "test"]


def test_export_dash_is_stdout(kv):
    kv.set("a", 1)
    out, _ = keyval("export", "-o", "-")
    assert [json.loads(line)["key"] for line in out.splitlines()[1:]] == ["a"]


def test_export_onto_a_directory_fails_and_leaves_nothing(kv, workdir):
    kv.set("a", 1)
    (workdir / "sub").mkdir()
    with pytest.raises(CommandError, match=r"^Cannot write .*sub: Is a directory\.$"):
        export(workdir / "sub")
    assert list(workdir.iterdir()) == [workdir / "sub"]


def test_export_missing_store_fails(kv, workdir):
    kv.set("a", 1)
    with pytest.raises(CommandError, match="Store 'nope' does not exist"):
        export(workdir / "dump.jsonl", "test", "nope")
    assert list(workdir.iterdir()) == []


def test_export_leaves_out_expired_entries(kv, workdir):
    kv.set_many({"live": 1, "dead": 2})
    expire("test", "dead")
    export(workdir / "dump.jsonl")
    assert [line["key"] for line in file_lines(workdir / "dump.jsonl")[1:]] == ["live"]


def test_export_file_is_private(kv, workdir):
    kv.set("a", 1)
    export(workdir / "dump.jsonl")
    assert (workdir / "dump.jsonl").stat().st_mode & 0o077 == 0


def test_export_of_a_corrupt_value_fails_and_leaves_no_file(kv, workdir):
    kv.set_many({"a": 1, "b": 2, "c": 3})
    tamper("test", "b", mac=WRONG_MAC)
    (workdir / "dump.jsonl").write_text("previous export\n")
    with pytest.raises(CommandError, match="key 'b' in store 'test' fails its signature") as info:
        export(workdir / "dump.jsonl")
    assert str(info.value).endswith("; export stopped (--skip-corrupt leaves it out)")
    assert list(workdir.iterdir()) == [workdir / "dump.jsonl"]
    assert (workdir / "dump.jsonl").read_text() == "previous export\n"


def test_export_skip_corrupt_reports_and_leaves_it_out(kv, workdir):
    kv.set_many({"a": 1, "b": 2, "c": 3})
    tamper("test", "b", mac=WRONG_MAC)
    stdout, stderr = io.StringIO(), io.StringIO()
    path = workdir / "dump.jsonl"
    call_command(
        "keyval", "export", "-o", str(path), "--skip-corrupt", stdout=stdout, stderr=stderr
    )
    assert stderr.getvalue().startswith("Skipped: the value of key 'b' in store 'test' fails")
    assert stdout.getvalue().endswith(", skipped 1 corrupt.\n")
    assert [line["key"] for line in file_lines(path)[1:]] == ["a", "c"]


# Round trips


def test_round_trip_keeps_every_entry(db, workdir):
    populate()
    path = workdir / "dump.jsonl"
    out = export(path)
    assert out.startswith(f"Exported {len(SAMPLE)} entries of 6 stores")
    KeyVal.flush_all()
    out, _ = keyval("import", str(path))
    assert out == f"Imported {len(SAMPLE)} entries into 6 stores from {path}.\n"
    assert_sample_imported(path)


def test_round_trip_keeps_a_custom_serializer(db, workdir):
    KeyVal("custom", serializer=CUSTOM).set("k", {"a": [1]})
    export(workdir / "dump.jsonl")
    KeyVal.flush_all()
    keyval("import", str(workdir / "dump.jsonl"))
    assert Entry.objects.get(store="custom").serializer == CUSTOM
    assert KeyVal("custom").get("k") == {"a": [1]}


def test_import_signs_for_the_target_secret_key(kv, workdir, settings):
    kv.set("k", (1, "pickled"))
    export(workdir / "dump.jsonl")
    KeyVal.flush_all()
    settings.SECRET_KEY = "another project's secret"
    keyval("import", str(workdir / "dump.jsonl"))
    assert kv.get("k") == (1, "pickled")


def test_import_overwrites_existing_keys_and_keeps_the_others(kv, other_kv, workdir):
    kv.set_many({"a": "old", "keep": "kept"})
    other_kv.set("x", 1)
    write_file(workdir / "in.jsonl", record("a", "new"), record("b", [1]))
    keyval("import", str(workdir / "in.jsonl"))
    assert kv.get_many(["a", "b", "keep"]) == {"a": "new", "b": [1], "keep": "kept"}
    assert other_kv.get("x") == 1


def test_import_keeps_the_exact_expiry(kv, workdir):
    expires_at = time.time() + 1234.56789
    write_file(workdir / "in.jsonl", record("a", expires_at=expires_at))
    keyval("import", str(workdir / "in.jsonl"))
    assert Entry.objects.get(key="a").expires_at == expires_at


def test_import_writes_an_expired_entry_as_missing(kv, workdir):
    kv.set("a", "live before")
    write_file(workdir / "in.jsonl", record("a", expires_at=time.time() - 10), record("b"))
    out, _ = keyval("import", str(workdir / "in.jsonl"))
    assert out.endswith("(1 of them already expired).\n")
    assert not kv.exists("a")
    assert kv.get("b") == "v"


def test_import_repeated_key_keeps_the_last(kv, workdir):
    write_file(workdir / "in.jsonl", record("a", 1), record("b", 2), record("a", 3))
    keyval("import", str(workdir / "in.jsonl"))
    assert kv.get_many(["a", "b"]) == {"a": 3, "b": 2}


def test_import_ignores_blank_lines_and_a_bom(kv, workdir):
    path = write_file(workdir / "in.jsonl", "", record("a"), "   ")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    keyval("import", str(path))
    assert kv.get("a") == "v"


def test_import_from_stdin(kv, workdir):
    path = write_file(workdir / "in.jsonl", record("a", [1]))
    out, _ = keyval("import", "-", stdin=io.BytesIO(path.read_bytes()))
    assert out == "Imported 1 entry into 1 store from stdin.\n"
    assert kv.get("a") == [1]


@pytest.mark.django_db(databases=["default", "other"])
def test_export_and_import_move_stores_between_aliases(workdir):
    populate()
    path = workdir / "dump.jsonl"
    export(path)
    keyval("import", str(path), "--database", "other")
    KeyVal.flush_all()
    export(workdir / "again.jsonl", "--database", "other")
    assert file_lines(workdir / "again.jsonl")[1:] == file_lines(path)[1:]
    keyval("import", str(workdir / "again.jsonl"))
    assert_sample_imported(path)


# Bad files: the target is left exactly as it was


def bad_file(path: Path, bad_line: str | dict[str, Any]) -> Path:
    """A file with more entries than one batch, then ``bad_line``, then more entries."""
    before = [record(f"k{i:04}", i) for i in range(IMPORT_BATCH + 50)]
    after = [record(f"z{i:04}", i) for i in range(10)]
    return write_file(path, *before, bad_line, *after)


BAD_LINE = IMPORT_BATCH + 52  # The header is line 1.


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"store": "test", "key": ', "invalid JSON (Expecting value at column 26)"),
        ("[1, 2]", "expected a JSON object, not list"),
        (record("a", type="yaml"), "unknown type 'yaml'"),
        (record("a", "%%%", type="bytes"), "invalid base64"),
        (record("a", 5, type="pickle"), "a pickle value must be a base64 string"),
        (record("a", base64.b64encode(b"not a pickle").decode(), type="pickle"), "cannot unpickle"),
        (record("a\x00b"), "NUL"),
        (record("a", store=7), "store name must be a str"),
        (record("k" * 256), "longer than 255"),
        ({"store": "test", "key": "a", "value": 1}, "missing field(s): type"),
        (record("a", expires_at="tomorrow"), "expires_at must be a Unix time"),
        (record("a", expires_at=True), "expires_at must be a Unix time"),
        (record("a", serializer="nope.Missing"), "cannot be imported"),
        (record("a", b"x".hex(), serializer="bytes"), "the bytes serializer stores bytes only"),
    ],
    ids=["json", "array", "type", "base64", "pickle-type", "pickle", "nul", "store", "long",
         "field", "expiry", "bool-expiry", "serializer", "bytes"],
)  # fmt: skip
def test_bad_line_in_the_middle_leaves_the_target_unchanged(kv, other_kv, workdir, bad, message):
    kv.set_many({"k0001": "before", "keep": "kept"})
    other_kv.set("x", 1, ttl=60)
    before = snapshot()
    path = bad_file(workdir / "in.jsonl", bad)
    with pytest.raises(CommandError) as info:
        keyval("import", str(path))
    assert str(info.value).startswith(f"{path}, line {BAD_LINE}: ")
    assert message in str(info.value)
    assert str(info.value).endswith("; nothing was imported.")
    assert snapshot() == before


def test_not_utf8_line_names_the_line(kv, workdir):
    path = write_file(workdir / "in.jsonl", record("a"))
    path.write_bytes(path.read_bytes() + b'{"store": "\xff"}\n')
    with pytest.raises(CommandError, match="line 3: not UTF-8"):
        keyval("import", str(path))
    assert not kv.exists("a")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b'{"store": "test", "key": "a"}\n', "line 1: not a django-keyval export"),
        (b'{"format": "django-keyval", "version": 2}\n', "format version 2 is not supported"),
        (b"\x89PNG\r\n", "line 1: not UTF-8"),
    ],
)
def test_import_of_something_else_fails(db, workdir, content, message):
    (workdir / "in.jsonl").write_bytes(content)
    with pytest.raises(CommandError, match=message):
        keyval("import", str(workdir / "in.jsonl"))


def test_import_unreadable_file_fails(db, workdir):
    with pytest.raises(CommandError, match=r"Cannot read .*: Is a directory"):
        keyval("import", str(workdir))


# Untrusted files


def test_no_pickle_refuses_a_pickle_naming_its_line(kv, workdir):
    pickled = base64.b64encode(pickle.dumps((1,))).decode()
    path = write_file(workdir / "in.jsonl", record("a"), record("b", pickled, type="pickle"))
    with pytest.raises(CommandError, match=r"line 3: a pickled value, and pickles are refused"):
        keyval("import", str(path), "--no-pickle")
    assert not kv.exists("a")


def test_no_pickle_accepts_json_and_bytes(kv, workdir):
    raw = base64.b64encode(b"\x00").decode()
    path = write_file(
        workdir / "in.jsonl", record("a", [1]), record("b", raw, type="bytes", serializer="bytes")
    )
    keyval("import", str(path), "--no-pickle")
    assert kv.get_many(["a", "b"]) == {"a": [1], "b": b"\x00"}


def test_no_pickle_refuses_a_serializer_named_by_the_file(kv, workdir):
    path = write_file(workdir / "in.jsonl", record("a", serializer=CUSTOM))
    with pytest.raises(CommandError, match=r"line 2: serializer .* is refused with --no-pickle"):
        keyval("import", str(path), "--no-pickle")


def test_no_pickle_accepts_the_projects_own_serializer(kv, workdir, settings):
    settings.KEYVAL = {"SERIALIZER": CUSTOM}
    keyval(
        "import",
        str(write_file(workdir / "in.jsonl", record("a", serializer=CUSTOM))),
        "--no-pickle",
    )
    assert kv.get("a") == "v"


# Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def instant_progress(monkeypatch):
    monkeypatch.setattr(console, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(console, "PROGRESS_EVERY", 0.0)


def test_progress_on_a_terminal(kv, workdir, instant_progress):
    kv.set_many({f"k{i}": i for i in range(250)})
    stderr = Terminal()
    path = workdir / "dump.jsonl"
    call_command("keyval", "export", "-o", str(path), stdout=io.StringIO(), stderr=stderr)
    assert "\rExporting: [" in stderr.getvalue()
    assert stderr.getvalue().endswith("] 100% 250 of 250 entries\n")
    stderr = Terminal()
    call_command("keyval", "import", str(path), stdout=io.StringIO(), stderr=stderr)
    assert "\rImporting: [" in stderr.getvalue()
    assert stderr.getvalue().endswith(" MiB\n")


def test_no_progress_when_piped(kv, workdir, instant_progress):
    kv.set_many({f"k{i}": i for i in range(250)})
    _, err = keyval("export", "-o", str(workdir / "dump.jsonl"))
    assert err == ""
    _, err = keyval("import", str(workdir / "dump.jsonl"))
    assert err == ""


def test_no_progress_for_short_runs(kv, workdir):
    kv.set("a", 1)
    stderr = Terminal()
    call_command("keyval", "export", "-o", str(workdir / "d"), stdout=io.StringIO(), stderr=stderr)
    assert stderr.getvalue() == ""


# Memory


@pytest.mark.slow
def test_export_memory_stays_flat(kv, workdir):
    entries = 10_000
    for start in range(0, entries, 2_000):
        kv.set_many({f"key{i:06}": "x" * 500 for i in range(start, start + 2_000)})
    path = workdir / "dump.jsonl"
    tracemalloc.start()
    try:
        export(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path.stat().st_size > 5 * 2**20
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB for a {path.stat().st_size} byte export"


def test_import_does_not_keep_its_queries_under_debug(kv, workdir, settings):
    settings.DEBUG = True
    path = write_file(workdir / "in.jsonl", *(record(f"k{i}", i) for i in range(3 * IMPORT_BATCH)))
    keyval("import", str(path))
    assert kv.count() == 3 * IMPORT_BATCH
    assert not [query for query in connection.queries if "INSERT" in query["sql"]]


# Across databases: a child process on SQLite exports and imports


CHILD = """
import sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
if sys.argv[1] == "populate":
    from tests.test_transfer import populate
    populate()
else:
    call_command("keyval", "import", sys.argv[1], verbosity=0)
call_command("keyval", "export", "-o", sys.argv[2], verbosity=0)
"""


def run_on_sqlite(directory: Path, source: str, target: Path) -> None:
    """In a child process on a new SQLite database, import ``source`` (or populate()),
    then export everything to ``target``."""
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "child.sqlite3")}
    write_child_settings(directory, {"default": database})
    result = run_python(
        "-c", CHILD, source, str(target), settings_in=directory, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_export_from_sqlite_imports_losslessly_here(workdir):
    path = workdir / "from-sqlite.jsonl"
    run_on_sqlite(workdir, "populate", path)
    out, _ = keyval("import", str(path))
    assert out.startswith(f"Imported {len(SAMPLE)} entries")
    assert_sample_imported(path)


@pytest.mark.django_db(transaction=True)
def test_export_from_here_imports_losslessly_into_sqlite(workdir):
    populate()
    path = workdir / "from-here.jsonl"
    export(path)
    run_on_sqlite(workdir, str(path), workdir / "back.jsonl")
    assert file_lines(workdir / "back.jsonl")[1:] == file_lines(path)[1:]
