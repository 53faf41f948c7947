"""SQLite, one file, many processes: "database is locked" only past the busy timeout, and
then the write that failed was not done at all."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import OperationalError, connections

from django_keyval import KeyVal
from tests.processes import figures, line_up, run_in_processes

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

PROCESSES = 8
BATCHES = 60
BATCH = 200


@pytest.fixture(autouse=True)
def sqlite_only(db):
    if connections["default"].vendor != "sqlite":
        pytest.skip("SQLite's database-wide write lock")


def writer(timeout: float) -> Any:
    def work(me: int, barrier: Any) -> list[tuple[int, bool]]:
        # Django passes OPTIONS["timeout"] to sqlite3.connect(): the busy timeout.
        connections["default"].settings_dict["OPTIONS"]["timeout"] = timeout
        kv, rng, outcomes = KeyVal("locks"), random.Random(me), []
        line_up(barrier)
        for batch in range(BATCHES):
            keys = [f"{me}:{batch}:{i:03}" for i in range(BATCH)]
            try:
                if rng.random() < 0.5:
                    kv.set_many(dict.fromkeys(keys, batch))
                else:
                    kv.modify("shared", lambda n: n + 1, default=0)
                    kv.set_many(dict.fromkeys(keys, batch))
            except OperationalError as exc:
                assert "locked" in str(exc), exc
                outcomes.append((batch, False))
            else:
                outcomes.append((batch, True))
        return outcomes

    return work


def test_writers_within_the_busy_timeout_never_see_database_is_locked():
    results = run_in_processes([writer(timeout=5)] * PROCESSES)
    figures["operations (SQLite writers)"] += PROCESSES * BATCHES
    assert [ok for outcomes in results for _, ok in outcomes] == [True] * PROCESSES * BATCHES
    assert KeyVal("locks").count() == PROCESSES * BATCHES * BATCH + 1


def test_database_is_locked_past_the_busy_timeout_leaves_no_half_written_set_many():
    results = run_in_processes([writer(timeout=0.001)] * PROCESSES)

    kv = KeyVal("locks")
    failed = 0
    for me, outcomes in enumerate(results):
        for batch, ok in outcomes:
            stored = kv.count(f"{me}:{batch}:")
            assert stored == (BATCH if ok else 0)
            failed += not ok
    figures["operations (SQLite writers)"] += PROCESSES * BATCHES
    figures["SQLite writes refused past a 1 ms busy timeout, none half done"] += failed
