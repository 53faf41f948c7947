"""PostgreSQL's generic plans of every statement stay on the indexes, even with no statistics.

With prepared statements on, psycopg prepares a statement after a few runs,
and PostgreSQL may then switch to a generic plan, chosen without the
parameters' values. Before the table's first ANALYZE (after a bulk load, say)
the planner knows nothing of the rows, and a statement that leaves it a choice
can be planned as a scan of a whole store, filtered row by row. The tests run
every statement of the store's operations on a table in that state, with
``plan_cache_mode = force_generic_plan``, and read the plans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from django_keyval import KeyVal
from django_keyval.models import Entry

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="PostgreSQL plans"),
]

KEYS = 5000
STORE = "plans"
# The statement get_many() ran before: planned generically on a table with
# no statistics, it finds the store in the (store, key) index and filters
# every row of the store by key.
KEY_LIST_WITH_ANY = (
    "SELECT {key}, {value} FROM {table} WHERE {store} = %s AND {key} = ANY(%s) "
    "AND ({expires_at} IS NULL OR {expires_at} > %s)"
)

Statement = tuple[str, tuple[Any, ...]]


@pytest.fixture
def loaded_without_statistics(db: None) -> None:
    """KEYS entries in STORE (and a few in another store); the table as if never analyzed."""
    kv = KeyVal(STORE)
    kv.set_many({f"key-{i:05}": {"n": i} for i in range(KEYS)})
    kv.set_many({f"short-{i}": i for i in range(10)}, ttl=60)
    KeyVal("elsewhere").set_many({f"key-{i}": i for i in range(100)})
    table = Entry._meta.db_table
    with connection.cursor() as cursor:
        # What a table looks like before its first ANALYZE; the test's
        # transaction rolls this back with the rows.
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1 WHERE oid = %s::regclass",
            [connection.ops.quote_name(table)],
        )
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = %s::regclass",
            [connection.ops.quote_name(table)],
        )


def statements_of(operations: Callable[[], object]) -> list[Statement]:
    """Run ``operations`` and return the distinct statements on the entry table it ran."""
    seen: dict[str, tuple[Any, ...]] = {}

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if Entry._meta.db_table in sql and not sql.lstrip().upper().startswith("SAVEPOINT"):
            seen.setdefault(sql, tuple(params or ()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        operations()
    return list(seen.items())


def generic_plan(sql: str, params: tuple[Any, ...]) -> dict[str, Any]:
    """The plan PostgreSQL makes for ``sql`` without looking at ``params``."""
    numbered = iter(range(1, len(params) + 1))
    prepared = re.sub("%s", lambda _: f"${next(numbered)}", sql)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE keyval_plan AS {prepared}")
        try:
            marks = ", ".join(["%s"] * len(params))
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE keyval_plan({marks})", params)
            (plan,) = cursor.fetchone()
        finally:
            cursor.execute("DEALLOCATE keyval_plan")
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def row_by_row_scans(plan: dict[str, Any]) -> list[str]:
    """What in ``plan`` reads the entry table other than through an index by store and key.

    A sequential scan of the table, or a scan that filters on the key column
    (the key should be an index condition: looked up, not compared row by row).
    """
    table = Entry._meta.db_table
    found = []
    for node in nodes(plan):
        if node.get("Relation Name") != table:
            continue
        if node["Node Type"] == "Seq Scan":
            found.append(f"Seq Scan on {table}")
        filtered = node.get("Filter", "") + node.get("Join Filter", "")
        if re.search(r"\(key\)::text|\bkey\b", filtered):
            found.append(f"{node['Node Type']} filtering on key: {filtered}")
    return found


def test_the_check_sees_a_store_scanned_row_by_row(loaded_without_statistics: None) -> None:
    # The table really is in the state where a generic plan goes wrong: the
    # statement get_many() used to run is planned as a scan of the store.
    names = {field.name: connection.ops.quote_name(field.column) for field in Entry._meta.fields}
    sql = KEY_LIST_WITH_ANY.format(table=connection.ops.quote_name(Entry._meta.db_table), **names)
    plan = generic_plan(sql, (STORE, [f"key-{i:05}" for i in range(100)], 0.0))
    assert row_by_row_scans(plan)


def every_operation() -> None:
    kv = KeyVal(STORE)
    wanted = [f"key-{i:05}" for i in range(0, KEYS, 50)]
    kv.get("key-00001")
    kv.get("absent", None)
    kv.exists("key-00002")
    kv.ttl("short-1")
    kv.get_many(wanted)
    kv.set("key-00003", "new value")
    kv.set("fresh", 1)
    kv.add("added", 1)
    kv.incr("counter")
    kv.touch("key-00004", ttl=600)
    kv.pop("key-00005")
    kv.modify("key-00006", lambda old: old)
    kv.delete("key-00007")
    kv.delete_many(wanted[:20])
    kv.set_many({"many-a": 1, "many-b": 2})
    kv.count()
    kv.count("key-001")
    kv.keys("key-002")
    list(kv.items("key-003"))
    list(kv.iter_keys())
    kv.delete_prefix("short-")
    # KeyVal.stores() is left out: it lists the stores of every live row, which
    # it reads in one pass, by design.
    KeyVal.purge_expired()
    KeyVal("elsewhere").flush()


def test_every_statement_looks_keys_up_in_the_index(loaded_without_statistics: None) -> None:
    statements = statements_of(every_operation)
    assert len(statements) >= 15
    problems = {}
    for sql, params in statements:
        found = row_by_row_scans(generic_plan(sql, params))
        if found:
            problems[sql] = found
    assert problems == {}
