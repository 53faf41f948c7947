"""KEYVAL["STORES"][name]["HISTORY"]: the last versions of each key, written with the write."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from django_keyval import KeyVal
from django_keyval.admin.versions import decode_version
from django_keyval.checks import check_settings
from django_keyval.exceptions import CorruptValue
from django_keyval.models import Version
from django_keyval.signals import change_source, value_changed
from django_keyval.sql import operations_for
from django_keyval.transfer import export_lines, header_line, import_lines
from tests.helpers import WRONG_MAC, expire, tamper

pytestmark = [pytest.mark.django_db, pytest.mark.twins]

KEEP = 3


@pytest.fixture(autouse=True)
def history(settings: Any) -> None:
    settings.KEYVAL = {"STORES": {"test": {"HISTORY": KEEP}}}


def versions(key: str, store: str = "test") -> list[Any]:
    """The values of the versions of ``key``, oldest first; "<deleted>" for a deletion."""
    found = Version.objects.filter(store=store, key=key).order_by("id")
    return ["<deleted>" if version.deleted else decode_version(version) for version in found]


def test_each_write_adds_a_version_and_the_last_n_are_kept(kv):
    for value in range(5):
        kv.set("a", value)
    assert versions("a") == [2, 3, 4]


def test_versions_are_kept_per_key(kv):
    kv.set("a", 1)
    kv.set("b", 2)
    assert (versions("a"), versions("b")) == ([1], [2])


def test_a_version_records_source_user_and_time(kv):
    user = User.objects.create(username="ada")
    with change_source("admin", user):
        kv.set("a", {"x": 1})
    (version,) = Version.objects.all()
    assert (version.source, version.user_pk, version.user_repr) == ("admin", str(user.pk), "ada")
    assert version.changed_at > 0 and not version.deleted
    kv.set("a", 2)
    assert Version.objects.order_by("id").last().source == "api"  # type: ignore[union-attr]
    assert Version.objects.order_by("id").last().user_pk == ""  # type: ignore[union-attr]


def test_every_writing_operation_is_recorded(kv):
    kv.set("s", 1)
    kv.add("a", 1)
    kv.add("a", 2)  # not added: no version
    kv.get_or_set("g", 1)
    kv.get_or_set("g", 2)  # read: no version
    kv.incr("n")
    kv.modify("n", lambda n: n + 10)
    kv.touch("n", 60)  # expiry only: no version
    assert [versions(key) for key in ("s", "a", "g", "n")] == [[1], [1], [1], [1, 11]]


def test_deletions_are_versions_without_a_value(kv):
    kv.set_many({"p": 1, "d": 2, "m": 3, "x:1": 4, "x:2": 5, "f": 6})
    assert kv.pop("p") == 1
    kv.delete("d")
    kv.delete_many(["m", "never"])
    kv.delete_prefix("x:")
    assert [versions(key) for key in ("p", "d", "m", "x:1", "never")] == [
        [1, "<deleted>"],
        [2, "<deleted>"],
        [3, "<deleted>"],
        [4, "<deleted>"],
        [],
    ]
    kv.flush()
    assert versions("f") == [6, "<deleted>"]


def test_an_expired_key_leaves_no_deletion(kv):
    kv.set("a", 1)
    expire("test", "a")
    kv.delete("a", ignore_keyerror=True)
    assert kv.pop("a", None) is None
    assert versions("a") == [1]


def test_flush_all_records_the_deletions_of_stores_with_a_history(api, kv):
    kv.set("a", 1)
    KeyVal("plain").set("b", 2)
    api(KeyVal).flush_all()
    assert versions("a") == [1, "<deleted>"]
    assert not Version.objects.filter(store="plain").exists()


def test_import_is_recorded_as_import(kv):
    kv.set("a", 1)
    lines = [header_line(), *(line for line, _ in export_lines(["test"]))]
    import_lines(line.encode() for line in lines)
    assert versions("a") == [1, 1]
    assert Version.objects.order_by("id").last().source == "import"  # type: ignore[union-attr]


def test_a_rolled_back_write_leaves_no_version(kv):
    kv.set("a", 1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        kv.set("a", 2)
        kv.delete("a")
        raise ZeroDivisionError
    assert versions("a") == [1]
    assert kv.get("a") == 1


def test_a_failed_modify_leaves_no_version(kv):
    kv.set("a", "text")
    with pytest.raises(TypeError):
        kv.incr("a")
    assert versions("a") == ["text"]


def test_stores_without_a_history_write_no_version(other_kv):
    other_kv.set("a", 1)
    other_kv.delete("a")
    assert not Version.objects.exists()


def test_versions_are_signed_for_their_key(kv):
    kv.set("a", 1)
    version = Version.objects.get()
    version.key = "b"
    with pytest.raises(Exception, match="signature"):
        decode_version(version)


# The cost


def one_statement_set() -> bool:
    return connection.vendor == "mysql" or operations_for(connection).can_return


@pytest.mark.sync_only
def test_a_store_without_history_makes_no_extra_query(db, django_assert_num_queries):
    kv = KeyVal("plain")
    with django_assert_num_queries(1 if one_statement_set() else 2):
        kv.set("a", 1)
    with django_assert_num_queries(1):
        kv.delete("a")


@pytest.mark.sync_only
def test_receivers_without_old_values_make_no_extra_query(db, django_assert_num_queries):
    def receiver(**kwargs: Any) -> None:
        pass

    value_changed.connect(receiver)
    try:
        with django_assert_num_queries(1 if one_statement_set() else 2):
            KeyVal("plain").set("a", 1)
    finally:
        value_changed.disconnect(receiver)


@pytest.mark.sync_only
def test_a_write_with_history_adds_the_version_and_its_trim(db, django_assert_num_queries):
    kv = KeyVal("test")
    kv.set("a", 0)
    set_queries = 1 if one_statement_set() else 2
    # SAVEPOINT, set, INSERT of the version, SELECT of the oldest kept, RELEASE.
    with django_assert_num_queries(set_queries + 4):
        kv.set("a", 1)
    for value in range(2, KEEP + 1):
        kv.set("a", value)
    # Once more than KEEP: a DELETE of the older ones too.
    with django_assert_num_queries(set_queries + 5):
        kv.set("a", 99)


# Checks


@pytest.mark.sync_only
@pytest.mark.parametrize("value", [-1, 1.5, "3", True, None])
def test_a_bad_history_is_e011(settings, value):
    settings.KEYVAL = {"STORES": {"s": {"HISTORY": value}}}
    (message,) = check_settings()
    assert message.id == "django_keyval.E012"
    assert (
        message.msg
        == f"KEYVAL['STORES']['s']['HISTORY'] must be an int of 0 or more, not {value!r}."
    )
    with pytest.raises(ImproperlyConfigured, match="HISTORY"):
        KeyVal("s").set("a", 1)


@pytest.mark.sync_only
def test_a_bad_signal_old_values_is_e012(settings):
    settings.KEYVAL = {"STORES": {"s": {"SIGNAL_OLD_VALUES": "yes"}}}
    (message,) = check_settings()
    assert message.id == "django_keyval.E013"
    assert message.msg == "KEYVAL['STORES']['s']['SIGNAL_OLD_VALUES'] must be True or False."


@pytest.mark.sync_only
def test_history_zero_keeps_none(settings, db):
    settings.KEYVAL = {"STORES": {"test": {"HISTORY": 0, "SIGNAL_OLD_VALUES": False}}}
    assert check_settings() == []
    KeyVal("test").set("a", 1)
    assert not Version.objects.exists()


def test_a_pop_that_fails_to_decode_leaves_the_entry_and_no_version(kv):
    kv.set("a", 1)
    tamper("test", "a", mac=WRONG_MAC)
    with pytest.raises(CorruptValue):
        kv.pop("a")
    assert versions("a") == [1]
    assert KeyVal("test").exists("a")


@pytest.mark.sync_only
def test_delete_many_reads_nothing_for_a_receiver_of_changes_only(db, django_assert_num_queries):
    def receiver(**kwargs: Any) -> None:
        pass

    KeyVal("plain").set_many({"a": 1, "b": 2})
    value_changed.connect(receiver)
    try:
        with django_assert_num_queries(1):
            assert KeyVal("plain").delete_many(["a", "b"]) == 2
    finally:
        value_changed.disconnect(receiver)


@pytest.mark.sync_only
def test_old_values_cost_one_locked_read_in_a_transaction(db, settings, django_assert_num_queries):
    settings.KEYVAL = {"STORES": {"plain": {"SIGNAL_OLD_VALUES": True}}}

    def receiver(**kwargs: Any) -> None:
        pass

    kv = KeyVal("plain")
    kv.set("a", 1)
    value_changed.connect(receiver)
    try:
        # SAVEPOINT, the locked read (and SQLite's write lock), set, RELEASE.
        lock = (
            2 if connection.vendor == "sqlite" and not operations_for(connection).can_return else 1
        )
        with django_assert_num_queries((1 if one_statement_set() else 2) + lock + 2):
            kv.set("a", 2)
    finally:
        value_changed.disconnect(receiver)
