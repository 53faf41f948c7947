"""Store generations: the table local caches validate against, and ``keyval touch``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection, connections

from django_keyval.localcache import touch_store
from django_keyval.models import Generation
from django_keyval.sql import operations_for
from django_keyval.sql.generations import generations_for

pytestmark = pytest.mark.django_db(databases=["default", "other"])


def generation(store: str, using: str = "default") -> int | None:
    row = Generation.objects.using(using).filter(store=store).first()
    return None if row is None else row.generation


def statements():
    return generations_for(operations_for(connection), connection)


def test_a_store_never_bumped_has_no_generation():
    with connection.cursor() as cursor:
        assert statements().read(cursor, "s") is None


def test_a_bump_creates_then_replaces_the_generation():
    with connection.cursor() as cursor:
        statements().bump(cursor, ["s"])
        first = statements().read(cursor, "s")
        statements().bump(cursor, ["s"])
        second = statements().read(cursor, "s")
    assert first is not None and second is not None
    assert first != second == generation("s")


def test_bump_every_gives_every_store_a_new_generation():
    with connection.cursor() as cursor:
        statements().bump(cursor, ["a", "b"])
        before = {store: generation(store) for store in "ab"}
        statements().bump_every(cursor)
    assert all(generation(store) != before[store] for store in "ab")


def test_store_names_compare_exactly():
    touch_store("Key")
    assert generation("key") is None
    assert generation("Key") is not None


def test_touch_command_bumps_the_store_on_its_database():
    call_command("keyval", "touch", "s", verbosity=0)
    first = generation("s")
    call_command("keyval", "touch", "s", verbosity=0)
    assert first is not None and generation("s") != first
    call_command("keyval", "touch", "s", "--database", "other", verbosity=0)
    assert generation("s", "other") is not None


def test_touch_command_says_what_it_did():
    from io import StringIO

    out = StringIO()
    call_command("keyval", "touch", "settings", stdout=out)
    assert out.getvalue() == "Store 'settings' on database 'default' will be read again.\n"


def test_touch_command_refuses_an_invalid_store_name():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("keyval", "touch", "a\x00b", verbosity=0)


def test_generation_statements_are_built_once_per_connection():
    assert statements() is statements()
    assert connections["other"].alias == "other"
