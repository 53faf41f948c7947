"""Readers never see half of a set_many() or of a delete_many(), while a writer runs them."""

from __future__ import annotations

import random
from typing import Any

import pytest

from django_keyval import KeyVal
from tests.processes import context, figures, line_up, run_in_processes

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

READERS = 7
VERSIONS = 300
BATCH = [f"batch:{i:03}" for i in range(100)]
STORE = "snapshots"


def test_get_many_sees_one_version_of_each_set_many():
    done = context.Event()

    def writer(me: int, barrier: Any) -> int:
        kv, rng = KeyVal(STORE), random.Random(me)
        line_up(barrier)
        try:
            for version in range(1, VERSIONS + 1):
                keys = list(BATCH)
                rng.shuffle(keys)  # The order given must not matter.
                kv.set_many(dict.fromkeys(keys, version))
                if version % 10 == 0:
                    kv.delete_many(keys)  # All gone at once, too.
        finally:
            done.set()
        return VERSIONS

    def reader(me: int, barrier: Any) -> list[tuple[int, int]]:
        kv, seen = KeyVal(STORE), list[tuple[int, int]]()
        line_up(barrier)
        while not seen or not done.is_set():
            found = kv.get_many(BATCH)
            versions = set(found.values())
            # Every key of the batch or none, all of one version.
            seen.append((len(found), len(versions)))
        return seen

    results = run_in_processes([writer] + [reader] * READERS)

    reads = [read for seen in results[1:] for read in seen]
    figures["operations (snapshots)"] += 2 * VERSIONS + len(reads)
    assert len(reads) >= READERS  # Each reader read at least once.
    assert {read for read in reads if read != (0, 0)} <= {(len(BATCH), 1)}


def test_get_many_versions_never_go_backwards():
    done = context.Event()

    def writer(me: int, barrier: Any) -> None:
        kv = KeyVal(STORE)
        line_up(barrier)
        try:
            for version in range(1, VERSIONS + 1):
                kv.set_many(dict.fromkeys(BATCH, version))
        finally:
            done.set()

    def reader(me: int, barrier: Any) -> list[int]:
        kv, seen = KeyVal(STORE), list[int]()
        line_up(barrier)
        while not seen or not done.is_set():
            seen.append(max(kv.get_many(BATCH).values(), default=0))
        return seen

    results = run_in_processes([writer] + [reader] * READERS)

    figures["operations (snapshots)"] += VERSIONS + sum(len(seen) for seen in results[1:])
    assert [seen == sorted(seen) for seen in results[1:]] == [True] * READERS
