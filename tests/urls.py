from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests.settings_page import twenty_settings

urlpatterns = [
    path("admin/", admin.site.urls),
    path("twenty-settings/", twenty_settings),
]
