"""PostgreSQL behind PgBouncer in transaction mode: the store's statements pass through.

The store's cursors bind parameters on the server and read binary results.
With Django's default OPTIONS (no ``prepare_threshold``) psycopg sends each
statement unnamed, parsed, bound and run in one round trip, which a pooler in
transaction mode can hand to any server connection. Named prepared statements
cannot pass through one before PgBouncer 1.21: the test checks that too, so
that it is known to catch what it is meant to.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.processes import child_databases, run_python, write_child_settings

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="PgBouncer"),
]

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
THREADS = 8
ROUNDS = 100

# Run in a child process whose "default" database is reached through PgBouncer:
# THREADS threads, each with its own connection, share a pool of two server
# connections. Prints the rounds done and the errors met, as JSON.
WORKLOAD = f"""
import collections, json, threading
import django
django.setup()
from django.db import connections
from django_keyval import KeyVal

done, errors = collections.Counter(), collections.Counter()

def worker(me):
    kv = KeyVal(f"pooled-{{me % 3}}")
    try:
        for i in range({ROUNDS}):
            try:
                kv.set(f"k{{i % 20}}", {{"i": i, "blob": bytes(100)}})
                assert kv.get(f"k{{i % 20}}")["i"] >= 0
                kv.get_many([f"k{{j}}" for j in range(10)])
                kv.incr("counter")
                kv.delete_many(["absent", "gone"])
                list(kv.iter_keys())
                done[me] += 1
            except Exception as exc:
                errors[type(exc).__name__] += 1
    finally:
        connections.close_all()

threads = [threading.Thread(target=worker, args=(me,)) for me in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({{"done": sum(done.values()), "errors": errors}}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    """A PgBouncer in transaction mode with a pool of 2, in front of the test database."""
    if not os.path.exists(PGBOUNCER):
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed")
    server = connections["default"].settings_dict
    port = free_port()
    # Not under tmp_path, whose parents only root may enter when the tests run as root.
    scratch = tempfile.TemporaryDirectory(prefix="keyval-pgbouncer-")
    directory = Path(scratch.name)
    directory.chmod(0o777)
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={server['HOST'] or '127.0.0.1'} port={server['PORT'] or 5432} "
        f"user={server['USER']}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 2\n"
        f"logfile = {directory / 'pgbouncer.log'}\n"
    )
    # PgBouncer refuses to run as root.
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"pgbouncer did not start: {stderr}")
                time.sleep(0.05)
        yield port
    finally:
        # Its server connections must be gone before the test database is dropped.
        process.terminate()
        process.wait(timeout=10)
        scratch.cleanup()


def run_through(port: int, tmp_path: Path, options: dict[str, Any]) -> dict[str, Any]:
    databases = child_databases()
    databases["default"] = {**databases["default"], "PORT": str(port), "OPTIONS": options}
    write_child_settings(tmp_path, databases)
    result = run_python("-c", WORKLOAD, settings_in=tmp_path, text=True)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.splitlines()[-1]))


def test_every_round_passes_through_with_djangos_default_options(pgbouncer, tmp_path):
    assert run_through(pgbouncer, tmp_path, {}) == {"done": THREADS * ROUNDS, "errors": {}}


def test_named_prepared_statements_would_not(pgbouncer, tmp_path):
    outcome = run_through(pgbouncer, tmp_path, {"prepare_threshold": 0})
    assert outcome["done"] < THREADS * ROUNDS
    assert outcome["errors"]
