"""The export format on its own: records to lines and back, with no database at all."""

from __future__ import annotations

import datetime
import json

import pytest

from django_keyval.export_format import (
    Record,
    TransferError,
    check_header,
    entry_line,
    header_line,
    parse_line,
)

RECORDS = [
    Record("s", "json", {"a": [1, 2.5, None, True]}, "pickle", None),
    Record("s", "bytes", b"\x00\xff", "bytes", 1.5e9),
    Record("s", "pickled", (datetime.date(2025, 3, 1), {1, 2}), "pickle", 2_000_000_000.123456),
    Record("", "", "", "json", None),
    Record("s\u2028", "k\u0085", "line\u2029break", "json", None),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: repr(record.key))
def test_a_record_survives_its_line(record: Record) -> None:
    line = entry_line(record)
    assert "\n" not in line and len(line.splitlines()) == 1
    assert parse_line(2, line.encode()) == record


def test_the_type_says_how_the_value_travels() -> None:
    kinds = [json.loads(entry_line(record))["type"] for record in RECORDS[:3]]
    assert kinds == ["json", "bytes", "pickle"]


def test_the_header_is_checked() -> None:
    check_header(1, header_line().encode())
    check_header(1, b"\xef\xbb\xbf" + header_line().encode())
    with pytest.raises(TransferError, match="line 1: not a django-keyval export"):
        check_header(1, b'{"format": "other"}')
    with pytest.raises(TransferError, match="format version 2 is not supported"):
        check_header(1, b'{"format": "django-keyval", "version": 2}')


def test_pickles_are_refused_on_request() -> None:
    line = entry_line(RECORDS[2]).encode()
    with pytest.raises(TransferError, match="line 7: a pickled value, and pickles are refused"):
        parse_line(7, line, allow_pickle=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"[1]", "expected a JSON object, not list"),
        (b'{"store": "s"}', "missing field\\(s\\): key, type, value"),
        (b'{"store": "s", "key": "\\u0000", "type": "json", "value": 1}', "NUL"),
        (b'{"store": "s", "key": "k", "type": "xml", "value": 1}', "unknown type 'xml'"),
        (b'{"store": "s", "key": "k", "type": "json", "value": 1, "expires_at": "x"}', "Unix"),
        (b"\xff", "not UTF-8 text"),
    ],
)
def test_a_bad_line_is_named(line: bytes, message: str) -> None:
    with pytest.raises(TransferError, match=f"^line 3: .*{message}"):
        parse_line(3, line)
