"""The admin's Settings page, through Django's test client."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.forms import BooleanField, Form

from django_keyval import KeyVal, config
from django_keyval.models import Version
from django_keyval.signals import value_changed
from tests.settings_helpers import declare

URL = "/admin/django_keyval/entry/settings/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def declared(settings: Any) -> None:
    declare(settings)


def form_data(form: Form, **changes: Any) -> dict[str, Any]:
    """Return the POST data of ``form`` as the browser sends it unchanged, with ``changes``
    (None leaves a checkbox unticked)."""
    data: dict[str, Any] = {}
    for bound in form:
        value = bound.field.widget.format_value(bound.value())
        if isinstance(value, list):  # a select's
            (value,) = value
        if isinstance(bound.field, BooleanField):
            value = "on" if bound.value() else None
        data[bound.html_name] = value
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_the_page_shows_every_setting_grouped_by_fieldset(admin_client: Any) -> None:
    config.THEME = "dark"
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for heading in ("General", "Uploads", "Shop", "Look"):
        assert f"<h2>{heading}</h2>" in page
    assert 'type="date"' in page
    assert 'type="checkbox" name="MAINTENANCE_MODE"' in page
    assert '<select name="THEME"' in page
    assert page.count('class="changed"') == 1
    assert KeyVal("settings").count() == 1  # showing the page wrote nothing


def test_the_entries_list_links_to_it(admin_client: Any) -> None:
    page = admin_client.get("/admin/django_keyval/entry/").content.decode()
    assert f'href="{URL}"' in page


def test_search(admin_client: Any) -> None:
    form = admin_client.get(URL, {"q": "launch"}).context["form"]
    assert list(form.declared) == ["LAUNCH_DATE", "LAUNCH_AT"]
    form = admin_client.get(URL, {"q": "look"}).context["form"]  # a fieldset
    assert list(form.declared) == ["THEME"]


def test_saving_writes_only_the_changed_settings_with_their_types(admin_client: Any) -> None:
    form = admin_client.get(URL).context["form"]
    data = form_data(
        form,
        MAINTENANCE_MODE="on",
        PRICE="10.50",
        GRACE="1 02:03:04.000005",
        LIMITS='{"max_users": 20}',
        THEME="dark",
        LAUNCH_DATE="2031-05-06",
    )
    response = admin_client.post(URL, data, follow=True)
    assert "Saved: MAINTENANCE_MODE, PRICE, LAUNCH_DATE, GRACE, THEME, LIMITS." in (
        response.content.decode()
    )
    assert sorted(KeyVal("settings").keys()) == [
        "GRACE",
        "LAUNCH_DATE",
        "LIMITS",
        "MAINTENANCE_MODE",
        "PRICE",
        "THEME",
    ]
    assert config.MAINTENANCE_MODE is True
    assert decimal.Decimal("10.50") == config.PRICE
    assert datetime.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5) == config.GRACE
    assert config.LIMITS == {"max_users": 20}
    assert datetime.date(2031, 5, 6) == config.LAUNCH_DATE
    messages = set(
        LogEntry.objects.filter(action_flag=CHANGE).values_list("change_message", flat=True)
    )
    assert "Set setting THEME on the Settings page: 'dark' (was the default)." in messages


def test_a_value_refused_by_its_validator_saves_nothing(admin_client: Any) -> None:
    form = admin_client.get(URL).context["form"]
    response = admin_client.post(URL, form_data(form, MAX_UPLOAD_MB="5000", THEME="dark"))
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 1000." in response.content.decode()
    assert KeyVal("settings").count() == 0


def test_reset_to_default(admin_client: Any) -> None:
    config.THEME = "dark"
    form = admin_client.get(URL).context["form"]
    response = admin_client.post(URL, form_data(form, THEME__reset="on"), follow=True)
    assert "Saved: THEME." in response.content.decode()
    assert not KeyVal("settings").exists("THEME")
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 1


def test_a_setting_changed_since_the_form_was_loaded_is_not_overwritten(
    admin_client: Any,
) -> None:
    form = admin_client.get(URL).context["form"]
    config.THEME = "dark"  # someone else saves, after the page was loaded
    data = form_data(form, THEME="light", GREETING="hi", RATIO="0.75")
    response = admin_client.post(URL, data, follow=True)
    page = response.content.decode()
    assert "Not saved: THEME changed since this page was loaded" in page
    assert "Saved: RATIO, GREETING." in page
    assert config.THEME == "dark"
    assert config.GREETING == "hi"


def test_a_reset_of_a_setting_changed_since_is_refused(admin_client: Any) -> None:
    config.THEME = "dark"
    form = admin_client.get(URL).context["form"]
    config.THEME = "light"
    response = admin_client.post(URL, form_data(form, THEME__reset="on"), follow=True)
    assert "Not saved: THEME" in response.content.decode()
    assert config.THEME == "light"
    assert KeyVal("settings").exists("THEME")


@pytest.fixture
def viewer_client(client: Any, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_entry"))
    client.force_login(user)
    return client


def test_view_only_staff_see_the_values_but_cannot_save(viewer_client: Any) -> None:
    config.THEME = "dark"
    response = viewer_client.get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "You can view these settings but not change them." in page
    assert 'name="_save"' not in page
    form = response.context["form"]
    assert all(form.fields[name].disabled for name in form.declared)
    data = form_data(response.context["form"], THEME="light")
    assert viewer_client.post(URL, data).status_code == 403
    assert config.THEME == "dark"


def test_staff_without_permission_are_refused(client: Any, django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_no_link_without_declared_settings(admin_client: Any, settings: Any) -> None:
    settings.KEYVAL = {}
    page = admin_client.get("/admin/django_keyval/entry/").content.decode()
    assert URL not in page


# The page's writes are signalled and kept as versions (the settings store keeps a history)


def test_a_save_is_signalled_as_the_admins_with_its_user(
    admin_client: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sent: list[dict[str, Any]] = []

    def on_changed(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    value_changed.connect(on_changed)
    try:
        form = admin_client.get(URL).context["form"]
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(URL, form_data(form, THEME="dark"))
    finally:
        value_changed.disconnect(on_changed)
    [(store, key, new, source, user)] = [
        (s["store"], s["key"], s["new_value"], s["source"], s["user"]) for s in sent
    ]
    assert (store, key, new, source, user) == ("settings", "THEME", "dark", "admin", admin_user)


def test_declared_settings_keep_versions_by_default(admin_client: Any, admin_user: Any) -> None:
    form = admin_client.get(URL).context["form"]
    admin_client.post(URL, form_data(form, THEME="dark"))
    config.THEME = "light"
    versions = Version.objects.filter(store="settings", key="THEME").order_by("id")
    assert [(v.source, v.user_pk) for v in versions] == [("admin", str(admin_user.pk)), ("api", "")]


def test_the_settings_history_can_be_turned_off(settings: Any) -> None:
    declare(settings, STORES={"settings": {"HISTORY": 0}})
    config.THEME = "dark"
    assert not Version.objects.exists()
