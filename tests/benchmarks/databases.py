"""The benchmark's own database on each server, and plain DB-API connections to it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

# The same servers and accounts as the test suite (see tests/settings.py).
PG = {
    "host": os.environ.get("KEYVAL_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("KEYVAL_PG_PORT", "5432"),
    "user": os.environ.get("KEYVAL_PG_USER", "postgres"),
    "password": os.environ.get("KEYVAL_PG_PASSWORD", ""),
}
MYSQL = {
    "host": os.environ.get("KEYVAL_MYSQL_HOST", "127.0.0.1"),
    "port": os.environ.get("KEYVAL_MYSQL_PORT", "3306"),
    "user": os.environ.get("KEYVAL_MYSQL_USER", "root"),
    "password": os.environ.get("KEYVAL_MYSQL_PASSWORD", ""),
}

# What README.rst recommends for SQLite, on Django's connections and the raw ones alike.
SQLITE_PRAGMAS = os.environ.get(
    "KEYVAL_BENCH_SQLITE_PRAGMAS", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
)


class Database:
    """A database made for one benchmark run: its Django settings and raw connections."""

    vendor = ""
    placeholder = "%s"

    def __init__(self) -> None:
        self.name = f"keyval_bench_{os.getpid()}"
        # PostgreSQL: prepared statements on Django's connections, as README.rst recommends.
        self.prepared = True

    def quote(self, name: str) -> str:
        return f'"{name}"'

    def create(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def django_settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def connect(self) -> Any:
        """Return a new DB-API connection to the benchmark database, in autocommit mode."""
        raise NotImplementedError

    def describe(self, connection: Any) -> str:
        raise NotImplementedError

    def analyze(self, connection: Any, tables: list[str]) -> None:
        """Refresh the planner's statistics, as a live server does by itself from time to time."""

    def disk_reads(self, connection: Any) -> int | None:
        """Return the server's count of pages read from disk so far, where it keeps one."""
        return None

    def server_thread(self, connection: Any) -> int | None:
        """Return the id of the server's process or thread serving ``connection``
        (None for SQLite, which runs in this process)."""
        return None


class SQLite(Database):
    vendor = "sqlite"
    placeholder = "?"

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="keyval_bench_"))
        self.path = self.directory / "bench.sqlite3"

    def create(self) -> None:
        pass  # The file appears with the first connection.

    def drop(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def django_settings(self) -> dict[str, Any]:
        options: dict[str, Any] = {"init_command": SQLITE_PRAGMAS}
        options["transaction_mode"] = "IMMEDIATE"
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(self.path), "OPTIONS": options}

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit, each statement its own transaction.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.executescript(SQLITE_PRAGMAS)
        return connection

    def describe(self, connection: Any) -> str:
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL), file {self.path}"


class PostgreSQL(Database):
    vendor = "postgresql"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(dbname="postgres", autocommit=True, **PG)

    def create(self) -> None:
        with self._admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name}")
            admin.execute(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        with self._admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def django_settings(self) -> dict[str, Any]:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": PG["user"],
            "PASSWORD": PG["password"],
            "HOST": PG["host"],
            "PORT": PG["port"],
            # What README.rst recommends: prepared statements, unless a
            # transaction-pooling PgBouncer sits between Django and the server.
            "OPTIONS": {"prepare_threshold": 5} if self.prepared else {},
        }

    def connect(self) -> Any:
        import psycopg

        # psycopg prepares a statement on the server from its fifth execution.
        return psycopg.connect(dbname=self.name, autocommit=True, **PG)

    def describe(self, connection: Any) -> str:
        version = connection.execute("SHOW server_version").fetchone()[0]
        return f"PostgreSQL {version} at {PG['host']}:{PG['port']} (TCP), database {self.name}"

    def analyze(self, connection: Any, tables: list[str]) -> None:
        connection.execute(f"ANALYZE {', '.join(tables)}")

    def server_thread(self, connection: Any) -> int | None:
        return int(connection.info.backend_pid)


class MySQL(Database):
    vendor = "mysql"

    def quote(self, name: str) -> str:
        return f"`{name}`"

    def _connect(self, **extra: Any) -> Any:
        import MySQLdb  # type: ignore[import-untyped]

        return MySQLdb.connect(
            host=MYSQL["host"],
            port=int(MYSQL["port"]),
            user=MYSQL["user"],
            password=MYSQL["password"],
            charset="utf8mb4",
            autocommit=True,
            **extra,
        )

    def create(self) -> None:
        admin = self._connect()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {self.name}")
        admin.cursor().execute(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4")
        admin.close()

    def drop(self) -> None:
        admin = self._connect()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {self.name}")
        admin.close()

    def django_settings(self) -> dict[str, Any]:
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": self.name,
            "USER": MYSQL["user"],
            "PASSWORD": MYSQL["password"],
            "HOST": MYSQL["host"],
            "PORT": MYSQL["port"],
            "OPTIONS": {"charset": "utf8mb4"},
        }

    def connect(self) -> Any:
        return self._connect(database=self.name)

    def describe(self, connection: Any) -> str:
        cursor = connection.cursor()
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
        where = f"{MYSQL['host']}:{MYSQL['port']} (TCP), database {self.name}"
        return f"MariaDB/MySQL {version} at {where}"

    def analyze(self, connection: Any, tables: list[str]) -> None:
        cursor = connection.cursor()
        cursor.execute(f"ANALYZE TABLE {', '.join(tables)}")
        cursor.fetchall()

    def disk_reads(self, connection: Any) -> int | None:
        # Server-wide: pages InnoDB had to read because its buffer pool lacked them.
        cursor = connection.cursor()
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_reads'")
        return int(cursor.fetchone()[1])

    def server_thread(self, connection: Any) -> int | None:
        # MariaDB's thread for this connection (MySQL has no TID column).
        cursor = connection.cursor()
        try:
            cursor.execute(
                "SELECT TID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
            )
        except Exception:
            return None
        return int(cursor.fetchone()[0])


DATABASES: dict[str, type[Database]] = {
    "sqlite": SQLite,
    "postgres": PostgreSQL,
    "postgresql": PostgreSQL,
    "mysql": MySQL,
    "mariadb": MySQL,
}
