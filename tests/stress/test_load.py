"""Eight processes of mixed operations on shared keys, checked against a model of what each saw.

Every value a process writes is ``(key, process, sequence number)``, so a read
that returns a value no process wrote, or another key's value, is caught; and
every operation's answer is logged, so lost increments, pops answered twice and
two processes told the same key was new are caught too.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from django_keyval import KeyVal
from tests.processes import figures, line_up, run_in_processes

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

PROCESSES = 8
OPERATIONS = 1000
STORE = "load"

COUNTERS = [f"counter:{i}" for i in range(4)]
LISTS = [f"list:{i}" for i in range(4)]
ADDED = [f"add:{i}" for i in range(120)]
NEW = [f"new:{i}" for i in range(120)]
POPPED = [f"pop:{i}" for i in range(120)]
BULK = [f"bulk:{i}" for i in range(100)]
ALL_KEYS = COUNTERS + LISTS + ADDED + NEW + POPPED + BULK
OPERATION_NAMES = (
    "set", "get", "incr", "add", "pop", "modify", "set_many", "delete_many", "get_many",
)  # fmt: skip


class Log(NamedTuple):
    """What one process did and saw."""

    operations: Counter[str]
    written: list[tuple[str, Any]]  # (key, value) of every value it wrote
    read: list[tuple[str, Any]]  # (key, value) of every value it read
    increments: list[tuple[str, int, int]]  # (key, delta, returned)
    new_answers: list[tuple[str, bool]]  # (key, set() or add() returned) on NEW and ADDED
    popped: list[tuple[str, Any]]
    appended: list[tuple[str, tuple[int, int]]]  # (list key, token) acknowledged by modify()


def appending(item: Any) -> Callable[[list[Any]], list[Any]]:
    return lambda items: [*items, item]


def mixed_worker(me: int, barrier: Any) -> Log:
    kv = KeyVal(STORE)
    rng = random.Random(me)
    log = Log(Counter(), [], [], [], [], [], [])

    def value(key: str, seq: int) -> tuple[str, int, int]:
        return (key, me, seq)

    line_up(barrier)
    for seq in range(OPERATIONS):
        operation = rng.choice(OPERATION_NAMES)
        log.operations[operation] += 1
        if operation == "set":
            key = rng.choice(NEW + BULK)
            new = kv.set(key, value(key, seq))
            log.written.append((key, value(key, seq)))
            if key in NEW:
                log.new_answers.append((key, new))
        elif operation == "get":
            key = rng.choice(ALL_KEYS)
            found = kv.get(key, None)
            if found is not None:
                log.read.append((key, found))
        elif operation == "incr":
            key, delta = rng.choice(COUNTERS), rng.randint(1, 3)
            log.increments.append((key, delta, kv.incr(key, delta)))
        elif operation == "add":
            key = rng.choice(ADDED + POPPED)
            added = kv.add(key, value(key, seq))
            if added:
                log.written.append((key, value(key, seq)))
            if key in ADDED:
                log.new_answers.append((key, added))
        elif operation == "pop":
            key = rng.choice(POPPED)
            found = kv.pop(key, None)
            if found is not None:
                log.popped.append((key, found))
        elif operation == "modify":
            key, token = rng.choice(LISTS), (me, seq)
            kv.modify(key, appending(token), default=[])
            log.appended.append((key, token))
        elif operation == "set_many":
            keys = rng.sample(BULK, rng.randint(2, 20))
            kv.set_many({key: value(key, seq) for key in keys})
            log.written.extend((key, value(key, seq)) for key in keys)
        elif operation == "delete_many":
            kv.delete_many(rng.sample(BULK, rng.randint(2, 20)))
        else:
            keys = rng.sample(ALL_KEYS, rng.randint(2, 40))
            log.read.extend(kv.get_many(keys).items())
    return log


@pytest.fixture(scope="module")
def mixed_run(django_db_blocker: Any, django_db_setup: Any) -> tuple[list[Log], dict[str, Any]]:
    """Run the mixed workload once; return each process's log and, at the end, the store."""
    with django_db_blocker.unblock():
        kv = KeyVal(STORE)
        kv.flush()
        seeds = {key: (key, -1, 0) for key in POPPED}
        kv.set_many(seeds)
        logs = run_in_processes([mixed_worker] * PROCESSES)
        final = kv.get_many(ALL_KEYS)
        # Pop what is left, so that every value stored under POPPED is popped once in all.
        swept = [(key, kv.pop(key)) for key in POPPED if key in final]
        kv.flush()
    figures["operations (mixed load)"] += sum(sum(log.operations.values()) for log in logs)
    return logs, {"final": final, "seeds": seeds, "swept": swept}


def test_every_operation_was_run(mixed_run):
    logs, _ = mixed_run
    totals: Counter[str] = sum((log.operations for log in logs), Counter())
    assert set(totals) == set(OPERATION_NAMES)
    assert sum(totals.values()) == PROCESSES * OPERATIONS


def test_every_counter_equals_the_sum_of_its_increments(mixed_run):
    logs, state = mixed_run
    expected: Counter[str] = Counter()
    for log in logs:
        for key, delta, _ in log.increments:
            expected[key] += delta
    assert {key: state["final"].get(key) for key in expected} == dict(expected)


def test_every_increment_returned_a_distinct_value(mixed_run):
    logs, state = mixed_run
    returned = defaultdict(list)
    for log in logs:
        for key, _, value in log.increments:
            returned[key].append(value)
    assert {key: len(set(values)) for key, values in returned.items()} == {
        key: len(values) for key, values in returned.items()
    }
    assert {key: max(values) for key, values in returned.items()} == {
        key: state["final"][key] for key in returned
    }


def test_a_new_key_is_reported_new_exactly_once(mixed_run):
    logs, _ = mixed_run
    answers = defaultdict(list)
    for log in logs:
        for key, new in log.new_answers:
            answers[key].append(new)
    assert answers  # The run did try to create keys.
    assert {key: values.count(True) for key, values in answers.items()} == dict.fromkeys(answers, 1)


def test_an_added_key_keeps_the_value_of_the_add_that_succeeded(mixed_run):
    logs, state = mixed_run
    winners = {}
    for log in logs:
        for key, value in log.written:
            if key in ADDED:
                winners[key] = value
    assert {key: state["final"].get(key) for key in winners} == winners


def test_every_stored_value_is_popped_exactly_once(mixed_run):
    logs, state = mixed_run
    stored = Counter(state["seeds"].items())
    stored.update((key, value) for log in logs for key, value in log.written if key in POPPED)
    popped = Counter(state["swept"])
    popped.update(item for log in logs for item in log.popped)
    assert sum(log.popped != [] for log in logs) > 1  # Processes did pop values.
    assert popped == stored


def test_every_modification_is_applied_once_in_order(mixed_run):
    logs, state = mixed_run
    for key in LISTS:
        acknowledged = [token for log in logs for k, token in log.appended if k == key]
        stored = state["final"].get(key, [])
        assert sorted(stored) == sorted(acknowledged)
        for me in range(PROCESSES):
            mine = [seq for who, seq in stored if who == me]
            assert mine == sorted(mine)


def test_no_read_returns_a_value_that_no_process_wrote_for_that_key(mixed_run):
    logs, state = mixed_run
    written = {(key, value) for key, value in state["seeds"].items()}
    written.update(item for log in logs for item in log.written)
    written.update((key, value) for log in logs for key, _, value in log.increments)
    reads = [item for log in logs for item in log.read]
    popped = [item for log in logs for item in log.popped]
    unexplained = [
        (key, value)
        for key, value in reads + popped
        if key not in LISTS and (key, value) not in written
    ]
    assert len(reads) > PROCESSES * OPERATIONS // 10
    assert unexplained == []


def test_list_reads_are_states_the_list_went_through(mixed_run):
    logs, state = mixed_run
    for log in logs:
        for key, value in log.read:
            if key in LISTS:
                # Appends only: every state read is a prefix of the final list.
                assert value == state["final"][key][: len(value)]
