"""Real OS processes racing on the same keys: every operation that reads to write stays atomic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from django_keyval import KeyVal
from tests.helpers import write_expired
from tests.processes import line_up, run_in_processes

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 8
INCREMENTS = 500
APPENDS = 100
# Keys raced on one after another by the tests of set, add, pop, delete and get_or_set.
ROUNDS = 50
STORE = "race"
MISSING = "<missing>"

Worker = Callable[[KeyVal, int, Any], Any]


def run_racing(worker: Worker) -> list[Any]:
    """Run ``worker(kv, me, barrier)`` in PROCESSES processes; return their results by ``me``."""

    def on_the_store(me: int, barrier: Any) -> Any:
        return worker(KeyVal(STORE), me, barrier)

    return run_in_processes([on_the_store] * PROCESSES, timeout=300)


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

    per_process = run_racing(worker)
    return [[results[i] for results in per_process] for i in range(ROUNDS)]


def race_keys() -> list[str]:
    return [f"key-{i}" for i in range(ROUNDS)]


# incr and modify


def test_concurrent_incr_counts_each_increment_exactly_once():
    def worker(kv: KeyVal, me: int, barrier: Any) -> list[int]:
        line_up(barrier)
        return [kv.incr("counter") for _ in range(INCREMENTS)]

    returned = [value for values in run_racing(worker) for value in values]

    # Each new value went to exactly one caller, and the last one is what is stored.
    assert sorted(returned) == list(range(1, PROCESSES * INCREMENTS + 1))
    assert KeyVal(STORE).get("counter") == PROCESSES * INCREMENTS


def test_concurrent_incr_of_an_expired_key_starts_from_zero_once():
    write_expired(STORE, ["counter"])

    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        line_up(barrier)
        for _ in range(APPENDS):
            kv.incr("counter")

    run_racing(worker)

    assert KeyVal(STORE).get("counter") == PROCESSES * APPENDS


def test_concurrent_modify_applies_every_change():
    KeyVal(STORE).set("list", [])

    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        line_up(barrier)
        for _ in range(APPENDS):
            kv.modify("list", lambda items: [*items, me])

    run_racing(worker)

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

    run_racing(worker)

    assert KeyVal(STORE).count() == 10 * ROUNDS


def test_concurrent_set_many_of_the_same_keys_in_different_orders_all_succeed():
    def worker(kv: KeyVal, me: int, barrier: Any) -> None:
        ordered = race_keys()[::-1] if me % 2 else race_keys()
        for _ in range(10):
            line_up(barrier)
            kv.set_many(dict.fromkeys(ordered, me))

    run_racing(worker)

    assert KeyVal(STORE).count() == ROUNDS
