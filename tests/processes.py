"""Real OS processes on the database, and the database sessions they run in.

Forked processes race, lined up on a barrier and bounded in time (tests/sql,
tests/stress); fresh interpreters run manage.py or a script on settings of
their own (test_commands.py, test_transfer.py, test_checks.py); a session is
watched from another connection to see it wait for a lock (test_retry.py,
tests/stress).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import connections

# What the processes did, printed at the end of a stress run (see tests/stress/conftest.py).
figures: Counter[str] = Counter()

# Fork, so that each child inherits the configured Django (and the test
# databases' names) and a worker can be a closure. The parent closes its
# connections first, so no process shares a socket or file handle.
context = multiprocessing.get_context("fork")

Worker = Callable[[int, Any], Any]


class _RetryCounter(logging.Handler):
    """Counts the conflicts django_keyval retried in this process, by operation."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        operation, attempt = record.args if isinstance(record.args, tuple) else ("?", 0)
        self.counts[f"retried conflicts ({operation})"] += 1
        self.counts[f"retried conflicts (attempt {attempt} failed)"] += 1


def _child(worker: Worker, me: int, barrier: Any, results: Any) -> None:
    # A forked child has none of its parent's threads: if the parent had already
    # run async code, asgiref's executor for thread-sensitive calls counts on a
    # thread that is not there, and every sync_to_async() call would wait forever.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    connections.close_all()
    counter = _RetryCounter()
    logger = logging.getLogger("django_keyval.retry")
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        outcome = ("ok", me, worker(me, barrier), counter.counts)
    except BaseException:
        outcome = ("error", me, traceback.format_exc(), counter.counts)
        barrier.abort()  # Release the others now rather than at the barrier's timeout.
    finally:
        connections.close_all()
    results.put(outcome)


def run_in_processes(workers: Sequence[Worker], *, timeout: float = 150) -> list[Any]:
    """Run each ``worker(me, barrier)`` in a process of its own; return their results by ``me``.

    A process that fails makes the test fail with its traceback. After ``timeout``
    seconds the processes are killed and the test fails: a run is bounded in time.
    """
    connections.close_all()
    barrier = context.Barrier(len(workers))
    results = context.Queue()
    processes = [
        context.Process(target=_child, args=(worker, me, barrier, results))
        for me, worker in enumerate(workers)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + timeout
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
    finally:
        for process in processes:
            process.join(timeout=max(1.0, deadline - time.monotonic()))
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                process.join()
    figures["processes forked"] += len(processes)
    for outcome in outcomes:
        figures.update(outcome[3])
    errors = [text for status, _, text, _ in outcomes if status == "error"]
    # A process that failed breaks the barrier for the others: show its own error.
    errors.sort(key=lambda text: "BrokenBarrierError" in text)
    assert not errors, errors[0]
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return [value for _, _, value, _ in sorted(outcomes, key=lambda outcome: outcome[1])]


def line_up(barrier: Any) -> None:
    barrier.wait(timeout=60)


# Fresh interpreters

REPO = Path(__file__).resolve().parent.parent
CHILD_SETTINGS = "keyval_child_settings"


def write_child_settings(directory: Path, databases: dict[str, dict[str, Any]]) -> None:
    """Write a settings module that is tests.settings with ``databases``."""
    text = f"from tests.settings import *  # noqa: F403\n\nDATABASES = {databases!r}\n"
    (directory / f"{CHILD_SETTINGS}.py").write_text(text)


def child_databases() -> dict[str, dict[str, Any]]:
    """Return the settings of this process's test databases, as a child process needs them."""
    fields = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    return {
        alias: {
            field: str(value) if field == "NAME" else value
            for field, value in connections[alias].settings_dict.items()
            if field in fields
        }
        for alias in ("default", "other")
    }


def run_python(
    *args: str,
    settings_in: Path | None = None,
    stdin: str | bytes | None = None,
    text: bool = False,
    timeout: float = 120,
    **env_changes: str | None,
) -> subprocess.CompletedProcess[Any]:
    """Run ``python ARGS`` in a fresh interpreter from the repository root.

    It has this process's environment, with ``env_changes`` (None removes a
    variable); with ``settings_in``, the settings module write_child_settings()
    wrote in that directory. Output is bytes unless ``text``.
    """
    env = dict(os.environ)
    if settings_in is not None:
        env["DJANGO_SETTINGS_MODULE"] = CHILD_SETTINGS
        env["PYTHONPATH"] = os.pathsep.join([str(settings_in), str(REPO)])
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if isinstance(stdin, str) and not text:
        stdin = stdin.encode()
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=text,
        timeout=timeout,
        check=False,
    )


# Database sessions


def session_id(alias: str = "default") -> int:
    """Return the id of this process's database session on ``alias`` (0 on SQLite)."""
    vendor = connections[alias].vendor
    if vendor == "sqlite":
        return 0
    sql = "SELECT pg_backend_pid()" if vendor == "postgresql" else "SELECT CONNECTION_ID()"
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


def waiting_for_a_lock(session: int, *, watch: str = "other") -> bool:
    """Return whether ``session`` is in a transaction, waiting for a row lock.

    ``watch`` is another database on the same server, so that watching takes
    no lock where the session works.
    """
    with connections[watch].cursor() as cursor:
        if connections[watch].vendor == "postgresql":
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [session])
            expected = "Lock"
        else:
            cursor.execute(
                "SELECT trx_state FROM information_schema.innodb_trx "
                "WHERE trx_mysql_thread_id = %s",
                [session],
            )
            expected = "LOCK WAIT"
        row = cursor.fetchone()
    return row is not None and row[0] == expected


def wait_until(
    condition: Callable[[], bool], *, what: str = "the state to act in", timeout: float = 30
) -> None:
    """Wait until ``condition()`` is true: fail after ``timeout`` seconds."""
    # MariaDB refreshes information_schema.innodb_trx only when it was last read more
    # than 0.1 s ago: polling it faster would never see a change.
    poll = 0.12 if connections["default"].vendor == "mysql" else 0.002
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never reached {what} in {timeout} s"
        time.sleep(poll)
