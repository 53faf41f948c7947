"""Stores spread over several databases by a router, and the calls on every store
covering each database of ``KEYVAL["DATABASES"]``."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from django.db.models import Model

from django_keyval import KeyVal
from django_keyval.checks import check_settings
from django_keyval.models import Entry
from tests.helpers import expire
from tests.test_checks import only
from tests.test_commands import keyval

pytestmark = [pytest.mark.django_db(databases=["default", "other"]), pytest.mark.twins]

ALIASES = ["default", "other"]
STORES = [f"tenant-{i}" for i in range(8)]


class HashRouter:
    """Spreads stores over ALIASES by a hash of the store name."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if model._meta.label != "django_keyval.Entry":
            return None
        store = hints.get("store")
        return "default" if store is None else ALIASES[zlib.crc32(store.encode()) % len(ALIASES)]

    db_for_write = db_for_read


def home(store: str) -> str:
    return ALIASES[zlib.crc32(store.encode()) % len(ALIASES)]


@pytest.fixture(autouse=True)
def _spread(settings: Any) -> None:
    settings.DATABASE_ROUTERS = [f"{__name__}.HashRouter"]
    settings.KEYVAL = {"DATABASES": ALIASES}
    # The point of the tests: the stores really are on both databases.
    assert {home(store) for store in STORES} == set(ALIASES)


def fill(api: Any) -> None:
    for store in STORES:
        api(KeyVal(store)).set_many({"a": 1, "b": 2})


def test_each_store_lives_on_the_database_its_router_gives(api):
    fill(api)
    for store in STORES:
        for alias in ALIASES:
            rows = Entry._default_manager.using(alias).filter(store=store).count()
            assert rows == (2 if alias == home(store) else 0)


def test_stores_lists_the_stores_of_every_database(api):
    fill(api)
    assert api(KeyVal).stores() == sorted(STORES)


def test_stores_using_one_database_lists_only_its_stores(api):
    fill(api)
    on_other = sorted(store for store in STORES if home(store) == "other")
    assert api(KeyVal).stores(using="other") == on_other


def test_purge_expired_purges_every_database(api):
    fill(api)
    for store in STORES:
        expire(store, "a", using=home(store))
    assert api(KeyVal).purge_expired() == len(STORES)
    for alias in ALIASES:
        assert not Entry._default_manager.using(alias).filter(key="a").exists()
    assert all(KeyVal(store).keys() == ["b"] for store in STORES)


def test_purge_expired_using_one_database_leaves_the_others(api):
    fill(api)
    for store in STORES:
        expire(store, "a", using=home(store))
    on_other = sum(home(store) == "other" for store in STORES)
    assert api(KeyVal).purge_expired(using="other") == on_other
    assert Entry._default_manager.using("default").filter(key="a").count() == 8 - on_other


def test_flush_all_empties_every_database(api):
    fill(api)
    api(KeyVal).flush_all()
    assert [Entry._default_manager.using(alias).count() for alias in ALIASES] == [0, 0]


def test_flush_all_using_one_database_leaves_the_others(api):
    fill(api)
    api(KeyVal).flush_all(using="other")
    assert Entry._default_manager.using("other").count() == 0
    assert KeyVal.stores() == sorted(store for store in STORES if home(store) == "default")


def test_command_list_shows_the_stores_of_every_database(api):
    fill(api)
    out, _ = keyval("list")
    assert out.splitlines() == [f"{store}\t2" for store in sorted(STORES)]


def test_command_export_covers_every_database(api, tmp_path):
    fill(api)
    keyval("export", "--output", str(tmp_path / "all.jsonl"))
    lines = (tmp_path / "all.jsonl").read_text().splitlines()
    exported = {(record["store"], record["key"]) for record in map(json.loads, lines[1:])}
    assert exported == {(store, key) for store in STORES for key in "ab"}


def test_command_flush_all_names_every_database(api):
    fill(api)
    out, _ = keyval("flush", "--all", "--yes")
    assert out == "Flushed every store on databases 'default', 'other'.\n"
    assert KeyVal.stores() == []


# The setting's checks (E006, as KEYVAL["DATABASE"])


@pytest.mark.parametrize(
    ("databases", "msg"),
    [
        ("default", "KEYVAL['DATABASES'] must be a non-empty list of aliases, not 'default'."),
        ([], "KEYVAL['DATABASES'] must be a non-empty list of aliases, not []."),
        (["default", "nope"], "KEYVAL['DATABASES'] names 'nope', not in DATABASES."),
    ],
)
def test_bad_databases_is_e006(settings, databases, msg):
    settings.KEYVAL = {"DATABASES": databases}
    message = only(check_settings())
    assert (message.id, message.msg) == ("django_keyval.E006", msg)


def test_database_and_databases_together_is_e006(settings):
    settings.KEYVAL = {"DATABASE": "default", "DATABASES": ALIASES}
    message = only(check_settings())
    assert (message.id, message.msg) == (
        "django_keyval.E006",
        "KEYVAL sets both DATABASE and DATABASES.",
    )


def test_valid_databases_pass(settings):
    assert check_settings() == []
