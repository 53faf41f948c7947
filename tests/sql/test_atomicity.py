"""Real OS processes racing on the same keys: every operation that reads to write stays atomic."""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from django_keyval import KeyVal
from tests.helpers import write_expired

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 8
INCREMENTS = 500
APPENDS = 100
# Keys raced on one after another by the tests of set, add, pop, delete and get_or_set.
ROUNDS = 50
STORE = "race"
MISSING = "<missing>"

# Fork, so that each child inherits the configured Django (and the test
# databases' names) and a worker can be a closure. The parent closes its
# connections first, so no process shares a socket or file handle.
_context = multiprocessing.get_context("fork")

Worker = Callable[[KeyVal, int, Any], Any]


def _child(worker: Worker, me: int, barrier: Any, results: Any) -> None:
    connections.close_all()
    try:
        outcome = ("ok", me, worker(KeyVal(STORE), me, barrier))
    except BaseException:
        outcome = ("error", me, traceback.format_exc())
        barrier.abort()  # Release the others now rather than at the barrier's timeout.
    finally:
        connections.close_all()
    results.put(outcome)


def run_in_processes(worker: Worker) -> list[Any]:
    """Run ``worker(kv, me, barrier)`` in PROCESSES processes; return their results by ``me``."""
    connections.close_all()
    barrier = _context.Barrier(PROCESSES)
    results = _context.Queue()
    processes = [
        _context.Process(target=_child, args=(worker, me, barrier, results))
        for me in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    errors = [text for status, _, text in outcomes if status == "error"]
    # A process that failed breaks the barrier for the others: show its own error.
    errors.sort(key=lambda text: "BrokenBarrierError" in text)
    assert not errors, errors[0]
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    return [value for _, _, value in sorted(outcomes, key=lambda outcome: outcome[1])]


def line_up(barrier: Any) -> None:
    barrier.wait(timeout=60)


def race_on_each_key(call: Callable[[KeyVal, str, int], Any]) -> list[list[Any]]:
    """Have all processes run ``call(kv, key, me)`` at once, on each of ROUNDS keys in turn.

    Return, for each key, what each process got (``KeyError`` where it raised that).
    """

    def worker(kv: KeyVal, me: int, barrier: Any) -> list[Any]:
        results = []
        for key in race_keys():
            line_up(barrier)
            try:
                results.append(call(kv, key, me))
            except KeyError:
                results.append(KeyError)
        return results

    per_process = run_in_processes(worker)
    return [[results[i] for results in per_process] for i in range(ROUNDS)]


def race_keys() -> list[str]:
    return [f"key-{i}" for i in range(ROUNDS)]


# incr and modify


def test_concurrent_incr_counts_each_increment_exactly_once():
    def worker(kv: KeyVal, me: int, barrier: Any) -> list[int]:
        line_up(barrier)
        return [kv.incr("counter") for _ in range(INCREMENTS)]

    returned = [value for values in run_in_processes(worker) for value in values]

    # Each new value went to exactly one caller, and the last one is what is stored.
    assert sorted(returned) == list(range(1, PROCESSES * INCREMENTS + 1))
    assert KeyVal(STORE).get("counter") == PROCESSES * INCREMENTS


def test_concurrent_incr_of_an_expired_key_starts_from_zero_once():
    write_expired(STORE, ["counter"])

    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        line_up(barrier)
        for _ in range(APPENDS):
            kv.incr("counter")

    run_in_processes(worker)

    assert KeyVal(STORE).get("counter") == PROCESSES * APPENDS


def test_concurrent_modify_applies_every_change():
    KeyVal(STORE).set("list", [])

    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        line_up(barrier)
        for _ in range(APPENDS):
            kv.modify("list", lambda items: [*items, me])

    run_in_processes(worker)

    final = KeyVal(STORE).get("list")
    assert len(final) == PROCESSES * APPENDS
    assert Counter(final) == dict.fromkeys(range(PROCESSES), APPENDS)


def test_concurrent_modify_of_a_new_key_starts_from_the_default_once():
    race_on_each_key(lambda kv, key, me: kv.modify(key, lambda items: [*items, me], default=[]))
    stored = KeyVal(STORE).get_many(race_keys())
    assert [sorted(stored[key]) for key in race_keys()] == [list(range(PROCESSES))] * ROUNDS


# set, add, get_or_set


def test_concurrent_set_of_a_new_key_returns_true_to_exactly_one_process():
    answers = race_on_each_key(lambda kv, key, me: kv.set(key, me))
    assert [per_key.count(True) for per_key in answers] == [1] * ROUNDS


def test_concurrent_set_of_an_expired_key_returns_true_to_exactly_one_process():
    write_expired(STORE, race_keys())
    answers = race_on_each_key(lambda kv, key, me: kv.set(key, me))
    assert [per_key.count(True) for per_key in answers] == [1] * ROUNDS


def test_concurrent_add_of_a_new_key_succeeds_for_exactly_one_process():
    answers = race_on_each_key(lambda kv, key, me: kv.add(key, me))
    assert [per_key.count(True) for per_key in answers] == [1] * ROUNDS


def test_concurrent_add_of_an_expired_key_succeeds_for_exactly_one_process():
    write_expired(STORE, race_keys())
    answers = race_on_each_key(lambda kv, key, me: kv.add(key, me))
    assert [per_key.count(True) for per_key in answers] == [1] * ROUNDS


def test_concurrent_add_keeps_the_winners_value():
    answers = race_on_each_key(lambda kv, key, me: kv.add(key, me))
    stored = KeyVal(STORE).get_many(race_keys())
    assert [stored[key] for key in race_keys()] == [per_key.index(True) for per_key in answers]


def test_concurrent_get_or_set_returns_the_same_value_to_every_process():
    values = race_on_each_key(lambda kv, key, me: kv.get_or_set(key, f"default-{me}"))
    assert [len(set(per_key)) for per_key in values] == [1] * ROUNDS


def test_concurrent_get_or_set_returns_the_stored_value():
    values = race_on_each_key(lambda kv, key, me: kv.get_or_set(key, f"default-{me}"))
    stored = KeyVal(STORE).get_many(race_keys())
    assert [stored[key] for key in race_keys()] == [per_key[0] for per_key in values]


def test_concurrent_get_or_set_of_an_expired_key_returns_the_same_value_to_every_process():
    write_expired(STORE, race_keys())
    values = race_on_each_key(lambda kv, key, me: kv.get_or_set(key, f"default-{me}"))
    assert [len(set(per_key)) for per_key in values] == [1] * ROUNDS


# pop and delete


def _pop(kv: KeyVal, key: str, me: int) -> Any:
    # Half the processes pass a default; the others get KeyError.
    return kv.pop(key, MISSING) if me % 2 else kv.pop(key)


def test_concurrent_pop_gives_the_value_to_exactly_one_process():
    KeyVal(STORE).set_many({key: f"value of {key}" for key in race_keys()})
    popped = race_on_each_key(_pop)
    winners = [
        [value for value in per_key if value not in (MISSING, KeyError)] for per_key in popped
    ]
    assert winners == [[f"value of {key}"] for key in race_keys()]


def test_concurrent_pop_deletes_the_key():
    kv = KeyVal(STORE)
    kv.set_many(dict.fromkeys(race_keys(), "value"))
    race_on_each_key(_pop)
    assert kv.count() == 0


def test_concurrent_delete_of_a_key_returns_true_to_exactly_one_process():
    KeyVal(STORE).set_many(dict.fromkeys(race_keys(), "value"))
    answers = race_on_each_key(lambda kv, key, me: kv.delete(key, ignore_keyerror=True))
    assert [per_key.count(True) for per_key in answers] == [1] * ROUNDS


# set_many


def test_concurrent_set_many_of_the_same_new_keys_all_succeed():
    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        for round_ in range(10):
            line_up(barrier)
            kv.set_many({f"key-{round_}-{i}": me for i in range(ROUNDS)})

    run_in_processes(worker)

    assert KeyVal(STORE).count() == 10 * ROUNDS


def test_concurrent_set_many_of_the_same_keys_in_different_orders_all_succeed():
    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        ordered = race_keys()[::-1] if me % 2 else race_keys()
        for _ in range(10):
            line_up(barrier)
            kv.set_many(dict.fromkeys(ordered, me))

    run_in_processes(worker)

    assert KeyVal(STORE).count() == ROUNDS
