"""The admin's Settings page in a real browser (set up as tests/test_admin_browser.py is)."""

from __future__ import annotations

import pytest

from django_keyval import config
from tests import test_admin_browser
from tests.settings_helpers import declare
from tests.test_admin_browser import SCREENSHOTS, admin_page

# The browser test's fixtures: Chromium (or a skip, a failure under CI), static files,
# screenshots saved in the test's tmp dir and copied to SCREENSHOTS.
chromium = test_admin_browser.chromium
admin_static = test_admin_browser.admin_static
screenshots = test_admin_browser.screenshots


@pytest.mark.django_db(transaction=True)
def test_settings_page_in_a_browser(
    chromium, admin_static, live_server, django_user_model, screenshots, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    declare(settings)
    django_user_model.objects.create_superuser("admin", "admin@example.com", "secret")
    config.GREETING = "Welcome back"

    from playwright.sync_api import expect

    with admin_page(chromium, live_server, "/admin/django_keyval/entry/") as page:
        page.click(".object-tools a:text-is('Settings')")
        page.wait_for_url("**/entry/settings/")
        expect(page.locator("fieldset h2")).to_have_text(["General", "Uploads", "Shop", "Look"])
        expect(page.locator(".field-GREETING .changed")).to_have_text("changed")
        page.check("#id_MAINTENANCE_MODE")
        page.select_option("#id_THEME", "dark")
        page.fill("#id_MAX_UPLOAD_MB", "64")
        page.check("#id_GREETING__reset")
        screenshots(page, "settings")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_contain_text(
            "Saved: MAINTENANCE_MODE, MAX_UPLOAD_MB, GREETING, THEME."
        )
        expect(page.locator(".field-THEME .changed")).to_have_text("changed")
        screenshots(page, "settings-saved")

        page.fill("#searchbar", "launch")
        page.press("#searchbar", "Enter")
        expect(page.locator(".keyval-settings .form-row")).to_have_count(2)

    assert config.MAINTENANCE_MODE is True
    assert config.THEME == "dark"
    assert config.MAX_UPLOAD_MB == 64
    assert config.GREETING == "hello"
    assert {"settings.png", "settings-saved.png"} <= {path.name for path in SCREENSHOTS.iterdir()}
