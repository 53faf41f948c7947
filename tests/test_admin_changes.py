"""What the admin's edits record: change signals, LogEntry lines, versions; restoring one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.urls import reverse

from django_keyval import KeyVal
from django_keyval.models import Version
from django_keyval.signals import UNKNOWN, value_changed, value_deleted
from tests.helpers import stored_row
from tests.test_admin import (
    CHANGELIST,
    add,
    change_url,
    fast_passwords,  # noqa: F401  (an autouse fixture)
    make_user,
    run_action,
)

pytestmark = pytest.mark.django_db

# Signals are sent once a write commits, which pytest-django's usual transaction never does.
committing = pytest.mark.django_db(transaction=True)


def versions_url(key: str, store: str = "s") -> str:
    return reverse("admin:django_keyval_entry_versions", args=[stored_row(store, key).pk])


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    """The signals sent (by tests that commit: marked ``committing``)."""
    found: list[dict[str, Any]] = []

    def on_changed(**kwargs: Any) -> None:
        found.append({**kwargs, "signal": "changed"})

    def on_deleted(**kwargs: Any) -> None:
        found.append({**kwargs, "signal": "deleted"})

    value_changed.connect(on_changed)
    value_deleted.connect(on_deleted)
    yield found
    value_changed.disconnect(on_changed)
    value_deleted.disconnect(on_deleted)


@pytest.fixture
def history(settings: Any) -> None:
    settings.KEYVAL = {"STORES": {"s": {"HISTORY": 5}}}


# Signals and LogEntry lines


@committing
def test_adding_is_signalled_as_the_admin_users(admin_client, admin_user, received):
    add(admin_client, "s", "k", "[1, 2]")
    (sent,) = received
    assert (sent["signal"], sent["store"], sent["key"]) == ("changed", "s", "k")
    assert (sent["new_value"], sent["source"], sent["user"]) == ([1, 2], "admin", admin_user)
    log = LogEntry.objects.get()
    assert (log.action_flag, log.get_change_message()) == (ADDITION, "Added.")


@committing
def test_editing_is_signalled_and_logged_with_what_changed(admin_client, admin_user, received):
    KeyVal("s").set("k", "before")
    received.clear()
    response = admin_client.post(change_url(stored_row("s", "k")), {"json_value": '"after"'})
    assert response.status_code == 302
    (sent,) = received
    assert (sent["old_value"], sent["new_value"], sent["source"]) == (UNKNOWN, "after", "admin")
    assert sent["user"] == admin_user
    log = LogEntry.objects.get()
    assert (log.action_flag, log.get_change_message()) == (CHANGE, "Changed value.")
    assert log.user == admin_user


@committing
def test_deleting_an_entry_is_signalled_and_logged(admin_client, admin_user, received):
    KeyVal("s").set("k", 1)
    received.clear()
    delete = reverse("admin:django_keyval_entry_delete", args=[stored_row("s", "k").pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    (sent,) = received
    assert (sent["signal"], sent["key"], sent["source"], sent["user"]) == (
        "deleted",
        "k",
        "admin",
        admin_user,
    )
    assert LogEntry.objects.get().action_flag == DELETION


@committing
def test_delete_selected_signals_each_live_entry(admin_client, received):
    KeyVal("s").set_many({"a": 1, "b": 2})
    KeyVal("t").set("c", 3)
    received.clear()
    pks = [stored_row(store, key).pk for store, key in (("s", "a"), ("s", "b"), ("t", "c"))]
    run_action(admin_client, "delete_selected", pks, post="yes")
    assert sorted((sent["store"], sent["key"], sent["source"]) for sent in received) == [
        ("s", "a", "admin"),
        ("s", "b", "admin"),
        ("t", "c", "admin"),
    ]


@committing
def test_flushing_stores_is_signalled_and_logged(admin_client, received):
    KeyVal("s").set_many({"a": 1, "b": 2})
    received.clear()
    run_action(admin_client, "flush_stores", [stored_row("s", "a").pk], post="yes")
    assert [(sent["store"], sent["key"], sent["prefix"]) for sent in received] == [("s", None, "")]
    logged = LogEntry.objects.filter(action_flag=DELETION)
    assert sorted(log.object_repr for log in logged) == ["s: a", "s: b"]


# Versions


def test_the_change_page_links_to_the_versions_of_a_store_with_history(admin_client, history):
    KeyVal("s").set("k", 1)
    KeyVal("plain").set("k", 1)
    page = admin_client.get(change_url(stored_row("s", "k"))).content.decode()
    assert f'href="{versions_url("k")}"' in page
    page = admin_client.get(change_url(stored_row("plain", "k"))).content.decode()
    assert "versions/" not in page


def test_the_versions_page_lists_who_changed_what_and_when(admin_client, admin_user, history):
    KeyVal("s").set("k", "first")
    admin_client.post(change_url(stored_row("s", "k")), {"json_value": '"second"'})
    response = admin_client.get(versions_url("k"))
    assert response.status_code == 200
    shown = response.context["versions"]
    assert [(v.value, v.source, v.user) for v in shown] == [
        ('"second"', "admin", str(admin_user)),
        ('"first"', "api", "\u2014"),
    ]
    html = response.content.decode()
    assert 'name="restore"' in html


@committing
def test_restoring_a_version_writes_it_back_as_a_change_of_the_admin(
    admin_client, admin_user, history, received
):
    kv = KeyVal("s")
    kv.set("k", {"v": 1}, ttl=3600)
    kv.set("k", {"v": 2}, ttl=3600)
    expires_at = stored_row("s", "k").expires_at
    first = Version.objects.order_by("id").first()
    assert first is not None
    received.clear()
    response = admin_client.post(versions_url("k"), {"restore": str(first.pk)})
    assert response.status_code == 302
    assert response["Location"] == change_url(stored_row("s", "k"))
    assert kv.get("k") == {"v": 1}
    assert stored_row("s", "k").expires_at == pytest.approx(expires_at, abs=5)
    newest = Version.objects.order_by("id").last()
    assert newest is not None
    assert (newest.source, newest.user_repr) == ("admin", str(admin_user))
    assert [(sent["new_value"], sent["source"]) for sent in received] == [({"v": 1}, "admin")]
    log = LogEntry.objects.get()
    assert log.action_flag == CHANGE
    assert log.get_change_message().startswith("Restored the value of ")


def test_view_only_staff_see_versions_but_cannot_restore(client, django_user_model, history):
    KeyVal("s").set("k", 1)
    KeyVal("s").set("k", 2)
    client.force_login(make_user(django_user_model, "viewer", "view_entry"))
    response = client.get(versions_url("k"))
    assert response.status_code == 200
    assert 'name="restore"' not in response.content.decode()
    first = Version.objects.order_by("id").first()
    assert first is not None
    assert client.post(versions_url("k"), {"restore": str(first.pk)}).status_code == 403
    assert KeyVal("s").get("k") == 2


def test_staff_without_view_permission_cannot_see_versions(client, django_user_model, history):
    KeyVal("s").set("k", 1)
    client.force_login(make_user(django_user_model, "nobody"))
    assert client.get(versions_url("k")).status_code == 403


def test_restoring_an_unknown_version_is_a_404(admin_client, history):
    KeyVal("s").set("k", 1)
    KeyVal("other").set("k", 2)
    other = Version.objects.filter(store="other")  # none: "other" keeps no history
    assert not other.exists()
    assert admin_client.post(versions_url("k"), {"restore": "999999"}).status_code == 404
    assert admin_client.post(versions_url("k"), {"restore": "x"}).status_code == 404


def test_a_deletion_cannot_be_restored(admin_client, history):
    kv = KeyVal("s")
    kv.set("k", 1)
    kv.delete("k")
    kv.set("k", 2)
    deletion = Version.objects.get(deleted=True)
    assert admin_client.post(versions_url("k"), {"restore": str(deletion.pk)}).status_code == 404
    assert kv.get("k") == 2


def test_the_changelist_still_lists_without_extra_queries(admin_client, history):
    KeyVal("s").set("k", 1)
    assert admin_client.get(reverse(CHANGELIST)).status_code == 200
