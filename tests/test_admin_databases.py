"""The admin's entry list over stores spread on several databases (KEYVAL["DATABASES"]):
one database at a time, and every link, edit and deletion on the entry's own database,
even where the same id exists on another."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.admin.utils import quote
from django.db.models import Max
from django.urls import reverse

from django_keyval import KeyVal
from django_keyval.models import Entry
from tests.helpers import expire, stored_row
from tests.test_scaling_out import ALIASES, STORES, home

pytestmark = pytest.mark.django_db(databases=["default", "other"])

CHANGELIST = "admin:django_keyval_entry_changelist"
ON_DEFAULT = next(store for store in STORES if home(store) == "default")
ON_OTHER = next(store for store in STORES if home(store) == "other")


@pytest.fixture(autouse=True)
def _spread(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATABASE_ROUTERS = ["tests.test_scaling_out.HashRouter"]
    settings.KEYVAL = {"DATABASES": ALIASES}


@pytest.fixture
def twins() -> tuple[Entry, Entry]:
    """An entry on each database, both with the same id."""
    KeyVal(ON_DEFAULT).set("colour", "red on default")
    KeyVal(ON_OTHER).set("colour", "blue on other")
    highest = max(Entry.objects.using(alias).aggregate(top=Max("pk"))["top"] for alias in ALIASES)
    for alias in ALIASES:
        Entry.objects.using(alias).filter(key="colour").update(id=highest + 100)
    return stored_row(ON_DEFAULT, "colour"), stored_row(ON_OTHER, "colour", using="other")


def change_url(object_id: str, **params: str) -> str:
    url = reverse("admin:django_keyval_entry_change", args=[quote(object_id)])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def listed(client: Any, **params: str) -> list[tuple[str, str]]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return [(row.store, row.key) for row in response.context["cl"].result_list]


def test_the_list_shows_the_home_database_by_default(admin_client, twins):
    assert listed(admin_client) == [(ON_DEFAULT, "colour")]


def test_the_list_shows_the_chosen_database(admin_client, twins):
    KeyVal(ON_OTHER).set("size", 3)
    assert listed(admin_client, database="other") == [(ON_OTHER, "colour"), (ON_OTHER, "size")]


def test_the_database_filter_offers_every_listed_database(admin_client, twins):
    response = admin_client.get(reverse(CHANGELIST), {"database": "other"})
    html = response.content.decode()
    assert "By database" in html
    assert '<li class="selected">\n    <a href="?database=other"' in html
    assert 'href="?database=default"' in html
    # The store filter offers the stores of the chosen database.
    stores = [spec for spec in response.context["cl"].filter_specs if spec.title == "store"]
    assert list(stores[0].lookup_choices) == [ON_OTHER]


def test_an_unknown_database_is_refused(admin_client, twins):
    response = admin_client.get(reverse(CHANGELIST), {"database": "nowhere"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_without_several_databases_there_is_no_database_filter(admin_client, settings):
    settings.KEYVAL = {}
    KeyVal(ON_DEFAULT).set("colour", "red")
    assert "By database" not in admin_client.get(reverse(CHANGELIST)).content.decode()


def test_the_list_links_to_the_entry_on_its_own_database(admin_client, twins):
    on_default, on_other = twins
    html = admin_client.get(reverse(CHANGELIST), {"database": "other"}).content.decode()
    assert f'href="{change_url(f"other:{on_other.pk}")}' in html
    page = admin_client.get(change_url(f"other:{on_other.pk}")).content.decode()
    assert "blue on other" in page
    assert "red on default" not in page
    home_html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert f'href="{change_url(str(on_default.pk))}' in home_html


def test_an_id_naming_an_unlisted_database_is_not_found(admin_client, twins):
    on_default, _ = twins
    response = admin_client.get(change_url(f"nowhere:{on_default.pk}"), follow=True)
    assert "doesn’t exist" in response.content.decode()


def test_editing_an_entry_of_another_database_writes_it_there(admin_client, twins):
    on_default, on_other = twins
    object_id = f"other:{on_other.pk}"
    response = admin_client.post(
        change_url(object_id, _changelist_filters="database%3Dother"),
        {"json_value": '"green"', "expires_0": "", "expires_1": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST) + "?database=other"
    assert KeyVal(ON_OTHER).get("colour") == "green"
    assert KeyVal(ON_DEFAULT).get("colour") == "red on default"
    logged = LogEntry.objects.get(action_flag=CHANGE)
    assert logged.object_id == object_id
    assert "green" in admin_client.get(logged.get_admin_url()).content.decode()


def test_the_history_page_lists_the_changes_of_the_entry_of_its_database(admin_client, twins):
    on_default, on_other = twins
    for object_id in (f"other:{on_other.pk}", str(on_default.pk)):
        admin_client.post(
            change_url(object_id),
            {"json_value": f'"{object_id}"', "expires_0": "", "expires_1": ""},
        )
    history = reverse("admin:django_keyval_entry_history", args=[quote(f"other:{on_other.pk}")])
    response = admin_client.get(history)
    assert [entry.object_id for entry in response.context["action_list"]] == [
        f"other:{on_other.pk}"
    ]
    assert KeyVal(ON_OTHER).get("colour") == f"other:{on_other.pk}"
    assert KeyVal(ON_DEFAULT).get("colour") == str(on_default.pk)


def test_the_change_page_links_to_the_entry_history_and_deletion_by_its_admin_id(
    admin_client, twins
):
    _, on_other = twins
    html = admin_client.get(change_url(f"other:{on_other.pk}")).content.decode()
    assert f"/entry/other_3A{on_other.pk}/history/" in html
    assert f"/entry/other_3A{on_other.pk}/delete/" in html


def test_deleting_an_entry_of_another_database_deletes_it_there(admin_client, twins):
    on_default, on_other = twins
    delete_url = reverse("admin:django_keyval_entry_delete", args=[quote(f"other:{on_other.pk}")])
    assert "blue on other" not in admin_client.get(delete_url).content.decode()
    response = admin_client.post(delete_url, {"post": "yes"})
    assert response.status_code == 302
    assert not Entry.objects.using("other").filter(pk=on_other.pk).exists()
    assert Entry.objects.using("default").filter(pk=on_default.pk).exists()
    assert LogEntry.objects.get(action_flag=DELETION).object_id == f"other:{on_other.pk}"


def test_deleting_selected_entries_deletes_them_on_the_chosen_database(admin_client, twins):
    on_default, on_other = twins
    response = admin_client.post(
        reverse(CHANGELIST) + "?database=other",
        {"action": "delete_selected", "_selected_action": [on_other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not KeyVal(ON_OTHER).exists("colour")
    assert KeyVal(ON_DEFAULT).get("colour") == "red on default"
    assert LogEntry.objects.get(action_flag=DELETION).object_id == f"other:{on_other.pk}"


@pytest.mark.parametrize("action", ["delete_selected", "flush_stores"])
def test_the_confirmation_names_the_database(admin_client, twins, action):
    _, on_other = twins
    response = admin_client.post(
        reverse(CHANGELIST) + "?database=other",
        {"action": action, "_selected_action": [on_other.pk]},
    )
    html = response.content.decode()
    assert "in 1 store</strong> on the database <strong>other</strong> will be deleted" in html


def test_a_single_database_confirmation_names_none(admin_client, settings):
    settings.KEYVAL = {}
    KeyVal(ON_DEFAULT).set("colour", "red")
    entry = stored_row(ON_DEFAULT, "colour")
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    assert "in 1 store</strong> will be deleted" in response.content.decode()


def test_flushing_stores_flushes_them_on_the_chosen_database(admin_client, twins):
    _, on_other = twins
    KeyVal(ON_OTHER).set("size", 3)
    response = admin_client.post(
        reverse(CHANGELIST) + "?database=other",
        {"action": "flush_stores", "_selected_action": [on_other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert Entry.objects.using("other").count() == 0
    assert KeyVal(ON_DEFAULT).get("colour") == "red on default"


def test_purging_expired_entries_purges_every_database(admin_client, twins):
    on_default, _ = twins
    expire(ON_DEFAULT, "colour")
    expire(ON_OTHER, "colour", using="other")
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "purge_expired", "_selected_action": [on_default.pk]}
    )
    assert response.status_code == 302
    assert all(not Entry.objects.using(alias).exists() for alias in ALIASES)


def test_adding_an_entry_writes_it_where_its_store_lives(admin_client, twins):
    response = admin_client.post(
        reverse("admin:django_keyval_entry_add"),
        {
            "store": ON_OTHER,
            "key": "new",
            "json_value": "[1, 2]",
            "expires_0": "",
            "expires_1": "",
            "_continue": "1",
        },
    )
    assert response.status_code == 302
    added = stored_row(ON_OTHER, "new", using="other")
    assert not Entry.objects.using("default").filter(key="new").exists()
    assert KeyVal(ON_OTHER).get("new") == [1, 2]
    assert response["Location"].startswith(change_url(f"other:{added.pk}"))
    page = admin_client.get(response["Location"])
    assert page.context["original"].key == "new"
    assert page.context["original"]._state.db == "other"


def test_a_key_in_use_on_the_store_database_cannot_be_added_again(admin_client, twins):
    response = admin_client.post(
        reverse("admin:django_keyval_entry_add"),
        {"store": ON_OTHER, "key": "colour", "json_value": "1", "expires_0": "", "expires_1": ""},
    )
    assert response.status_code == 200
    assert "This key is already in use in this store" in response.content.decode()


def test_versions_of_an_entry_of_another_database(admin_client, twins, settings):
    settings.KEYVAL = {"DATABASES": ALIASES, "STORES": {ON_OTHER: {"HISTORY": 5}}}
    handle = KeyVal(ON_OTHER)
    handle.set("theme", "light")
    handle.set("theme", "dark")
    entry = stored_row(ON_OTHER, "theme", using="other")
    object_id = quote(f"other:{entry.pk}")
    versions_url = reverse("admin:django_keyval_entry_versions", args=[object_id])
    assert versions_url in admin_client.get(change_url(f"other:{entry.pk}")).content.decode()
    response = admin_client.get(versions_url)
    shown = response.context["versions"]
    assert [version.value for version in shown] == ['"dark"', '"light"']
    response = admin_client.post(versions_url, {"restore": shown[1].pk})
    assert response["Location"] == change_url(f"other:{entry.pk}")
    assert handle.get("theme") == "light"
