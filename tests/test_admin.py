"""The admin: list, filters, search, typed editing, actions and permissions, on every database."""

from __future__ import annotations

import datetime
import pathlib
import pickle
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_keyval import KeyVal
from django_keyval.admin import (
    PREVIEW_CHARS,
    PREVIEW_MAX_BYTES,
    EntryAdmin,
    EstimatedCountPaginator,
)
from django_keyval.models import Entry
from tests.helpers import WRONG_MAC, Exploit, expire, stored_row, write_row

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_keyval_entry_changelist"
ADD = "admin:django_keyval_entry_add"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Hash the test users' passwords cheaply (admin_client logs a user in per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def change_url(entry: Entry) -> str:
    return reverse("admin:django_keyval_entry_change", args=[entry.pk])


def changelist(client: Any, **params: Any) -> str:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return str(response.content.decode())


def row_html(html: str, row: Entry) -> str:
    """The HTML of the change list's row of ``row``, from its checkbox to its end."""
    start = html.index(f'name="_selected_action" value="{row.pk}"')
    return html[start : html.index("</tr>", start)]


def rows(client: Any, **params: Any) -> list[tuple[str, str]]:
    """The (store, key) of each row the change list shows, in order."""
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return [(obj.store, obj.key) for obj in response.context["cl"].result_list]


@pytest.fixture
def canary(tmp_path: pathlib.Path) -> pathlib.Path:
    """A file that exists only if a forged pickle was loaded."""
    return tmp_path / "unpickled"


@pytest.fixture
def corrupt(canary: pathlib.Path) -> dict[str, Entry]:
    """Rows that cannot be decoded, one per way of failing."""
    exploit = pickle.dumps(Exploit(canary))
    good = KeyVal("bad")
    good.set("truncated", list(range(100)))
    truncated = stored_row("bad", "truncated")
    truncated.value = bytes(truncated.value)[:10]
    truncated.save()
    return {
        "forged": write_row("bad", "forged", exploit, mac=WRONG_MAC),
        "unsigned": write_row("bad", "unsigned", exploit),
        "unknown serializer": write_row(
            "bad", "unknown", b"{}", serializer="nope.Serializer", mac=b"1"
        ),
        "truncated": truncated,
    }


def make_user(django_user_model: Any, username: str, *codenames: str) -> Any:
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    perms = Permission.objects.filter(
        content_type__app_label="django_keyval", codename__in=codenames
    )
    user.user_permissions.add(*perms)
    return user


# The change list


def test_changelist_shows_store_key_value_type_size_expiry_and_update(admin_client):
    KeyVal("settings").set("site", {"name": "Example", "open": True}, ttl=3600)
    html = changelist(admin_client)
    row = row_html(html, stored_row("settings", "site"))
    assert "settings" in row
    assert ">site</a>" in row
    assert "{&quot;name&quot;: &quot;Example&quot;, &quot;open&quot;: true}" in row
    assert ">dict<" in row
    size = len(stored_row("settings", "site").value)
    assert f'<span title="{size} bytes">{size}\xa0bytes</span>' in row
    assert timezone.localtime().strftime("%Y") in row.split("field-expiry")[1]
    assert "never" not in row


def test_changelist_preview_is_truncated(admin_client):
    KeyVal("s").set("long", "x" * 1000)
    html = changelist(admin_client)
    assert "&quot;" + "x" * (PREVIEW_CHARS - 2) + "\u2026" in html
    assert "x" * PREVIEW_CHARS not in html


def test_changelist_shows_non_json_values_by_repr(admin_client):
    KeyVal("s").set("when", datetime.date(2024, 5, 17))
    html = changelist(admin_client)
    assert "datetime.date(2024, 5, 17)" in html
    assert ">datetime.date<" in html


def test_changelist_says_never_for_entries_without_expiry(admin_client):
    KeyVal("s").set("k", 1, ttl=None)
    assert '<td class="field-expiry">never</td>' in changelist(admin_client)


def test_changelist_marks_expired_entries(admin_client):
    raw = KeyVal("s")
    raw.set("old", 1)
    expire("s", "old", ago=60)
    html = changelist(admin_client)
    assert ">expired</strong>" in html.split('<td class="field-expiry">')[1]


def test_changelist_shows_empty_and_padded_keys_visibly(admin_client):
    KeyVal("s").set("", 1)
    KeyVal("s").set(" padded ", 2)
    html = changelist(admin_client)
    assert "<em>(empty)</em></a>" in html
    assert "&#x27; padded &#x27;</a>" in html


@pytest.mark.parametrize("kind", ["forged", "unsigned", "unknown serializer", "truncated"])
def test_changelist_shows_undecodable_values_as_such(admin_client, corrupt, canary, kind):
    html = changelist(admin_client)
    row = row_html(html, corrupt[kind])
    assert "cannot be decoded" in row
    assert not canary.exists()


def test_changelist_does_not_read_large_values(admin_client):
    KeyVal("s").set("big", b"x" * (PREVIEW_MAX_BYTES + 1))
    with CaptureQueriesContext(connection) as queries:
        html = changelist(admin_client)
    assert "large value (64.0\xa0KB): open the entry" in html
    page_query = next(q["sql"] for q in queries if "CASE WHEN" in q["sql"])
    value = connection.ops.quote_name("value")
    assert f".{value}," not in page_query and f".{value} FROM" not in page_query


def test_changelist_escapes_keys_and_values(admin_client):
    KeyVal("<b>store</b>").set("<script>key</script>", "<img src=x onerror=alert(1)>")
    html = changelist(admin_client)
    assert "<script>key" not in html and "<img src=x" not in html and "<b>store" not in html
    assert "&lt;script&gt;key&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_changelist_sorts_by_store_then_key(admin_client):
    for store, key in [("b", "a"), ("a", "b"), ("a", "a"), ("A", "z")]:
        KeyVal(store).set(key, 0)
    assert rows(admin_client) == [("A", "z"), ("a", "a"), ("a", "b"), ("b", "a")]


def test_changelist_sorts_by_key_descending_on_request(admin_client):
    for key in ["m", "z", "a"]:
        KeyVal("s").set(key, 0)
    # Column 2 is the key; "-" sorts it descending.
    assert [key for _, key in rows(admin_client, o="-2")] == ["z", "m", "a"]


@pytest.mark.parametrize("per_page", [10, 100])
def test_changelist_makes_a_constant_number_of_queries(
    admin_client, corrupt, django_assert_num_queries, per_page, monkeypatch
):
    """Session, user, count (PostgreSQL and MySQL: the row estimate first), the page's ids,
    its rows, the stores."""
    monkeypatch.setattr(EntryAdmin, "list_per_page", per_page)
    KeyVal("s").set_many({f"k{i:03}": i for i in range(150)})
    KeyVal("t").set("big", b"x" * (PREVIEW_MAX_BYTES + 1))
    KeyVal("t").set("when", datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    estimate = 1 if connection.vendor in ("postgresql", "mysql") else 0
    with django_assert_num_queries(6 + estimate):
        response = admin_client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == per_page


# Filters and search


def test_store_filter_lists_every_store_and_filters(admin_client):
    KeyVal("alpha").set("k", 1)
    KeyVal("beta").set("k", 2)
    html = changelist(admin_client)
    assert 'href="?store=alpha"' in html and 'href="?store=beta"' in html
    assert rows(admin_client, store="beta") == [("beta", "k")]


@pytest.mark.parametrize(
    ("status", "keys"),
    [("live", ["forever", "later"]), ("expired", ["gone"]), ("never", ["forever"])],
)
def test_status_filter(admin_client, status, keys):
    kv = KeyVal("s")
    kv.set("forever", 1, ttl=None)
    kv.set("later", 1, ttl=3600)
    kv.set("gone", 1, ttl=3600)
    expire("s", "gone")
    assert [key for _, key in rows(admin_client, status=status)] == keys


def test_search_by_key(admin_client):
    KeyVal("s").set("user:1:name", "Ada")
    KeyVal("s").set("user:2:name", "Grace")
    KeyVal("s").set("colour", "blue")
    assert [key for _, key in rows(admin_client, q="name")] == ["user:1:name", "user:2:name"]


def test_search_by_store(admin_client):
    KeyVal("sessions").set("k", 1)
    KeyVal("settings").set("k", 1)
    assert rows(admin_client, q="sess") == [("sessions", "k")]


def test_search_takes_wildcards_literally(admin_client):
    KeyVal("s").set("50%_off", 1)
    KeyVal("s").set("500 off", 1)
    assert [key for _, key in rows(admin_client, q="0%_")] == ["50%_off"]


# Counting large tables


def count_queries(paginator: EstimatedCountPaginator) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    return count, [q["sql"] for q in queries]


def test_paginator_counts_exactly_below_the_threshold():
    KeyVal("s").set_many({"a": 1, "b": 2})
    count, sql = count_queries(EstimatedCountPaginator(Entry.objects.order_by("pk"), 10))
    assert count == 2
    assert any("COUNT(" in statement for statement in sql)


def test_paginator_counts_a_filtered_list_exactly(monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", 0)
    KeyVal("s").set_many({"a": 1, "b": 2})
    count, sql = count_queries(
        EstimatedCountPaginator(Entry.objects.filter(key="a").order_by("pk"), 10)
    )
    assert count == 1
    assert len(sql) == 1 and "COUNT(" in sql[0]


def analyze() -> None:
    """Refresh PostgreSQL's row estimate (MySQL's ANALYZE TABLE would commit the test's data)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Entry._meta.db_table)}")


@pytest.mark.skipif(connections["default"].vendor == "sqlite", reason="SQLite keeps no estimate")
def test_paginator_uses_the_row_estimate_on_a_large_unfiltered_table(monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", 0)
    KeyVal("s").set_many({f"k{i}": i for i in range(50)})
    analyze()
    count, sql = count_queries(EstimatedCountPaginator(Entry.objects.order_by("pk"), 10))
    assert len(sql) == 1 and "COUNT(" not in sql[0]
    assert count >= 0


@pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="pg_class.reltuples")
def test_paginator_estimate_on_postgresql_follows_analyze(monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", 10)
    KeyVal("s").set_many({f"k{i}": i for i in range(50)})
    analyze()
    count, _ = count_queries(EstimatedCountPaginator(Entry.objects.order_by("pk"), 10))
    assert count == 50


# The change page: JSON values keep their type


def expiry_fields(when: datetime.datetime | None) -> dict[str, str]:
    if when is None:
        return {"expires_0": "", "expires_1": ""}
    when = timezone.localtime(when)
    return {"expires_0": when.strftime("%Y-%m-%d"), "expires_1": when.strftime("%H:%M:%S")}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("hello", '"hello"'),
        ("42", '"42"'),
        (42, "42"),
        (4.5, "4.5"),
        (True, "true"),
        (None, "null"),
        ([1, "a", None], '[\n  1,\n  "a",\n  null\n]'),
        ({"a": {"b": [1.5]}}, '{\n  "a": {\n    "b": [\n      1.5\n    ]\n  }\n}'),
    ],
)
def test_change_page_shows_json_values_as_json(admin_client, value, text):
    KeyVal("s").set("k", value)
    response = admin_client.get(change_url(stored_row("s", "k")))
    assert response.status_code == 200
    assert response.context["adminform"].form["json_value"].value() == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"42"', "42"),
        ("42", 42),
        ("42.0", 42.0),
        ("-0.5", -0.5),
        ("true", True),
        ("false", False),
        ("null", None),
        ('""', ""),
        ("[]", []),
        ("{}", {}),
        ('[1, "two", 3.0, [false]]', [1, "two", 3.0, [False]]),
        ('{"b": 1, "a": {"n": null}}', {"b": 1, "a": {"n": None}}),
        ('"caf\u00e9 \\u2603"', "caf\u00e9 \u2603"),
    ],
)
def test_editing_a_json_value_keeps_its_type(admin_client, text, expected):
    kv = KeyVal("s")
    kv.set("k", "before")
    response = admin_client.post(change_url(stored_row("s", "k")), {"json_value": text})
    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = kv.get("k")
    assert stored == expected
    assert type(stored) is type(expected)


def test_saved_values_are_signed_and_keep_the_entry_serializer(admin_client):
    kv = KeyVal("s", serializer="json")
    kv.set("k", [1])
    admin_client.post(change_url(stored_row("s", "k")), {"json_value": "[1, 2]"})
    row = stored_row("s", "k")
    assert row.serializer == "json"
    assert bytes(row.value) == b"[1,2]"
    assert row.mac is not None and len(row.mac) == 32
    assert kv.get("k") == [1, 2]


def test_invalid_json_is_a_form_error_and_leaves_the_value(admin_client):
    kv = KeyVal("s")
    kv.set("k", {"a": 1})
    before = stored_row("s", "k")
    response = admin_client.post(change_url(before), {"json_value": "{'a': 2}"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Enter valid JSON" in errors["json_value"][0]
    assert kv.get("k") == {"a": 1}
    assert stored_row("s", "k").updated_at == before.updated_at


def test_an_empty_value_is_a_form_error(admin_client):
    KeyVal("s").set("k", 1)
    response = admin_client.post(change_url(stored_row("s", "k")), {"json_value": ""})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["json_value"]


def test_saving_an_unchanged_form_writes_nothing(admin_client):
    KeyVal("s").set("k", {"a": [1, 2]}, ttl=3600)
    before = stored_row("s", "k")
    form = admin_client.get(change_url(before)).context["adminform"].form
    # As a browser sends it: CRLF line ends, the expiry in whole seconds.
    text = form["json_value"].value().replace("\n", "\r\n")
    data = {"json_value": text, **expiry_fields(form.fields["expires"].initial)}
    response = admin_client.post(change_url(before), data)
    assert response.status_code == 302
    after = stored_row("s", "k")
    assert (after.updated_at, after.expires_at) == (before.updated_at, before.expires_at)


def test_editing_the_expiry_sets_it(admin_client):
    kv = KeyVal("s")
    kv.set("k", 1, ttl=None)
    when = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    data = {"json_value": "1", **expiry_fields(when)}
    assert admin_client.post(change_url(stored_row("s", "k")), data).status_code == 302
    assert stored_row("s", "k").expires_at == pytest.approx(when.timestamp(), abs=0.5)


def test_clearing_the_expiry_makes_the_entry_permanent(admin_client):
    kv = KeyVal("s")
    kv.set("k", 1, ttl=3600)
    data = {"json_value": "1", **expiry_fields(None)}
    assert admin_client.post(change_url(stored_row("s", "k")), data).status_code == 302
    assert kv.ttl("k") is None


def test_an_expiry_in_the_past_is_a_form_error(admin_client):
    kv = KeyVal("s")
    kv.set("k", 1, ttl=None)
    data = {"json_value": "2", **expiry_fields(timezone.now() - datetime.timedelta(hours=1))}
    response = admin_client.post(change_url(stored_row("s", "k")), data)
    assert response.status_code == 200
    assert "in the past" in response.context["adminform"].form.errors["expires"][0]
    assert kv.get("k") == 1


def test_changing_the_value_of_an_expired_entry_asks_for_a_new_expiry(admin_client):
    kv = KeyVal("s")
    kv.set("k", 1, ttl=3600)
    expire("s", "k", ago=10)
    form = admin_client.get(change_url(stored_row("s", "k"))).context["adminform"].form
    expires = timezone.localtime(form.fields["expires"].initial)
    data = {"json_value": "2", **expiry_fields(expires)}
    response = admin_client.post(change_url(stored_row("s", "k")), data)
    assert response.status_code == 200
    assert "in the past" in response.context["adminform"].form.errors["expires"][0]


def test_store_and_key_are_read_only_on_the_change_page(admin_client):
    KeyVal("s").set("k", 1)
    response = admin_client.get(change_url(stored_row("s", "k")))
    form = response.context["adminform"].form
    assert "store" not in form.fields and "key" not in form.fields
    admin_client.post(
        change_url(stored_row("s", "k")), {"json_value": "2", "store": "x", "key": "y"}
    )
    assert KeyVal("s").get("k") == 2
    assert not Entry.objects.filter(store="x").exists()


# The change page: values JSON cannot represent


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ((1, 2), "(1, 2)"),
        ({1, 2}, "{1, 2}"),
        (datetime.date(2024, 5, 17), "datetime.date(2024, 5, 17)"),
        (Decimal("1.10"), "Decimal(&#x27;1.10&#x27;)"),
        ({1: "int key"}, "{1: &#x27;int key&#x27;}"),
        (b"raw", "b&#x27;raw&#x27;"),
    ],
)
def test_values_json_cannot_represent_are_read_only(admin_client, value, shown):
    kv = KeyVal("s")
    kv.set("k", value)
    response = admin_client.get(change_url(stored_row("s", "k")))
    assert response.status_code == 200
    html = response.content.decode()
    assert "json_value" not in response.context["adminform"].form.fields
    assert shown in html
    assert "cannot be edited here" in html


def test_a_bytes_serializer_value_is_read_only(admin_client):
    KeyVal("s", serializer="bytes").set("k", b"\x00\x01")
    response = admin_client.get(change_url(stored_row("s", "k")))
    assert "json_value" not in response.context["adminform"].form.fields
    assert "b&#x27;\\x00\\x01&#x27;" in response.content.decode()


def test_the_expiry_of_a_read_only_value_can_change(admin_client):
    kv = KeyVal("s")
    kv.set("k", (1, 2), ttl=None)
    when = timezone.now() + datetime.timedelta(hours=5)
    response = admin_client.post(change_url(stored_row("s", "k")), expiry_fields(when))
    assert response.status_code == 302
    assert kv.get("k") == (1, 2)
    assert kv.ttl("k") == pytest.approx(5 * 3600, abs=2)


# The change page: values that cannot be decoded


@pytest.mark.parametrize("kind", ["forged", "unsigned", "unknown serializer", "truncated"])
def test_undecodable_values_are_shown_as_such_on_the_change_page(
    admin_client, corrupt, canary, kind
):
    response = admin_client.get(change_url(corrupt[kind]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This value cannot be decoded." in html
    assert 'name="_save"' not in html
    assert not canary.exists()


def test_undecodable_values_cannot_be_overwritten(admin_client, corrupt, canary):
    row = corrupt["forged"]
    response = admin_client.post(change_url(row), {"json_value": "1"})
    assert response.status_code == 403
    assert bytes(stored_row("bad", "forged").value) == bytes(row.value)
    assert not canary.exists()


def test_undecodable_values_can_be_deleted(admin_client, corrupt):
    row = corrupt["truncated"]
    url = reverse("admin:django_keyval_entry_delete", args=[row.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Entry.objects.filter(pk=row.pk).exists()


# Adding entries


def add(client: Any, store: str, key: str, text: str, **extra: str) -> Any:
    data = {"store": store, "key": key, "json_value": text, **expiry_fields(None), **extra}
    return client.post(reverse(ADD), data)


def test_add_form_has_store_key_value_and_expiry(admin_client):
    response = admin_client.get(reverse(ADD))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == [
        "store",
        "key",
        "json_value",
        "expires",
    ]


def test_adding_an_entry_stores_it_through_keyval(admin_client):
    response = add(admin_client, "settings", "limit", "42")
    assert response.status_code == 302
    assert KeyVal("settings").get("limit") == 42
    row = stored_row("settings", "limit")
    assert row.mac is not None and row.expires_at is None


def test_adding_an_entry_with_an_expiry(admin_client):
    when = timezone.now() + datetime.timedelta(hours=1)
    assert add(admin_client, "s", "k", '"v"', **expiry_fields(when)).status_code == 302
    assert KeyVal("s").ttl("k") == pytest.approx(3600, abs=2)


def test_adding_keeps_spaces_and_allows_empty_names(admin_client):
    assert add(admin_client, "", " k ", "1").status_code == 302
    assert KeyVal("").get(" k ") == 1


def test_adding_with_invalid_json_is_a_form_error(admin_client):
    response = add(admin_client, "s", "k", "nope")
    assert response.status_code == 200
    assert "Enter valid JSON" in response.context["adminform"].form.errors["json_value"][0]
    assert not Entry.objects.exists()


def test_adding_a_key_with_nul_is_a_form_error(admin_client):
    response = add(admin_client, "s", "a\x00b", "1")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["key"]
    assert not Entry.objects.exists()


def test_adding_a_live_key_again_is_a_form_error(admin_client):
    KeyVal("s").set("k", 1)
    response = add(admin_client, "s", "k", "2")
    assert response.status_code == 200
    assert "already in use" in response.context["adminform"].form.errors["key"][0]
    assert KeyVal("s").get("k") == 1


def test_adding_over_an_expired_key_replaces_it(admin_client):
    KeyVal("s").set("k", 1, ttl=60)
    expire("s", "k")
    assert add(admin_client, "s", "k", "2").status_code == 302
    assert KeyVal("s").get("k") == 2


def test_a_value_the_serializer_refuses_is_a_form_error(admin_client, settings):
    settings.KEYVAL = {"SERIALIZER": "bytes"}
    response = add(admin_client, "s", "k", '"text"')
    assert response.status_code == 200
    assert "cannot be stored" in response.context["adminform"].form.errors["json_value"][0]
    assert not Entry.objects.exists()


def test_adding_logs_the_entry_in_the_admin_history(admin_client):
    add(admin_client, "s", "k", "1")
    log = LogEntry.objects.get()
    assert log.object_id == str(stored_row("s", "k").pk)
    assert log.object_repr == "s: k"


@pytest.mark.django_db(databases=["default", "other"])
def test_the_admin_uses_the_keyval_database(admin_client, settings):
    settings.KEYVAL = {"DATABASE": "other"}
    KeyVal("s", using="default").set("on-default", 1)
    KeyVal("s").set("on-other", 1)
    assert rows(admin_client) == [("s", "on-other")]
    assert add(admin_client, "s", "added", "2").status_code == 302
    assert KeyVal("s", using="other").get("added") == 2
    assert not KeyVal("s", using="default").exists("added")


# Actions


def run_action(client: Any, action: str, pks: list[int], query: str = "", **extra: str) -> Any:
    """Post an action as the change list does (``index``) or as its confirmation does."""
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}
    return client.post(reverse(CHANGELIST) + query, data)


def test_delete_selected_asks_for_confirmation_first(admin_client):
    KeyVal("s").set_many({"a": 1, "b": 2, "c": 3})
    pks = [stored_row("s", "a").pk, stored_row("s", "b").pk]
    response = run_action(admin_client, "delete_selected", pks, index="0")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>2 entries in 1 store</strong> will be deleted." in html
    assert "<li>s: a</li>" in html and "<li>s: b</li>" in html
    assert Entry.objects.count() == 3


def test_delete_selected_deletes_the_selected_entries(admin_client):
    KeyVal("s").set_many({"a": 1, "b": 2, "c": 3})
    pks = [stored_row("s", "a").pk, stored_row("s", "b").pk]
    response = run_action(admin_client, "delete_selected", pks, post="yes")
    assert response.status_code == 302
    assert KeyVal("s").keys() == ["c"]
    logged = LogEntry.objects.filter(action_flag=DELETION)
    assert sorted(log.object_repr for log in logged) == ["s: a", "s: b"]


def test_delete_selected_deletes_thousands_without_reading_values(admin_client):
    """Thousands are selected across pages ("Select all"): one DELETE with the list's filter."""
    KeyVal("many").set_many({f"k{i:05}": "v" * 100 for i in range(3000)})
    KeyVal("kept").set("k", 1)
    one = stored_row("many", "k00001").pk
    with CaptureQueriesContext(connection) as queries:
        response = run_action(
            admin_client, "delete_selected", [one], "?store=many", post="yes", select_across="1"
        )
    assert response.status_code == 302
    assert KeyVal.stores() == ["kept"]
    value = connection.ops.quote_name("value")
    statements = [q["sql"] for q in queries]
    assert not [sql for sql in statements if value in sql]
    assert len([sql for sql in statements if sql.startswith("DELETE")]) == 1


def test_delete_selected_across_a_filtered_list(admin_client):
    KeyVal("many").set_many({f"k{i}": i for i in range(300)})
    KeyVal("kept").set("k", 1)
    one = stored_row("many", "k1").pk
    response = run_action(
        admin_client, "delete_selected", [one], "?store=many", post="yes", select_across="1"
    )
    assert response.status_code == 302
    assert KeyVal.stores() == ["kept"]


def test_flush_stores_asks_for_confirmation_with_counts(admin_client):
    KeyVal("alpha").set_many({"a": 1, "b": 2})
    KeyVal("beta").set("a", 1)
    KeyVal("gamma").set("a", 1)
    pks = [stored_row("alpha", "a").pk, stored_row("beta", "a").pk]
    response = run_action(admin_client, "flush_stores", pks, index="0")
    assert response.status_code == 200
    assert response.context["by_store"] == [("alpha", 2), ("beta", 1)]
    html = response.content.decode()
    for pk in pks:
        assert f'<input type="hidden" name="_selected_action" value="{pk}">' in html
    assert '<input type="hidden" name="action" value="flush_stores">' in html
    assert Entry.objects.count() == 4


def test_flush_stores_empties_the_stores_of_the_selected_entries(admin_client):
    KeyVal("alpha").set_many({"a": 1, "b": 2})
    KeyVal("beta").set("a", 1)
    KeyVal("gamma").set("a", 1)
    pks = [stored_row("alpha", "a").pk, stored_row("beta", "a").pk]
    response = run_action(admin_client, "flush_stores", pks, post="yes")
    assert response.status_code == 302
    assert KeyVal.stores() == ["gamma"]


def test_purge_expired_removes_only_expired_entries(admin_client):
    KeyVal("s").set_many({"old1": 1, "old2": 2, "new": 3})
    expire("s", "old1", "old2")
    response = run_action(admin_client, "purge_expired", [stored_row("s", "new").pk], index="0")
    assert response.status_code == 302
    assert list(Entry.objects.values_list("key", flat=True)) == ["new"]


# Permissions


def test_staff_without_permission_sees_nothing(client, django_user_model):
    client.force_login(make_user(django_user_model, "staff"))
    index = client.get(reverse("admin:index"))
    assert "django_keyval" not in index.content.decode()
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_view_only_users_can_list_and_view(client, django_user_model):
    KeyVal("s").set("k", {"a": 1})
    client.force_login(make_user(django_user_model, "viewer", "view_entry"))
    assert client.get(reverse(CHANGELIST)).status_code == 200
    response = client.get(change_url(stored_row("s", "k")))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_view_only_users_cannot_change_add_or_delete(client, django_user_model):
    KeyVal("s").set("k", 1)
    row = stored_row("s", "k")
    client.force_login(make_user(django_user_model, "viewer", "view_entry"))
    assert client.post(change_url(row), {"json_value": "2"}).status_code == 403
    assert client.get(reverse(ADD)).status_code == 403
    delete = reverse("admin:django_keyval_entry_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert KeyVal("s").get("k") == 1


def test_actions_need_the_delete_permission(client, django_user_model):
    KeyVal("s").set("k", 1)
    client.force_login(make_user(django_user_model, "editor", "view_entry", "change_entry"))
    response = client.get(reverse(CHANGELIST))
    assert response.context["action_form"] is None
    run_action(client, "delete_selected", [stored_row("s", "k").pk], post="yes")
    assert KeyVal("s").get("k") == 1


def test_users_with_delete_permission_get_the_actions(client, django_user_model):
    client.force_login(make_user(django_user_model, "admin2", "view_entry", "delete_entry"))
    KeyVal("s").set("k", 1)
    response = client.get(reverse(CHANGELIST))
    choices = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert choices[1:] == ["delete_selected", "flush_stores", "purge_expired"]
