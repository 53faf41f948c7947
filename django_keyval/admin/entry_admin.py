"""EntryAdmin: every store's entries in the Django admin; a value that fails to decode is shown."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat, pluralize
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats
from django.utils.html import format_html
from django.utils.text import capfirst

from django_keyval.admin.changelist import (
    DatabaseFilter,
    EntryChangeList,
    EstimatedCountPaginator,
    StatusFilter,
)
from django_keyval.admin.display import (
    DETAIL_CHARS,
    EXPIRED,
    PREVIEW_CHARS,
    between,
    detail_repr,
    entries_text,
    readable,
    shorten,
    shown_name,
    type_name,
    when,
)
from django_keyval.admin.settings_page import SettingsPage, settings_url
from django_keyval.admin.versions import keeps_history, versions_view
from django_keyval.admin_routing import (
    chosen_database,
    listed_databases,
    locate,
    row_pk,
    shown_from,
    writing_alias,
)
from django_keyval.changes import record_deleted_rows, recording_deletions
from django_keyval.forms import EntryForm, decode_entry, forget_decoded
from django_keyval.jsonvalues import json_text
from django_keyval.live import declared_settings
from django_keyval.localcache import writing_rows
from django_keyval.models import Entry
from django_keyval.signals import change_source
from django_keyval.store import KeyVal

# Deleting more entries than this at once leaves no line per entry in the admin's history.
HISTORY_LIMIT = 1000
# Entries named on the delete confirmation page.
SAMPLE_SIZE = 20


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The admin of every store's entries: list, filters, search, typed editing, actions.

    It reads from ``db_for_read(None)`` and writes to ``db_for_write(None)``, the
    databases KeyVal's class-level calls use (``KEYVAL["DATABASE"]``, else the
    routers without a store hint); with ``KEYVAL["DATABASES"]``, from and to each
    of those databases in turn (admin_routing.py). Values are written with
    ``KeyVal.set()``.
    """

    form = EntryForm
    list_display = [
        "store_display",
        "key_display",
        "value_preview",
        "value_type",
        "value_size",
        "expiry",
        "updated",
    ]
    list_display_links = ["key_display"]
    list_filter = [("store", admin.AllValuesFieldListFilter), StatusFilter]
    search_fields = ["key", "store"]
    ordering = ["store", "key"]
    paginator = EstimatedCountPaginator
    # A full count is a second pass over the table; facets are one per choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["delete_selected", "flush_stores", "purge_expired"]

    # The databases

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entry]:
        return super().get_queryset(request).using(chosen_database(request))

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Entry | None:
        if from_field is not None:
            return super().get_object(request, object_id, from_field)
        location = locate(object_id)
        if location is None:
            return None
        alias, pk = location
        try:
            entry = self.get_queryset(request).using(alias).get(pk=pk)
        except (Entry.DoesNotExist, ValidationError, ValueError):
            return None
        return shown_from(entry, alias)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters = list(super().get_list_filter(request))
        return [DatabaseFilter, *filters] if len(listed_databases()) > 1 else filters

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EntryChangeList

    # The views: their writes are signalled as the admin's, by the user of the request

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        with change_source("admin", request.user):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        with change_source("admin", request.user):
            return super().delete_view(request, object_id, extra_context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The list links to the Settings page (admin/settings_page.py) when settings are declared.
        extra = {"settings_url": settings_url(self) if declared_settings() else None}
        with change_source("admin", request.user):
            return super().changelist_view(request, {**extra, **(extra_context or {})})

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        settings_page = path(
            "settings/",
            self.admin_site.admin_view(SettingsPage(self)),
            name="django_keyval_entry_settings",
        )
        versions = path(
            "<path:object_id>/versions/",
            self.admin_site.admin_view(self.versions_view),
            name=f"{opts.app_label}_{opts.model_name}_versions",
        )
        return [settings_page, versions, *super().get_urls()]

    def versions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The versions of the entry's key (for a store that keeps a history)."""
        return versions_view(self, request, object_id)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Entry | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk is not None and keeps_history(obj):
            opts = self.opts
            name = f"admin:{opts.app_label}_{opts.model_name}_versions"
            context["versions_url"] = reverse(name, args=[quote(obj.pk)])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        # "Changed value and expiry." on the entry's history page, rather than the
        # labels of the form's fields.
        if add:
            return [{"added": {}}]
        changed = [
            what
            for field, what in (("json_value", "value"), ("expires", "expiry"))
            if field in form.changed_data
        ]
        return [{"changed": {"fields": changed}}] if changed else []

    # The change page

    def has_change_permission(self, request: HttpRequest, obj: Entry | None = None) -> bool:
        # A value that cannot be decoded cannot be written back: view or delete it.
        if obj is not None and obj.pk is not None and decode_entry(obj).error is not None:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Entry | None = None) -> list[str]:
        if obj is None:
            return []
        return [
            "store_display",
            "key_display",
            "value_display",
            "expiry_detail",
            "value_type",
            "value_size",
            "serializer",
            "updated_detail",
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Entry | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["store", "key", "json_value", "expires"]})]
        value, expiry = "value_display", "expiry_detail"
        if self.has_change_permission(request, obj):
            expiry = "expires"
            if json_text(decode_entry(obj).value, indent=2) is not None:
                value = "json_value"
        return [
            (None, {"fields": ["store_display", "key_display", value, expiry]}),
            ("Details", {"fields": ["value_type", "value_size", "serializer", "updated_detail"]}),
        ]

    def save_model(self, request: HttpRequest, obj: Entry, form: Any, change: bool) -> None:
        form.write()
        # The admin logs and links to the entry: read back what set() stored.
        fresh = Entry._default_manager.using(form.alias()).get(store=obj.store, key=obj.key)
        for field in Entry._meta.concrete_fields:
            setattr(obj, field.attname, getattr(fresh, field.attname))
        obj._state.adding = False
        shown_from(obj, form.alias())
        forget_decoded(obj)

    def delete_model(self, request: HttpRequest, obj: Entry) -> None:
        self._delete(Entry._default_manager.using(obj._state.db).filter(pk=row_pk(obj)))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._delete(queryset)

    def _delete(self, queryset: QuerySet[Any]) -> int:
        # One DELETE with the list's conditions: no row (and no value) is loaded,
        # unless the project listens to pre_delete/post_delete for entries.
        alias = writing_alias(queryset.db)
        if not recording_deletions():
            # Cached stores among the entries get a new generation (localcache/).
            with writing_rows(queryset, alias):
                deleted, _ = queryset.using(alias).delete()
            return deleted
        # Signals and history need the keys: the live ones are read in the same transaction.
        live = Q(expires_at__isnull=True) | Q(expires_at__gt=time.time())
        with transaction.atomic(using=alias), writing_rows(queryset, alias):
            rows = list(queryset.using(alias).filter(live).values_list("store", "key"))
            deleted, _ = queryset.using(alias).delete()
            record_deleted_rows(alias, rows)
        return deleted

    # Columns

    @admin.display(description="key", ordering="key")
    def key_display(self, obj: Entry) -> str:
        return shown_name(obj.key)

    @admin.display(description="store", ordering="store")
    def store_display(self, obj: Entry) -> str:
        return shown_name(obj.store)

    def _decoded_for_list(self, obj: Entry) -> Any:
        if "value" in obj.__dict__:
            return decode_entry(obj)
        payload = getattr(obj, "preview_payload", None)
        return None if payload is None else decode_entry(obj, payload)

    @admin.display(description="value")
    def value_preview(self, obj: Entry) -> str:
        decoded = self._decoded_for_list(obj)
        if decoded is None:
            size = filesizeformat(self._size(obj))
            return format_html("<em>{}</em>", f"large value ({size}): open the entry")
        if decoded.error is not None:
            return format_html(
                '<strong title="{}">{}</strong>', decoded.error, "\u26a0 cannot be decoded"
            )
        return shorten(readable(decoded.value), PREVIEW_CHARS)

    @admin.display(description="type")
    def value_type(self, obj: Entry) -> str:
        decoded = self._decoded_for_list(obj)
        if decoded is None or decoded.error is not None:
            return "\u2014"
        return type_name(decoded.value)

    def _size(self, obj: Entry) -> int:
        size = getattr(obj, "value_bytes", None)
        return len(obj.value) if size is None else int(size)

    @admin.display(description="size")
    def value_size(self, obj: Entry) -> str:
        size = self._size(obj)
        exact = formats.number_format(size, force_grouping=True)
        return format_html('<span title="{} bytes">{}</span>', exact, filesizeformat(size))

    @admin.display(description="expires", ordering="expires_at")
    def expiry(self, obj: Entry) -> str:
        if obj.expires_at is None:
            return "never"
        now = time.time()
        if obj.expires_at <= now:
            return format_html(
                '<span title="{}">{} {} ago</span>',
                when(obj.expires_at),
                EXPIRED,
                between(obj.expires_at, now),
            )
        return format_html(
            '<span title="{}">in {}</span>',
            when(obj.expires_at),
            between(now, obj.expires_at),
        )

    @admin.display(description="updated")
    def updated(self, obj: Entry) -> str:
        return format_html(
            '<span title="{}">{} ago</span>',
            when(obj.updated_at),
            between(obj.updated_at, time.time()),
        )

    @admin.display(description="expires")
    def expiry_detail(self, obj: Entry) -> str:
        if obj.expires_at is None:
            return "never"
        return format_html("{} ({})", when(obj.expires_at), self.expiry(obj))

    @admin.display(description="updated")
    def updated_detail(self, obj: Entry) -> str:
        return format_html("{} ({})", when(obj.updated_at), self.updated(obj))

    @admin.display(description="value")
    def value_display(self, obj: Entry) -> str:
        decoded = decode_entry(obj)
        if decoded.error is not None:
            return format_html(
                "<strong>This value cannot be decoded.</strong><br>{}.<br>{}",
                capfirst(decoded.error),
                "It is left as it is, and is never unpickled; it can only be deleted.",
            )
        text = json_text(decoded.value, indent=2)
        if text is not None:
            return format_html("<pre>{}</pre>", shorten(text, DETAIL_CHARS))
        return format_html(
            "<pre>{}</pre><p>{}</p>",
            shorten(detail_repr.repr(decoded.value), DETAIL_CHARS),
            f"A {type_name(decoded.value)} cannot be edited here: as JSON it would not "
            "keep its type. Change it from code with KeyVal.set(); its expiry can be "
            "changed here.",
        )

    # Actions

    @admin.action(description="Delete selected entries", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        if request.POST.get("post") == "yes":
            # The admin's history gets one line per entry, as with Django's own
            # action, up to HISTORY_LIMIT entries; pk, store and key are read, not values.
            logged = queryset.only("pk", "store", "key")[: HISTORY_LIMIT + 1]
            if len(logged) <= HISTORY_LIMIT:
                # Logged by their admin ids; Django's delete_view passes a list too.
                shown = [shown_from(row, queryset.db) for row in logged]
                self.log_deletions(request, shown)  # type: ignore[arg-type]
            deleted = self._delete(queryset)
            self.message_user(request, f"Deleted {entries_text(deleted)}.", messages.SUCCESS)
            return None
        by_store = queryset.order_by("store").values_list("store").annotate(entries=Count("pk"))
        sample = queryset.values_list("store", "key")[:SAMPLE_SIZE]
        return self._confirm(
            request,
            title="Delete entries",
            question="Are you sure you want to delete the selected entries?",
            action="delete_selected",
            database=_named_database(queryset),
            by_store=[(shown_name(store), count) for store, count in by_store],
            sample=[(shown_name(store), shown_name(key)) for store, key in sample],
        )

    @admin.action(description="Flush the stores of the selected entries", permissions=["delete"])
    def flush_stores(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        stores = list(queryset.order_by("store").values_list("store", flat=True).distinct())
        if request.POST.get("post") == "yes":
            alias = writing_alias(queryset.db)
            logged = Entry._default_manager.using(alias).filter(store__in=stores)
            logged = logged.only("pk", "store", "key")[: HISTORY_LIMIT + 1]
            if len(logged) <= HISTORY_LIMIT:
                # Logged by their admin ids; Django's delete_view passes a list too.
                shown = [shown_from(row, queryset.db) for row in logged]
                self.log_deletions(request, shown)  # type: ignore[arg-type]
            for store in stores:
                KeyVal(store, using=alias).flush()
            flushed = f"{len(stores)} store{pluralize(len(stores))}"
            self.message_user(request, f"Flushed {flushed}.", messages.SUCCESS)
            return None
        counts = (
            self.get_queryset(request)
            .filter(store__in=stores)
            .values_list("store")
            .annotate(entries=Count("pk"))
            .order_by("store")
        )
        return self._confirm(
            request,
            title="Flush stores",
            question=(
                "Are you sure you want to flush these stores? Every entry of each store "
                "is deleted, not only the selected ones."
            ),
            action="flush_stores",
            database=_named_database(queryset),
            by_store=[(shown_name(store), count) for store, count in counts],
        )

    @admin.action(description="Purge expired entries (of every store)", permissions=["delete"])
    def purge_expired(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Every store: of every database of KEYVAL["DATABASES"] too.
        removed = KeyVal.purge_expired()
        self.message_user(request, f"Purged {entries_text(removed, 'expired ')}.", messages.SUCCESS)

    def _confirm(
        self, request: HttpRequest, by_store: list[tuple[str, int]], **context: Any
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            "admin/django_keyval/entry/action_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
                "by_store": by_store,
                "total": sum(count for _, count in by_store),
                **context,
            },
        )


def _named_database(queryset: QuerySet[Any]) -> str | None:
    """Return the database a confirmation names: the list's, when there are several."""
    return queryset.db if len(listed_databases()) > 1 else None
