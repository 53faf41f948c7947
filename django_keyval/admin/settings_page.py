"""The admin's Settings page: the declared settings in one form, beside the entries list.

Every write of the page goes through ``SettingsPage.write``. A save is checked
per setting against the state the form was loaded with: a setting changed by
someone else since then is refused (with a message), the others are saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from django_keyval.admin.settings_form import SettingsForm, state_digest
from django_keyval.declared import Declared
from django_keyval.live import UNSET, declared_settings, settings_store, stored_or_default
from django_keyval.models import Entry
from django_keyval.routing import db_for_write
from django_keyval.signals import change_source

if TYPE_CHECKING:
    from django_keyval.admin.entry_admin import EntryAdmin


class Conflict(Exception):
    """The setting changed since the form was loaded."""


def matching(declared: dict[str, Declared], query: str) -> dict[str, Declared]:
    """Return the settings whose name, help text or fieldset contains ``query`` (any case)."""
    query = query.strip().casefold()
    if not query:
        return declared
    return {
        name: setting
        for name, setting in declared.items()
        if query in f"{name}\n{setting.help_text}\n{setting.fieldset or ''}".casefold()
    }


class SettingsPage:
    """The view of ``admin:django_keyval_entry_settings``."""

    def __init__(self, model_admin: EntryAdmin) -> None:
        self.model_admin = model_admin

    def __call__(self, request: HttpRequest) -> HttpResponse:
        model_admin = self.model_admin
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        editable = model_admin.has_change_permission(request)
        if request.method == "POST" and not editable:
            raise PermissionDenied
        query = request.GET.get("q", "")
        declared = matching(declared_settings(), query)
        stored = self._stored(declared)
        values = {name: stored_or_default(declared[name], stored[name]) for name in declared}
        form = SettingsForm(
            declared,
            values,
            stored,
            request.POST if request.method == "POST" else None,
            editable=editable,
        )
        if request.method == "POST" and form.is_valid():
            self._save(request, form)
            return HttpResponseRedirect(request.get_full_path())
        if request.method == "POST":
            messages.error(request, "Please correct the errors below; nothing was saved.")
        context = {
            **model_admin.admin_site.each_context(request),
            "title": "Settings",
            "opts": Entry._meta,
            "form": form,
            "groups": form.rows(),
            "editable": editable,
            "query": query,
            "total": len(declared_settings()),
            "entries_url": reverse(f"{model_admin.admin_site.name}:django_keyval_entry_changelist"),
        }
        return TemplateResponse(request, "admin/django_keyval/settings.html", context)

    def _stored(self, declared: dict[str, Declared]) -> dict[str, Any]:
        found = settings_store().get_many(list(declared))
        return {name: found.get(name, UNSET) for name in declared}

    def _save(self, request: HttpRequest, form: SettingsForm) -> None:
        saved, refused = [], []
        for name in form.declared:
            reset = form.reset(name)
            if not reset and name not in form.changed_settings():
                continue
            value = UNSET if reset else form.cleaned_data[name]
            try:
                self.write(request, name, value, loaded=form.loaded(name))
            except Conflict:
                refused.append(name)
            else:
                saved.append(name)
        if saved:
            messages.success(request, f"Saved: {', '.join(saved)}.")
        if refused:
            messages.error(
                request,
                f"Not saved: {', '.join(refused)} changed since this page was loaded "
                "(by someone else, or in another tab). Check the new value and save again.",
            )
        if not (saved or refused):
            messages.info(request, "Nothing changed.")

    def write(self, request: HttpRequest, name: str, value: Any, *, loaded: str) -> None:
        """Store ``value`` for ``name`` (UNSET: reset it to its default) if the store still
        holds what the form was loaded with (digest ``loaded``), and log the change;
        raise Conflict otherwise. Signals and history name the admin and its user."""
        with change_source("admin", request.user):
            self._write(request, name, value, loaded=loaded)

    def _write(self, request: HttpRequest, name: str, value: Any, *, loaded: str) -> None:
        kv = settings_store()
        alias = db_for_write(kv.name, None)
        rows = Entry._default_manager.using(alias).filter(store=kv.name, key=name)

        if value is UNSET:
            old = kv.get(name, UNSET)
            if state_digest(old) != loaded:
                raise Conflict(name)
            if old is not UNSET:
                self.model_admin.log_deletions(request, rows)
                kv.delete(name, ignore_keyerror=True)
            return
        seen: list[Any] = []

        def replace(current: Any) -> Any:
            # Atomic with the write (modify() locks the row): no save lands in between.
            seen[:] = [current]
            if state_digest(current) != loaded:
                raise Conflict(name)
            return value

        kv.modify(name, replace, default=UNSET)
        old = seen[0]
        message = f"Changed setting {name} on the Settings page: {old!r} -> {value!r}."
        if old is UNSET:
            message = f"Set setting {name} on the Settings page: {value!r} (was the default)."
        self.model_admin.log_change(request, rows.get(), message)


def settings_url(model_admin: admin.ModelAdmin[Any], query: str = "") -> str:
    """Return the URL of the Settings page (with a search ``query``)."""
    url = reverse(f"{model_admin.admin_site.name}:django_keyval_entry_settings")
    return f"{url}?{urlencode({'q': query})}" if query else url
