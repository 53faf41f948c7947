"""README.rst's "API reference" names every public method of KeyVal once, as it is.

The section's tables have a row per method whose first cell is its signature,
rendered as ``inspect.signature()`` renders it with the annotations as the
source writes them (``kv.set(key: str, ...) -> bool``; ``KeyVal.`` for a class
method, ``KeyVal(...)`` for the constructor), and one row listing the async
twins. A method added, removed, renamed or changed without its row fails here.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from django_keyval import KeyVal

README = Path(__file__).resolve().parent.parent / "README.rst"
SECTION = "API reference"
TWINS_ROW = "Async twins:"

# The first cell of a method's row: ``kv.name(...)``, ``KeyVal.name(...)`` or ``KeyVal(...)``.
SIGNATURE_CELL = re.compile(r"``(?P<owner>kv|KeyVal)(?:\.(?P<name>\w+))?(?P<signature>\(.*\).*)``")
# A name in the async twins' row: ``aget`` or ``KeyVal.aflush_all``.
TWIN_NAME = re.compile(r"``(?P<owner>KeyVal\.)?(?P<name>\w+)``")


def section(text: str, title: str) -> list[str]:
    """Return the lines of the top-level section ``title`` (underlined with ``=``)."""
    lines = text.splitlines()
    start = lines.index(title)
    assert lines[start + 1] == "=" * len(title), f"{title!r} is not a section title"
    end = next(
        (
            i
            for i in range(start + 2, len(lines) - 1)
            if lines[i + 1].startswith("===") and set(lines[i + 1]) == {"="} and lines[i]
        ),
        len(lines),
    )
    return lines[start + 2 : end]


def list_table_rows(lines: list[str]) -> list[list[str]]:
    """Return the body rows of every ``list-table`` in ``lines``, each a list of cell texts
    (a cell's lines joined by spaces), leaving out each table's header row."""
    tables: list[list[list[str]]] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(".. list-table::"):
            tables.append([])
        elif not tables or not stripped or stripped.startswith(":"):
            continue
        elif stripped.startswith("* - "):
            tables[-1].append([stripped[4:]])
        elif stripped.startswith("- ") and tables[-1]:
            tables[-1][-1].append(stripped[2:])
        elif tables[-1]:
            tables[-1][-1][-1] += " " + stripped
    return [row for table in tables for row in table[1:]]


class Annotation:
    """An annotation as the source writes it: its repr is the text, without quotes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def render(signature: inspect.Signature, *, drop_first: bool = False) -> str:
    """Return ``str(signature)`` with string annotations unquoted (``key: str``, not
    ``key: 'str'``), leaving out the first parameter (``self``) if asked."""

    def unquoted(annotation: Any) -> Any:
        return Annotation(annotation) if isinstance(annotation, str) else annotation

    parameters = list(signature.parameters.values())[1 if drop_first else 0 :]
    return str(
        signature.replace(
            parameters=[p.replace(annotation=unquoted(p.annotation)) for p in parameters],
            return_annotation=unquoted(signature.return_annotation),
        )
    )


def public_methods() -> dict[str, Any]:
    """Return KeyVal's public methods by name, as stored on the class (classmethod
    objects included), inherited ones too; properties are not methods."""
    methods = {}
    for name in dir(KeyVal):
        if name.startswith("_"):
            continue
        attribute = inspect.getattr_static(KeyVal, name)
        if isinstance(attribute, (staticmethod, classmethod)) or inspect.isfunction(attribute):
            methods[name] = attribute
    return methods


def is_async(function: Callable[..., Any]) -> bool:
    # An @asynccontextmanager factory (asnapshot) is a plain function around an async generator.
    wrapped = getattr(function, "__wrapped__", None)
    return (
        inspect.iscoroutinefunction(function)
        or inspect.isasyncgenfunction(function)
        or inspect.isasyncgenfunction(wrapped)
    )


ROWS = list_table_rows(section(README.read_text(encoding="utf-8"), SECTION))
METHOD_ROWS = [SIGNATURE_CELL.fullmatch(row[0]) for row in ROWS]
SIGNATURES = [match for match in METHOD_ROWS if match is not None]
TWIN_ROWS = [row for row in ROWS if row[0].startswith(TWINS_ROW)]
TWINS = [match for row in TWIN_ROWS for match in TWIN_NAME.finditer(row[0])]


def test_every_row_is_a_method_or_the_async_twins():
    assert ROWS, f"README.rst's {SECTION!r} section has no list-table rows"
    others = [
        row[0]
        for row, match in zip(ROWS, METHOD_ROWS, strict=True)
        if match is None and not row[0].startswith(TWINS_ROW)
    ]
    assert others == [], "rows that are neither a signature nor the async twins"
    assert len(TWIN_ROWS) == 1
    assert all(len(row) == 3 and all(row) for row in ROWS), "each row: method, queries, atomicity"


def test_every_public_method_has_exactly_one_row():
    named = Counter(match["name"] for match in SIGNATURES if match["name"])
    named.update(match["name"] for match in TWINS)
    methods = set(public_methods())
    problems = {
        "public methods of KeyVal without a row": sorted(methods - set(named)),
        "rows for methods KeyVal does not have": sorted(set(named) - methods),
        "methods with more than one row": sorted(name for name, n in named.items() if n > 1),
    }
    assert problems == dict.fromkeys(problems, [])


def test_the_constructor_has_a_row():
    constructors = [match for match in SIGNATURES if match["name"] is None]
    assert [match["owner"] for match in constructors] == ["KeyVal"]
    expected = render(inspect.signature(KeyVal).replace(return_annotation=inspect.Signature.empty))
    assert constructors[0]["signature"] == expected


@pytest.mark.parametrize(
    "match", [m for m in SIGNATURES if m["name"]], ids=lambda match: match["name"]
)
def test_each_signature_is_the_methods(match):
    attribute = public_methods().get(match["name"])
    if attribute is None:
        pytest.fail(f"KeyVal has no public method {match['name']!r}")
    if isinstance(attribute, (classmethod, staticmethod)):
        owner, signature = "KeyVal", render(inspect.signature(getattr(KeyVal, match["name"])))
    else:
        owner = "kv"
        signature = render(inspect.signature(getattr(KeyVal, match["name"])), drop_first=True)
    assert (match["owner"], match["signature"]) == (owner, signature)


def test_methods_with_a_signature_row_are_sync_and_the_twins_async():
    methods = public_methods()
    for match in SIGNATURES:
        if match["name"] in methods:
            assert not is_async(getattr(KeyVal, match["name"])), match["name"]
    for match in TWINS:
        name = match["name"]
        if name not in methods:
            continue  # reported by test_every_public_method_has_exactly_one_row
        assert is_async(getattr(KeyVal, name)), f"{name} is listed as an async twin"
        assert name.startswith("a") and name[1:] in methods, f"{name} has no sync twin"
        class_level = isinstance(methods[name], (classmethod, staticmethod))
        assert bool(match["owner"]) == class_level, (
            f"{name}: write KeyVal.{name} for a class method, {name} otherwise"
        )
