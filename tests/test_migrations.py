"""Migrations 0005 and 0006 on a populated table: every entry kept, the layout as the
database wants it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from django_keyval import KeyVal
from django_keyval.models import STORE_KEY_INDEX, Entry
from django_keyval.sql import operations_for
from tests.helpers import expire

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("django_keyval", "0004_version")
AFTER = ("django_keyval", "0006_partial_expiry_index")
EXPIRY_INDEX = "django_keyval_expires_at"


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()


@pytest.fixture
def before_0005() -> Iterator[None]:
    """The table as 0004 left it; migrated forward again afterwards, whatever happened."""
    migrate(BEFORE)
    try:
        yield
    finally:
        migrate(AFTER)


def layout() -> dict[str, tuple[bool, bool, tuple[str, ...]]]:
    """The entry table's indexes: name -> (primary key, unique, columns)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Entry._meta.db_table)
    return {
        name: (info["primary_key"], info["unique"], tuple(info["columns"]))
        for name, info in constraints.items()
        if info["index"] or info["primary_key"] or info["unique"]
    }


def primary_key() -> tuple[str, ...]:
    (columns,) = [columns for primary, _, columns in layout().values() if primary]
    return columns


def expiry_index_sql() -> str:
    """How the database describes the expiry index (its CREATE INDEX, where it keeps one)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [EXPIRY_INDEX])
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [EXPIRY_INDEX])
        else:
            return ""
        (sql,) = cursor.fetchone()
    return str(sql)


def test_0005_and_0006_keep_every_entry_and_fit_the_layout_to_the_database(
    before_0005: None,
) -> None:
    kv, other = KeyVal("test"), KeyVal("other")
    values = {f"k{i:04d}": {"n": i, "blob": bytes([i % 256]) * (i % 50)} for i in range(300)}
    kv.set_many(values)
    other.set("k0001", "other store", ttl=3600)
    kv.set("gone", 1)
    expire(kv, "gone")
    ids_before = dict(Entry.objects.values_list("key", "id").filter(store="test"))
    assert primary_key() == ("id",)

    migrate(AFTER)

    assert kv.get_many(list(values)) == values
    assert other.get("k0001") == "other store"
    assert 3500 < other.ttl("k0001") <= 3600
    assert "gone" not in kv
    assert dict(Entry.objects.values_list("key", "id").filter(store="test")) == ids_before
    assert layout()[EXPIRY_INDEX] == (False, False, ("expires_at",))
    if connection.vendor == "mysql":
        assert primary_key() == ("store", "key")
        assert STORE_KEY_INDEX not in layout()
        (id_index,) = [info for info in layout().values() if info[2] == ("id",)]
        assert id_index == (False, True, ("id",))
    else:
        assert primary_key() == ("id",)
        assert layout()[STORE_KEY_INDEX] == (False, True, ("store", "key"))
        assert "WHERE" in expiry_index_sql()
        assert "expires_at" in expiry_index_sql().split("WHERE")[1]


def test_0005_and_0006_reversed_restore_the_layout_of_0001_with_the_data() -> None:
    kv = KeyVal("test")
    kv.set_many({"a": 1, "b": [2]})
    after = layout()

    migrate(BEFORE)
    try:
        assert primary_key() == ("id",)
        assert layout()[STORE_KEY_INDEX] == (False, True, ("store", "key"))
        assert "WHERE" not in expiry_index_sql()
        assert kv.get_many(["a", "b"]) == {"a": 1, "b": [2]}
    finally:
        migrate(AFTER)
    assert layout() == after
    assert kv.get_many(["a", "b"]) == {"a": 1, "b": [2]}


def test_store_and_key_stay_unique_and_new_entries_get_new_ids() -> None:
    kv = KeyVal("test")
    kv.set("a", 1)
    kv.set("b", 2)
    first, second = Entry.objects.filter(store="test").order_by("key")
    assert second.pk > first.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(store="test", key="a", value=b"", serializer="bytes", updated_at=0)
    # The admin and the ORM still find an entry by its id.
    assert Entry.objects.get(pk=first.pk).key == "a"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_sqlite_purges_through_the_partial_expiry_index() -> None:
    KeyVal("test").set_many({f"k{i}": i for i in range(50)}, ttl=60)
    KeyVal("test").set_many({f"n{i}": i for i in range(50)})
    # The statement purge_expired() runs on SQLite to find a batch.
    statement = operations_for(connection).expired_ids_sql
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {statement}", [0.0, 1000])
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert f"USING INDEX {EXPIRY_INDEX}" in plan or f"USING COVERING INDEX {EXPIRY_INDEX}" in plan
