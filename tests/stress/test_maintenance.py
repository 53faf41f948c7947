"""purge_expired(), flush() and delete_prefix() beside writers: no error reaches a caller,
and no live value is lost."""

from __future__ import annotations

import functools
import random
import time
from collections import Counter
from typing import Any

import pytest

from django_keyval import KeyVal
from tests.processes import context, figures, line_up, run_in_processes

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

WRITERS = 5
OPERATIONS = 600
CHURN = [f"k{i:03}" for i in range(300)]  # flushed, purged and deleted by prefix meanwhile
COUNTERS = [f"counter:{i}" for i in range(3)]
SHORT = 0.02  # seconds: short-lived entries give the purge work


def writer(me: int, barrier: Any, finished: Any) -> dict[str, Any]:
    churn, counted, kept = KeyVal("churn"), KeyVal("counted"), KeyVal("kept")
    revived = KeyVal("revived")
    rng = random.Random(me)
    increments: Counter[str] = Counter()
    kept_keys: list[str] = []
    revived_keys: list[str] = []
    line_up(barrier)
    try:
        for seq in range(OPERATIONS):
            choice = rng.randrange(7)
            keys = sorted(rng.sample(CHURN, rng.randint(5, 40)))
            ttl = rng.choice([None, SHORT])
            if choice == 0:
                churn.set_many(dict.fromkeys(keys, (me, seq)), ttl=ttl)
            elif choice == 1:
                churn.set(keys[0], (me, seq), ttl=ttl)
            elif choice == 2:
                churn.delete_many(keys)
            elif choice == 3:
                churn.pop(keys[0], None)
                churn.add(keys[-1], (me, seq), ttl=ttl)
            elif choice == 4:
                key, delta = rng.choice(COUNTERS), rng.randint(1, 5)
                counted.incr(key, delta)
                increments[key] += delta
            elif choice == 5:
                # Never expires: no purge, flush or delete_prefix of another store may touch it.
                new = [f"{me}:{seq}:{i}" for i in range(5)]
                kept.set_many(dict.fromkeys(new, seq))
                kept_keys.extend(new)
            else:
                # Expired a moment ago, then written again for good: the purge must not
                # delete the revived row.
                key = f"{me}:{seq}"
                revived.set(key, "short", ttl=0.001)
                time.sleep(0.002)
                revived.set(key, "kept", ttl=None)
                revived_keys.append(key)
    finally:
        with finished.get_lock():
            finished.value += 1
    return {"increments": increments, "kept": kept_keys, "revived": revived_keys}


def maintainer(role: str) -> Any:
    def work(me: int, barrier: Any, finished: Any) -> dict[str, Any]:
        churn, rng, calls, purged = KeyVal("churn"), random.Random(me), 0, 0
        line_up(barrier)
        while not calls or finished.value < WRITERS:
            if role == "purge":
                purged += KeyVal.purge_expired(batch_size=rng.randint(5, 50))
            elif role == "flush":
                churn.flush()
            else:
                churn.delete_prefix(f"k{rng.randrange(3)}")
            calls += 1
            time.sleep(0.002)
        return {"calls": calls, "purged": purged}

    return work


def test_maintenance_beside_writers_raises_nothing_and_loses_no_live_value():
    finished = context.Value("i", 0)
    roles = [writer] * WRITERS + [maintainer(role) for role in ("purge", "flush", "prefix")]

    results = run_in_processes([functools.partial(work, finished=finished) for work in roles])

    increments: Counter[str] = sum(
        (result["increments"] for result in results[:WRITERS]), Counter()
    )
    maintenance = results[WRITERS:]
    figures["operations (maintenance)"] += WRITERS * OPERATIONS + sum(
        result["calls"] for result in maintenance
    )
    assert [result["calls"] > 0 for result in maintenance] == [True] * 3
    assert KeyVal("counted").get_many(COUNTERS) == dict(increments)
    kept = sorted(key for result in results[:WRITERS] for key in result["kept"])
    assert KeyVal("kept").keys() == kept
    revived = [key for result in results[:WRITERS] for key in result["revived"]]
    assert KeyVal("revived").get_many(revived) == dict.fromkeys(revived, "kept")
