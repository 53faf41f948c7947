"""The statements of locks: acquire, release and extend a lease, each in one statement.

Every expiry is written and compared with the database server's clock (the
``now`` of each vendor below), so clients whose clocks disagree agree on who
holds a lease. No statement can fail on the unique (store, name) index: an
acquisition is an upsert whose update runs only over an expired lease, so a
lost race is an answer ("not acquired"), never an IntegrityError that would
abort the caller's PostgreSQL transaction.
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from django_keyval.sql.base import Operations, statements_for

# The server's time as a Unix timestamp (seconds, a float), in one expression
# that stays the same through a statement: the start of the statement on
# PostgreSQL and MariaDB, the start of the step on SQLite. A statement that
# waited for a row lock judges expiry as of its start, which can only make a
# lease look held a little longer, and write an expiry a little earlier.
NOW = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS double precision)",
    # julianday('now') is 'now' in days since noon, November 24, 4714 BC (UTC).
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    # UTC_TIMESTAMP() needs no time zone conversion, which UNIX_TIMESTAMP(NOW())
    # would make in the session's time zone (ambiguous in a DST fold).
    "mysql": "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) / 1e6)",
}


class Leases:
    """Acquire, release, extend and check the leases of locks, for one database.

    Built from the entry table's statements (``ops``), in their placeholder style.
    An owner is the random token of one acquisition; the fence of a lock grows
    by one with each acquisition, and its row is never deleted, so the fence
    never goes back.
    """

    # fmt: off
    # Inserts the lease with fence 1, or takes over an expired (or released)
    # one with the next fence; a live lease is left alone, and RETURNING gives
    # no row.
    acquire_sql = (
        "INSERT INTO {lease} ({store}, {name}, {owner}, {fence}, {expires_at}) "
        "VALUES (%s, %s, %s, 1, {now} + %s) "
        "ON CONFLICT ({store}, {name}) DO UPDATE SET "
        "{owner} = EXCLUDED.{owner}, {fence} = {lease}.{fence} + 1, "
        "{expires_at} = EXCLUDED.{expires_at} "
        "WHERE {lease}.{expires_at} <= {now} "
        "RETURNING {fence}"
    )
    # MySQL and MariaDB: ON DUPLICATE KEY UPDATE has no WHERE, so each
    # assignment keeps a live lease as it is, and the first tells the caller
    # the new fence through the connection's insert id (0: not taken). The
    # assignments run left to right, each seeing the ones before: the expiry
    # they test is changed last.
    acquire_mysql_sql = (
        "INSERT INTO {lease} ({store}, {name}, {owner}, {fence}, {expires_at}) "
        "VALUES (%s, %s, %s, 1, {now} + %s) ON DUPLICATE KEY UPDATE "
        "{fence} = IF({expires_at} <= {now}, LAST_INSERT_ID({fence} + 1), "
        "{fence} + LAST_INSERT_ID(0)), "
        "{owner} = IF({expires_at} <= {now}, VALUES({owner}), {owner}), "
        "{expires_at} = IF({expires_at} <= {now}, VALUES({expires_at}), {expires_at})"
    )
    owned_by = (
        "{store} = %s AND {name} = %s AND {owner} = %s AND {expires_at} > {now}"
    )
    # A released lease keeps its row (and fence), expired as of now.
    release_sql = "UPDATE {lease} SET {expires_at} = {now} WHERE {owned_by}"
    extend_sql = "UPDATE {lease} SET {expires_at} = {now} + %s WHERE {owned_by}"
    owned_sql = "SELECT 1 FROM {lease} WHERE {owned_by}"
    # Where INSERT has no RETURNING (SQLite before 3.35): the fence of an acquisition.
    fence_sql = "SELECT {fence} FROM {lease} WHERE {store} = %s AND {name} = %s AND {owner} = %s"
    # fmt: on

    def __init__(self, ops: Operations, connection: BaseDatabaseWrapper) -> None:
        quote = connection.ops.quote_name
        model = apps.get_model("django_keyval", "Lease")
        names = {
            column: quote(column) for column in ("store", "name", "owner", "fence", "expires_at")
        }
        names["lease"] = quote(model._meta.db_table)
        names["now"] = NOW[connection.vendor]
        names["owned_by"] = self.owned_by.format(**names)
        self.vendor = connection.vendor
        self.can_return = ops.can_return
        if self.vendor == "mysql":
            self.acquire_sql = self.acquire_mysql_sql
        elif not self.can_return:
            self.acquire_sql = self.acquire_sql.replace(" RETURNING {fence}", "")
        for attribute in ("acquire_sql", "release_sql", "extend_sql", "owned_sql", "fence_sql"):
            setattr(self, attribute, ops.sql(getattr(self, attribute).format(**names)))

    def statements(self) -> frozenset[str]:
        """Return the statements, which are the same on every call."""
        return frozenset({self.acquire_sql, self.release_sql, self.extend_sql, self.owned_sql})

    def acquire(
        self, cursor: CursorWrapper, store: str, name: str, owner: str, seconds: float
    ) -> int | None:
        """Take the lease ``name`` of ``store`` for ``owner`` for ``seconds``, unless
        another owner holds it unexpired; return the new fence, or None if not taken.

        Run outside a transaction on this database: one statement (two in a
        transaction where INSERT has no RETURNING).
        """
        params = (store, name, owner, seconds)
        if self.vendor == "mysql":
            cursor.execute(self.acquire_sql, params)
            # Found rows count 1 for an insert, 2 for a row updated, 1 for one
            # left as it was (Django's connections ask for found rows).
            if cursor.rowcount == 2:
                return int(cursor.lastrowid)
            return 1 if cursor.lastrowid else None
        if self.can_return:
            cursor.execute(self.acquire_sql, params)
            row = cursor.fetchone()
            return None if row is None else int(row[0])
        with transaction.atomic(using=cursor.db.alias):
            cursor.execute(self.acquire_sql, params)
            if cursor.rowcount < 1:
                return None
            cursor.execute(self.fence_sql, (store, name, owner))
            return int(cursor.fetchone()[0])

    def release(self, cursor: CursorWrapper, store: str, name: str, owner: str) -> bool:
        """End the lease if ``owner`` still holds it unexpired; return whether it did."""
        cursor.execute(self.release_sql, (store, name, owner))
        return bool(cursor.rowcount > 0)

    def extend(
        self, cursor: CursorWrapper, store: str, name: str, owner: str, seconds: float
    ) -> bool:
        """Make the lease expire ``seconds`` from now if ``owner`` still holds it
        unexpired; return whether it did."""
        cursor.execute(self.extend_sql, (seconds, store, name, owner))
        return bool(cursor.rowcount > 0)

    def owned(self, cursor: CursorWrapper, store: str, name: str, owner: str) -> bool:
        """Return whether ``owner`` holds the lease unexpired."""
        cursor.execute(self.owned_sql, (store, name, owner))
        return cursor.fetchone() is not None


def lease_statements(ops: Operations, connection: BaseDatabaseWrapper) -> frozenset[str]:
    """Return the statements of locks (for psycopg to prepare, see sql/cursors.py)."""
    return leases_for(ops, connection).statements()


def leases_for(ops: Operations, connection: BaseDatabaseWrapper) -> Leases:
    """Return the lease statements for ``connection``, in the style of ``ops``."""
    return statements_for(Leases, ops, connection)
