"""The kept cursors' fallbacks: tools that watch statements still see every one.

django_keyval keeps a lean cursor per connection (django_keyval/sql/cursors.py).
It hands each statement to Django's own cursor wrapper when execute wrappers
are installed (``connection.execute_wrapper()``) or CursorWrapper.execute is
patched (as Sentry does), and uses a new ``connection.cursor()`` for each call
when that method is replaced on the connection (as django-debug-toolbar does).
Each tool must see the statements Django's query log shows for the operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext

from django_keyval import KeyVal
from django_keyval.sql import cursors

pytestmark = pytest.mark.django_db

OPERATIONS = {
    "get": lambda kv: kv.get("a"),
    "get_missing": lambda kv: kv.get("missing", None),
    "set_new": lambda kv: kv.set("new", 1),
    "set_existing": lambda kv: kv.set("a", 2),
    "get_many": lambda kv: kv.get_many(["a", "b", "missing"]),
    "delete": lambda kv: kv.delete("a"),
    "pop": lambda kv: kv.pop("a"),
    "incr": lambda kv: kv.incr("n"),
    "keys": lambda kv: kv.keys(),
}

Operation = Callable[[KeyVal], Any]


def fill(kv: KeyVal) -> None:
    kv.flush()
    kv.set_many({"a": 1, "b": 2, "n": 10})


def verbs(statements: list[str]) -> list[str]:
    """The first word of each statement: SELECT, INSERT, SAVEPOINT..."""
    return [statement.split(None, 1)[0].upper() for statement in statements]


def logged(kv: KeyVal, operation: Operation) -> list[str]:
    """Return the statements of ``operation`` as Django's query log shows them."""
    fill(kv)
    connection = connections[DEFAULT_DB_ALIAS]
    with CaptureQueriesContext(connection) as captured:
        operation(kv)
    fill(kv)
    return [query["sql"] for query in captured.captured_queries]


@contextmanager
def execute_wrapper(seen: list[str]) -> Iterator[None]:
    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connections[DEFAULT_DB_ALIAS].execute_wrapper(record):
        yield


@contextmanager
def patched_cursor_wrapper(seen: list[str]) -> Iterator[None]:
    stock = CursorWrapper.execute

    def execute(self: CursorWrapper, sql: str, params: Any = None) -> Any:
        seen.append(sql)
        return stock(self, sql, params)

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(CursorWrapper, "execute", execute)
        yield


class RecordingCursor:
    """A cursor that records its statements, as django-debug-toolbar's do."""

    def __init__(self, cursor: CursorWrapper, seen: list[str]) -> None:
        self.cursor = cursor
        self.seen = seen

    def execute(self, sql: str, params: Any = None) -> Any:
        self.seen.append(sql)
        return self.cursor.execute(sql, params)

    def executemany(self, sql: str, param_list: Any) -> Any:
        self.seen.append(sql)
        return self.cursor.executemany(sql, param_list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.cursor)

    def __enter__(self) -> RecordingCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cursor.close()


@contextmanager
def wrapped_connection_cursor(seen: list[str]) -> Iterator[None]:
    # As django-debug-toolbar does: connection.cursor replaced on the instance.
    connection = connections[DEFAULT_DB_ALIAS]
    make_cursor = connection.cursor

    def cursor(*args: Any, **kwargs: Any) -> RecordingCursor:
        return RecordingCursor(make_cursor(*args, **kwargs), seen)

    connection.cursor = cursor  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        del connection.cursor


TOOLS = {
    "execute_wrapper": execute_wrapper,
    "patched_cursor_wrapper_execute": patched_cursor_wrapper,
    "wrapped_connection_cursor": wrapped_connection_cursor,
}


# On PostgreSQL, the lean cursor also wraps psycopg's preparing cursor when the
# project enables prepared statements (OPTIONS={"prepare_threshold": 0} would).
KEPT_CURSORS = ["plain"]
if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
    KEPT_CURSORS.append("prepared")


def forget_kept_cursors() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    if hasattr(connection, cursors._ATTRIBUTE):
        delattr(connection, cursors._ATTRIBUTE)


@pytest.fixture(params=KEPT_CURSORS)
def lean(request: pytest.FixtureRequest, kv: KeyVal) -> Iterator[KeyVal]:
    """``kv``, on a connection whose kept cursor is the lean one: what the tools bypass."""
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    dbapi_connection: Any = connection.connection
    previous = getattr(dbapi_connection, "prepare_threshold", None)
    if request.param == "prepared":
        dbapi_connection.prepare_threshold = 0
        forget_kept_cursors()
    try:
        assert not connection.queries_logged
        with cursors.cursor_for(DEFAULT_DB_ALIAS) as (_, cursor):
            assert isinstance(cursor, cursors.LeanCursorWrapper)
            if request.param == "prepared":
                assert isinstance(cursor.cursor, cursors._preparing_cursor_class())
        yield kv
    finally:
        if request.param == "prepared":
            dbapi_connection.prepare_threshold = previous
            forget_kept_cursors()


@pytest.mark.parametrize("tool", list(TOOLS.values()), ids=list(TOOLS))
@pytest.mark.parametrize("operation", list(OPERATIONS.values()), ids=list(OPERATIONS))
def test_the_tool_sees_every_statement_the_query_log_shows(lean, operation, tool):
    expected = logged(lean, operation)
    assert expected

    seen: list[str] = []
    with tool(seen):
        assert not connections[DEFAULT_DB_ALIAS].queries_logged
        operation(lean)

    assert verbs(seen) == verbs(expected)


@pytest.mark.parametrize("tool", list(TOOLS.values()), ids=list(TOOLS))
def test_once_the_tool_is_gone_the_store_works_as_before(lean, tool):
    fill(lean)
    seen: list[str] = []
    with tool(seen):
        assert lean.get("a") == 1
    assert len(seen) == 1
    assert lean.set("a", 2) is False
    assert lean.get("a") == 2
    assert len(seen) == 1
