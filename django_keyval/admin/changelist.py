"""The change list: a paginator that estimates huge tables, a status filter, lean pages."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import BinaryField, Case, F, Func, IntegerField, Q, QuerySet, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject, cached_property

from django_keyval.admin_routing import (
    DATABASE_PARAM,
    admin_id,
    home_database,
    listed_databases,
)
from django_keyval.sql import operations_class

# The change list decodes values of at most this many bytes for its preview;
# larger ones are left in the database (a page could otherwise carry 100 x 8 MiB).
PREVIEW_MAX_BYTES = 64 * 1024


class _ByteLength(Func):
    # LENGTH() counts bytes of a BLOB/bytea on SQLite, PostgreSQL and MySQL alike
    # (Django's Length is CHAR_LENGTH on MySQL).
    function = "LENGTH"
    output_field = IntegerField()


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator that takes the database's row estimate for a large, unfiltered table.

    ``COUNT(*)`` reads the whole table on PostgreSQL and InnoDB. When nothing
    filters the list and the estimate is at least ``estimate_threshold`` rows,
    the estimate is used instead; otherwise the count is exact.
    """

    estimate_threshold = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.has_filters():
            estimate = _estimated_rows(queryset)
            if estimate is not None and estimate >= self.estimate_threshold:
                return estimate
        return super().count


def _estimated_rows(queryset: QuerySet[Any]) -> int | None:
    connection = connections[queryset.db]
    ops_class = operations_class(connection.vendor)
    if ops_class is None or ops_class.estimate_sql is None:
        return None  # No cursor at all where the database keeps no estimate.
    with connection.cursor() as cursor:
        return ops_class.estimated_rows(cursor, queryset.model._meta.db_table)


class StatusFilter(admin.SimpleListFilter):
    """Live entries (no expiry, or one still ahead) or expired ones not purged yet."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("expired", "Expired"), ("never", "Never expires")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        now = time.time()
        if self.value() == "live":
            return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        return None


class DatabaseFilter(admin.SimpleListFilter):
    """The database the list shows, when stores are spread over several (one at a
    time: ids and pages are per database). The admin's get_queryset() reads it."""

    title = "database"
    parameter_name = DATABASE_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(alias, alias) for alias in listed_databases()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() is not None and self.value() not in listed_databases():
            raise IncorrectLookupParameters(f"{self.value()!r} is not a listed database")
        return None

    def choices(self, changelist: ChangeList) -> Any:
        # No "All": a list holds the entries of one database.
        shown = self.value() or home_database()
        for alias, title in self.lookup_choices:
            yield {
                "selected": alias == shown,
                "query_string": changelist.get_query_string({self.parameter_name: alias}),
                "display": title,
            }


class EntryChangeList(ChangeList):
    """The change list; its page reads each row's size, and only small values."""

    def url_for_result(self, result: Any) -> str:
        # The link names the entry's database too (admin_routing.py).
        opts = self.opts
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=(quote(admin_id(result._state.db, result.pk)),),
            current_app=self.model_admin.admin_site.name,
        )

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Read when shown, so an action's request (which builds a change list too)
        # reads no page at all.
        self.result_list = SimpleLazyObject(partial(self._page, self.result_list))

    def _page(self, page: QuerySet[Any]) -> list[Any]:
        # The page's ids first, from the (store, key) index alone: skipping to a
        # deep page stays cheap (MariaDB sorts the whole table to skip full rows).
        ids = list(page.values_list("pk", flat=True))
        rows = (
            self.root_queryset.filter(pk__in=ids)
            .defer("value")
            .annotate(
                value_bytes=_ByteLength("value"),
                preview_payload=Case(
                    When(value_bytes__lte=PREVIEW_MAX_BYTES, then=F("value")),
                    default=None,
                    output_field=BinaryField(),
                ),
            )
        )
        by_id = {row.pk: row for row in rows}
        return [by_id[pk] for pk in ids if pk in by_id]
