"""The admin in a real browser: log in, list, search, edit a JSON value, save.

Headless Chromium (Debian's ``chromium`` package) driven by Playwright against
pytest-django's live server. Without Chromium or Playwright the test is skipped
with the reason, except under CI (the ``CI`` variable set), where it fails.
Screenshots are saved in the test's tmp dir and copied to SCREENSHOTS.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import django.contrib.admin
import pytest

from django_keyval import KeyVal
from django_keyval.models import Entry
from tests.helpers import WRONG_MAC, expire, write_row

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path("/tmp/keyval-admin-screens")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; under CI, fail instead: CI must run this test."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test, so this is a failure.")
    pytest.skip(reason)


@pytest.fixture
def chromium() -> str:
    """The path of the Chromium binary, once Playwright is known to be importable."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("Playwright is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def admin_static(settings: Any) -> None:
    """Serve the admin's CSS and JS from the live server, without django.contrib.staticfiles.

    pytest-django's live server serves STATIC_ROOT at STATIC_URL when staticfiles
    is not installed, as in tests/settings.py.
    """
    settings.STATIC_ROOT = str(Path(django.contrib.admin.__file__).parent / "static")


@pytest.fixture
def screenshots(tmp_path: Path) -> Any:
    """Save a full-page screenshot under tmp_path and copy it to SCREENSHOTS."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, SCREENSHOTS / path.name)
        return path

    return take


@contextmanager
def admin_page(chromium: str, live_server: Any, next_path: str) -> Iterator[Any]:
    """A headless Chromium page, logged in to the admin as admin/secret, at ``next_path``.

    The ORM is used only outside the block: Playwright's sync API runs an event loop.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(20_000)
            page.goto(f"{live_server.url}/admin/login/?next={next_path}")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "secret")
            page.click("input[type=submit]")
            yield page
        finally:
            browser.close()


def seed() -> None:
    settings_store = KeyVal("settings")
    settings_store.set("greeting", "hello")
    settings_store.set("limits", {"max_users": 100, "trial_days": 14, "beta": True})
    settings_store.set("launch", (2025, 3, 1))
    KeyVal("counters").set_many({f"page:{n}": n * 17 for n in range(1, 6)})
    KeyVal("sessions").set("abc123", {"user": 7}, ttl=3600)
    KeyVal("sessions").set("old", {"user": 3}, ttl=60)
    expire("sessions", "old", ago=30)
    write_row("settings", "tampered", b"\x80\x05forged", "pickle", WRONG_MAC)


@pytest.mark.django_db(transaction=True)
def test_admin_in_a_browser(
    chromium, admin_static, live_server, django_user_model, screenshots, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django_user_model.objects.create_superuser("admin", "admin@example.com", "secret")
    seed()
    greeting = Entry.objects.get(store="settings", key="greeting")
    tampered = Entry.objects.get(store="settings", key="tampered")
    launch = Entry.objects.get(store="settings", key="launch")

    from playwright.sync_api import expect

    with admin_page(chromium, live_server, "/admin/django_keyval/entry/") as page:
        expect(page.locator("#result_list tbody tr")).to_have_count(11)
        expect(page.locator("#result_list")).to_contain_text("cannot be decoded")
        expect(page.locator("#result_list")).to_contain_text("expired")
        screenshots(page, "changelist")

        page.fill("#searchbar", "greet")
        page.press("#searchbar", "Enter")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        page.click("#result_list a:text-is('greeting')")
        page.wait_for_url(f"**/entry/{greeting.pk}/change/**")
        expect(page.locator("#id_json_value")).to_have_value('"hello"')
        page.fill("#id_json_value", '{"text": "hi", "count": 2, "ratio": 0.5}')
        screenshots(page, "change")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_contain_text("was changed")
        screenshots(page, "saved")

        page.goto(f"{live_server.url}/admin/django_keyval/entry/{launch.pk}/change/")
        expect(page.locator("body")).to_contain_text("cannot be edited here")
        screenshots(page, "read-only")

        page.goto(f"{live_server.url}/admin/django_keyval/entry/{tampered.pk}/change/")
        expect(page.locator("body")).to_contain_text("This value cannot be decoded.")
        screenshots(page, "undecodable")

        page.goto(f"{live_server.url}/admin/django_keyval/entry/?store=counters")
        page.check("#result_list tbody tr:first-child input.action-select")
        page.select_option("select[name=action]", "flush_stores")
        page.click("button[name=index]")
        expect(page.locator("#content")).to_contain_text("5 entries in 1 store will be deleted")
        screenshots(page, "flush-confirmation")
        page.click("input[type=submit][value^=Yes]")
        expect(page.locator(".messagelist .success")).to_contain_text("Flushed 1 store.")

    assert KeyVal("settings").get("greeting") == {"text": "hi", "count": 2, "ratio": 0.5}
    assert KeyVal.stores() == ["sessions", "settings"]
    assert {"changelist.png", "change.png"} <= {path.name for path in SCREENSHOTS.iterdir()}


@pytest.mark.django_db(transaction=True)
def test_versions_in_a_browser(
    chromium, admin_static, live_server, django_user_model, screenshots, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.KEYVAL = {"STORES": {"settings": {"HISTORY": 10}}}
    django_user_model.objects.create_superuser("admin", "admin@example.com", "secret")
    theme = KeyVal("settings")
    for value in ("light", "dark", "solarized"):
        theme.set("theme", value)
    entry = Entry.objects.get(store="settings", key="theme")

    from playwright.sync_api import expect

    with admin_page(
        chromium, live_server, f"/admin/django_keyval/entry/{entry.pk}/change/"
    ) as page:
        page.fill("#id_json_value", '"high contrast"')
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_contain_text("was changed")

        page.goto(f"{live_server.url}/admin/django_keyval/entry/{entry.pk}/change/")
        page.click("a.versionslink")
        page.wait_for_url(f"**/entry/{entry.pk}/versions/")
        rows = page.locator("#versions tbody tr")
        expect(rows).to_have_count(4)
        expect(rows.first).to_contain_text('"high contrast"')
        expect(rows.first).to_contain_text("admin")
        expect(rows.last).to_contain_text('"light"')
        expect(rows.last).to_contain_text("api")
        screenshots(page, "versions")

        rows.filter(has_text='"dark"').locator("button[name=restore]").click()
        expect(page.locator(".messagelist .success")).to_contain_text("Restored the value of")
        expect(page.locator("#id_json_value")).to_have_value('"dark"')
        screenshots(page, "restored")

    assert theme.get("theme") == "dark"
    assert {"versions.png", "restored.png"} <= {path.name for path in SCREENSHOTS.iterdir()}


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_several_databases_in_a_browser(
    chromium, admin_static, live_server, django_user_model, screenshots, settings
):
    from tests.test_scaling_out import ALIASES, STORES, home

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATABASE_ROUTERS = ["tests.test_scaling_out.HashRouter"]
    settings.KEYVAL = {"DATABASES": ALIASES}
    django_user_model.objects.create_superuser("admin", "admin@example.com", "secret")
    on_default = next(store for store in STORES if home(store) == "default")
    on_other = next(store for store in STORES if home(store) == "other")
    KeyVal(on_default).set("plan", "basic")
    KeyVal(on_other).set_many({"plan": "pro", "seats": 12})

    from playwright.sync_api import expect

    with admin_page(chromium, live_server, "/admin/django_keyval/entry/") as page:
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list")).to_contain_text(on_default)

        page.click("#changelist-filter a:text-is('other')")
        expect(page.locator("#result_list tbody tr")).to_have_count(2)
        expect(page.locator("#result_list")).to_contain_text(on_other)
        screenshots(page, "other-database")
        page.click("#result_list a:text-is('plan')")
        page.wait_for_url("**/entry/other_3A*/change/**")
        expect(page.locator("#id_json_value")).to_have_value('"pro"')
        page.fill("#id_json_value", '"enterprise"')
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_contain_text("was changed")
        # Back on the list of the database the entry is on.
        expect(page.locator("#result_list tbody tr")).to_have_count(2)
        expect(page.locator("#changelist-filter li.selected", has_text="other")).to_be_visible()

    assert KeyVal(on_other).get("plan") == "enterprise"
    assert KeyVal(on_default).get("plan") == "basic"
