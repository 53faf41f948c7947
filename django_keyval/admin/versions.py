"""The versions of a key of a store that keeps a history, and restoring one, in the admin."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from django_keyval.admin.display import PREVIEW_CHARS, readable, shorten, shown_name, when
from django_keyval.admin_routing import writing_alias
from django_keyval.codec import StoreCodec
from django_keyval.conf import get_config
from django_keyval.exceptions import KeyValError
from django_keyval.models import Entry, Version
from django_keyval.signals import change_source
from django_keyval.sql.rows import as_bytes, as_mac
from django_keyval.store import KeyVal

if TYPE_CHECKING:
    from django_keyval.admin.entry_admin import EntryAdmin


@dataclass(frozen=True)
class ShownVersion:
    """One version as the admin lists it."""

    pk: int
    when: str
    source: str
    user: str
    deleted: bool
    value: str
    error: str | None

    @property
    def restorable(self) -> bool:
        return not self.deleted and self.error is None


def versions_of(entry: Entry) -> QuerySet[Version]:
    """Return the versions of the entry's key, newest first."""
    return (
        Version._default_manager.using(entry._state.db)
        .filter(store=entry.store, key=entry.key)
        .order_by("-id")
    )


def decode_version(version: Version) -> Any:
    """Return the value of ``version``, verified as the store's values are; raise
    KeyValError if it cannot be."""
    data = as_bytes(version.value)
    return StoreCodec(version.store).decode(
        version.key, data, version.serializer, as_mac(version.mac)
    )


def _shown(version: Version) -> ShownVersion:
    value, error = "", None
    if not version.deleted:
        try:
            value = shorten(readable(decode_version(version)), PREVIEW_CHARS)
        except KeyValError as exc:
            error = str(exc)
    return ShownVersion(
        pk=version.pk,
        when=when(version.changed_at),
        source=version.source,
        user=version.user_repr or "\u2014",
        deleted=version.deleted,
        value=value,
        error=error,
    )


def keeps_history(entry: Entry) -> bool:
    return entry.store in get_config().history


def versions_view(admin: EntryAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """List the versions of an entry's key; a POST of ``restore`` writes one back."""
    entry = admin.get_object(request, unquote(object_id))
    if entry is None:
        raise Http404("No such entry.")
    if not admin.has_view_or_change_permission(request, entry):
        raise PermissionDenied
    if request.method == "POST":
        return _restore(admin, request, entry)
    opts = admin.opts
    context = {
        **admin.admin_site.each_context(request),
        "opts": opts,
        "original": entry,
        "title": f"Versions of {entry.key or '(empty)'}",
        "store": shown_name(entry.store),
        "key": shown_name(entry.key),
        "keeps": get_config().history.get(entry.store, 0),
        "versions": [_shown(version) for version in versions_of(entry)],
        "can_restore": admin.has_change_permission(request, entry),
        "change_url": _change_url(admin, entry),
    }
    return TemplateResponse(request, "admin/django_keyval/entry/versions.html", context)


def _restore(admin: EntryAdmin, request: HttpRequest, entry: Entry) -> HttpResponse:
    if not admin.has_change_permission(request, entry):
        raise PermissionDenied
    try:
        version = versions_of(entry).get(pk=int(request.POST.get("restore", "")), deleted=False)
        value = decode_version(version)
    except (ValueError, Version.DoesNotExist) as exc:
        raise Http404("No such version of this key.") from exc
    except KeyValError as exc:
        admin.message_user(request, f"This version cannot be restored: {exc}", messages.ERROR)
        return HttpResponseRedirect(request.path)
    # The entry keeps its expiry, as an edit in the change form does.
    ttl = None if entry.expires_at is None else max(entry.expires_at - time.time(), 0.001)
    handle = KeyVal(
        entry.store, using=writing_alias(entry._state.db), serializer=version.serializer
    )
    with change_source("admin", request.user):
        handle.set(entry.key, value, ttl=ttl)
    message = f"Restored the value of {when(version.changed_at)} (version {version.pk})."
    admin.log_change(request, entry, message)
    admin.message_user(request, message, messages.SUCCESS)
    return HttpResponseRedirect(_change_url(admin, entry))


def _change_url(admin: EntryAdmin, entry: Entry) -> str:
    opts = admin.opts
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(entry.pk)])
