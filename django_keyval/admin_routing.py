"""The databases the entry admin covers, and how its URLs name an entry's database.

Without KEYVAL["DATABASES"], the admin shows the one database KeyVal's
class-level calls read (``db_for_read(None)``) and writes where they write.
With it, the list shows one of those databases at a time (``?database=``),
the home database (the routers' answer without a store hint) by default.
Entry ids are counted per database, so in the admin's URLs and history an
entry of another database than the home one is named ``alias:id``: a link
never opens the entry of the same id on another database.
"""

from __future__ import annotations

from django.http import HttpRequest

from django_keyval.models import Entry
from django_keyval.routing import db_for_read, db_for_write, every_database, spread_databases

# The change list's parameter that chooses the database.
DATABASE_PARAM = "database"
# Between a database alias and an entry's id in the admin's URLs ("shard2:17").
SEPARATOR = ":"


def listed_databases() -> list[str]:
    """Return the aliases whose entries the admin can show."""
    return every_database(reading=True)


def home_database() -> str:
    """Return the database listed when none is chosen; its entries keep their plain ids."""
    listed = listed_databases()
    home = db_for_read(None)
    return home if home in listed else listed[0]


def chosen_database(request: HttpRequest) -> str:
    """Return the database the change list of ``request`` shows (an unknown choice is
    refused by DatabaseFilter; the home database is listed meanwhile)."""
    chosen = request.GET.get(DATABASE_PARAM)
    return chosen if chosen in listed_databases() else home_database()


def writing_alias(alias: str | None) -> str:
    """Return where to write the entries read from ``alias``."""
    # KEYVAL["DATABASES"] lists primaries, read and written directly. Otherwise the
    # admin reads where the class-level calls read (perhaps a replica) and writes
    # where they write.
    return alias if alias and spread_databases() else db_for_write(None)


def adding_alias(store: str) -> str:
    """Return where a new entry of ``store`` is written: where ``KeyVal(store)`` writes
    when stores are spread over databases; else the admin's one database."""
    return db_for_write(store if spread_databases() else None)


def admin_id(alias: str, pk: object) -> str:
    """Return the id naming the entry ``pk`` of the database ``alias`` in the admin."""
    if alias == home_database() or not spread_databases():
        return str(pk)
    return f"{alias}{SEPARATOR}{pk}"


def locate(object_id: str) -> tuple[str, str] | None:
    """Return the (alias, pk) an admin id names; None for a database the admin does not list."""
    alias, separator, pk = object_id.rpartition(SEPARATOR)
    if not separator:
        return home_database(), object_id
    return (alias, pk) if alias in listed_databases() else None


def shown_from(entry: Entry, alias: str) -> Entry:
    """Give ``entry``, read from ``alias``, its admin id as primary key, so that Django's
    admin links to it and logs it by that id; return it.

    The admin never saves the instance (it writes through KeyVal), so the id is
    only a name: ``row_pk()`` gives the row's own back.
    """
    entry.pk = admin_id(alias, row_pk(entry))
    entry._state.db = alias
    return entry


def row_pk(entry: Entry) -> str:
    """Return the id of the entry's row in its database."""
    return str(entry.pk).rpartition(SEPARATOR)[2]
