"""Killing a database connection, or a whole process, in the middle of an operation."""

from __future__ import annotations

import os
import signal
import sqlite3
import traceback
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connections

from tests.processes import context, figures, session_id

# The database the victims work on, and the connection the parent watches them from
# ("other" is another database on the same server, so watching takes no lock on "default").
VENDOR = connections["default"].vendor
WATCH = "other"


def kill_session(session: int) -> None:
    """End the database session ``session`` from another connection."""
    with connections[WATCH].cursor() as cursor:
        if VENDOR == "postgresql":
            cursor.execute("SELECT pg_terminate_backend(%s)", [session])
        else:
            cursor.execute(f"KILL {int(session)}")
    figures["faults injected (connections killed)"] += 1


def writing(session: int) -> bool:
    """Return whether ``session`` is in a transaction that has written something."""
    if VENDOR == "sqlite":
        return _sqlite_write_locked()
    with connections[WATCH].cursor() as cursor:
        if VENDOR == "postgresql":
            cursor.execute("SELECT backend_xid FROM pg_stat_activity WHERE pid = %s", [session])
        else:
            cursor.execute(
                "SELECT NULLIF(trx_rows_modified, 0) FROM information_schema.innodb_trx "
                "WHERE trx_mysql_thread_id = %s",
                [session],
            )
        row = cursor.fetchone()
    return row is not None and row[0] is not None


def _sqlite_write_locked() -> bool:
    # Another writer holds SQLite's write lock if an immediate transaction cannot begin now.
    probe = sqlite3.connect(connections["default"].settings_dict["NAME"], timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc) or "busy" in str(exc), exc
        return True
    finally:
        probe.close()
    return False


class Victim:
    """A child process that runs ``work()`` once on the "default" database.

    ``work`` returns what the parent gets from ``outcome()``. With ``wait``, it
    starts only when the parent calls ``go()``.
    """

    def __init__(self, work: Callable[[], Any], *, wait: bool = False) -> None:
        connections.close_all()
        self._sessions = context.Queue()
        self._outcomes = context.Queue()
        self._go = context.Event()
        if not wait:
            self._go.set()
        self.process = context.Process(target=self._run, args=(work,))
        self.process.start()
        figures["processes forked"] += 1

    def _run(self, work: Callable[[], Any]) -> None:
        connections.close_all()
        try:
            self._sessions.put(session_id())
            assert self._go.wait(timeout=60)
            outcome: Any = ("ok", work())
        except BaseException:
            outcome = ("error", traceback.format_exc())
        connections.close_all()
        self._outcomes.put(outcome)

    def session(self) -> int:
        """Return the victim's database session id, once it has connected."""
        return int(self._sessions.get(timeout=30))

    def go(self) -> None:
        self._go.set()

    def kill_process(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=30)
        assert self.process.exitcode == -signal.SIGKILL
        figures["faults injected (processes killed)"] += 1

    def outcome(self) -> Any:
        outcome = self._outcomes.get(timeout=60)
        self.process.join(timeout=30)
        assert outcome[0] == "ok", outcome[1]
        return outcome[1]


def after_a_lost_connection() -> None:
    """Do what Django does before each request: drop a connection that errors made unusable."""
    close_old_connections()
