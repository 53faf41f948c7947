"""SQLite and PostgreSQL: the expiry index holds only the entries that expire.

The index on ``expires_at`` serves purge_expired(), which reads the entries
with an expiry in its order. Entries without one (most of them, in most
stores) were in it too, as NULLs nobody reads, and every write of such an
entry paid for its index entry. A partial index (``WHERE expires_at IS NOT
NULL``) leaves them out: on SQLite, writes of entries without a ttl run about
a fifth faster (a third for overwrites). Purges still read it: ``expires_at
<= now`` implies ``expires_at IS NOT NULL`` on both databases.

MySQL and MariaDB have no partial indexes and keep the full one. Django's
model state is unchanged: the index keeps its name and column.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEX = "django_keyval_expires_at"
PARTIAL_VENDORS = frozenset({"sqlite", "postgresql"})


def _recreate(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor, *, partial: bool) -> None:
    if schema_editor.connection.vendor not in PARTIAL_VENDORS:
        return
    quote = schema_editor.quote_name
    table = quote(apps.get_model("django_keyval", "Entry")._meta.db_table)
    index, column = quote(INDEX), quote("expires_at")
    condition = f" WHERE {column} IS NOT NULL" if partial else ""
    schema_editor.execute(f"DROP INDEX {index}")
    schema_editor.execute(f"CREATE INDEX {index} ON {table} ({column}){condition}")


def only_expiring(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _recreate(apps, schema_editor, partial=True)


def every_entry(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _recreate(apps, schema_editor, partial=False)


class Migration(migrations.Migration):
    dependencies = [
        ("django_keyval", "0005_entry_clustered_by_key"),
    ]

    operations = [
        migrations.RunPython(only_expiring, every_entry, elidable=False),
    ]
