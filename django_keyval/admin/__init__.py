"""The Django admin of the entries of every store."""

from __future__ import annotations

from django_keyval.admin.changelist import PREVIEW_MAX_BYTES, EstimatedCountPaginator
from django_keyval.admin.display import PREVIEW_CHARS
from django_keyval.admin.entry_admin import EntryAdmin

__all__ = ["PREVIEW_CHARS", "PREVIEW_MAX_BYTES", "EntryAdmin", "EstimatedCountPaginator"]
