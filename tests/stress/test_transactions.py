"""The caller's transactions under concurrency: rolled back, they leave no trace; a KeyVal
call failing inside one leaves it usable; a deadlock inside one reaches the caller."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from django.db import DatabaseError, connections, transaction

from django_keyval import KeyVal
from django_keyval.exceptions import SerializationError
from django_keyval.retry import is_conflict
from tests.processes import figures, line_up, run_in_processes

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

PROCESSES = 8
TRANSACTIONS = 150
COUNTERS = [f"counter:{i}" for i in range(2)]
SHARED = [f"shared:{i}" for i in range(40)]
OWN_KEYS = [f"own:{i}" for i in range(10)]


class Rollback(Exception):
    pass


def immediate_transactions() -> None:
    """On SQLite, begin transactions with the write lock, as README.rst recommends."""
    connection = connections["default"]
    if connection.vendor == "sqlite":
        connection.settings_dict["OPTIONS"]["transaction_mode"] = "IMMEDIATE"


def transactions_worker(me: int, barrier: Any) -> dict[str, Any]:
    immediate_transactions()
    kv, own, rng = KeyVal("tx"), KeyVal(f"own:{me}"), random.Random(me)
    committed: Counter[str] = Counter()
    outcome: dict[str, Any] = {"committed": committed, "markers": [], "read": [], "own": {}}
    outcome.update({"rolled back": 0, "deadlocks": 0})
    line_up(barrier)
    for seq in range(TRANSACTIONS):
        commit = rng.random() < 0.5
        marker = f"tx:{me}:{seq}"
        increments = {rng.choice(COUNTERS): rng.randint(1, 5)}
        own_values = dict.fromkeys(rng.sample(OWN_KEYS, 3), marker)
        flush = seq % 4 == 0
        try:
            with transaction.atomic():
                # Calls that fail, each leaving the transaction usable.
                with pytest.raises(KeyError):
                    kv.get(f"missing:{me}")
                with pytest.raises(KeyError):
                    kv.modify(f"missing:{me}", lambda old: old)
                with pytest.raises(SerializationError):
                    kv.set(marker, lambda: None)
                # A lost insert race is an answer, not an error.
                kv.add(rng.choice(SHARED), marker)
                kv.get_or_set(rng.choice(SHARED), marker)
                kv.set(marker, marker)
                if flush:
                    own.flush()  # On MariaDB, the likeliest to deadlock (gap locks).
                own.set_many(own_values)
                own.delete(OWN_KEYS[0], ignore_keyerror=True)
                for key, delta in increments.items():
                    kv.incr(key, delta)
                if not commit:
                    raise Rollback
        except Rollback:
            outcome["rolled back"] += 1
            continue
        except DatabaseError as exc:
            # Inside the caller's transaction a deadlock is not retried: it reaches the
            # caller, whose whole transaction the database rolled back.
            assert is_conflict(exc), exc
            outcome["deadlocks"] += 1
            continue
        committed.update(increments)
        outcome["markers"].append(marker)
        if flush:
            outcome["own"] = {}
        outcome["own"].update(own_values)
        outcome["own"].pop(OWN_KEYS[0], None)
        # Outside any transaction: what others committed, never what they rolled back.
        other = rng.randrange(PROCESSES)
        outcome["read"].extend(kv.get_many(f"tx:{other}:{s}" for s in range(seq)).values())
    return outcome


def test_rolled_back_transactions_leave_no_trace_and_committed_ones_all_of_theirs():
    results = run_in_processes([transactions_worker] * PROCESSES, timeout=170)

    kv = KeyVal("tx")
    markers = {marker for result in results for marker in result["markers"]}
    rolled_back = sum(result["rolled back"] + result["deadlocks"] for result in results)
    figures["caller transactions committed"] += len(markers)
    figures["caller transactions rolled back"] += rolled_back
    figures["caller transactions rolled back by a deadlock"] += sum(
        result["deadlocks"] for result in results
    )
    assert markers and rolled_back
    # Committed: every marker, every increment. Rolled back: nothing.
    every_marker = [f"tx:{me}:{seq}" for me in range(PROCESSES) for seq in range(TRANSACTIONS)]
    assert kv.get_many(every_marker) == {marker: marker for marker in markers}
    assert kv.get_many(COUNTERS) == dict(sum((r["committed"] for r in results), Counter()))
    assert set(kv.get_many(SHARED).values()) <= markers
    assert {value for result in results for value in result["read"]} <= markers
    # Each process's own store holds what its last committed transaction left there.
    assert [KeyVal(f"own:{me}").get_many(OWN_KEYS) for me in range(PROCESSES)] == [
        result["own"] for result in results
    ]
