"""URLs of the example project: the admin, where the key-value entries can be browsed."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
