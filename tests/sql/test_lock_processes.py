"""Locks and expiring counters across real OS processes.

Processes acquire one lock in turn and log when they held it; a holder is
killed with SIGKILL while holding; processes count into one rate-limit counter.
The full-size mutual exclusion run (8 processes x 200 acquisitions) is in
tests/stress/test_locks.py.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, NamedTuple

import pytest
from django.db import connections

from django_keyval import KeyVal
from django_keyval.locks import MAX_POLL
from tests.helpers import expire, stored_row
from tests.processes import context, figures, line_up, run_in_processes

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 8
STORE = "locks"
LOCK = "job"


class Hold(NamedTuple):
    """One acquisition: when the process held the lease (time.time()) and its fence."""

    start: float
    end: float
    fence: int
    process: int


def take_turns(acquisitions: int, *, asynchronous: bool = False) -> list[Hold]:
    """Have PROCESSES processes each acquire LOCK ``acquisitions`` times; return the holds
    in the order they started."""

    def worker(me: int, barrier: Any) -> list[Hold]:
        kv = KeyVal(STORE)
        holds = []
        line_up(barrier)
        for _ in range(acquisitions):
            if asynchronous:
                holds.append(_async_hold(kv, me))
                continue
            with kv.lock(LOCK, ttl=60, timeout=120) as lease:
                start = time.time()
                time.sleep(0.0005)
                holds.append(Hold(start, time.time(), lease.fence or 0, me))
        return holds

    per_process = run_in_processes([worker] * PROCESSES, timeout=600)
    return sorted((hold for holds in per_process for hold in holds), key=lambda h: h.start)


def _async_hold(kv: KeyVal, me: int) -> Hold:
    import asyncio

    async def hold() -> Hold:
        async with kv.alock(LOCK, ttl=60, timeout=120) as lease:
            start = time.time()
            await asyncio.sleep(0.0005)
            return Hold(start, time.time(), lease.fence or 0, me)

    return asyncio.run(hold())


def overlaps(holds: list[Hold]) -> int:
    """Return how many holds (in the order they started) began before an earlier one ended."""
    found, latest_end = 0, float("-inf")
    for hold in holds:
        found += hold.start < latest_end
        latest_end = max(latest_end, hold.end)
    return found


def check_turns(holds: list[Hold], acquisitions: int) -> None:
    total = PROCESSES * acquisitions
    assert len(holds) == total
    assert overlaps(holds) == 0
    # In the order they were held, the fences are 1, 2, 3, ...: strictly increasing,
    # none lost or given twice.
    assert [hold.fence for hold in holds] == list(range(1, total + 1))
    figures["lock acquisitions"] += total
    figures["lock overlaps"] += overlaps(holds)


def test_processes_taking_turns_never_hold_a_lock_together():
    check_turns(take_turns(25), 25)


def test_async_processes_taking_turns_never_hold_a_lock_together():
    check_turns(take_turns(10, asynchronous=True), 10)


# A holder killed while holding


def _hold_until_killed(ttl: float, ready: Any) -> None:
    connections.close_all()
    lease = KeyVal(STORE).lock(LOCK, ttl=ttl)
    before = time.time()
    lease.acquire()
    ready.put((before, time.time(), lease.fence))
    time.sleep(3600)


@pytest.mark.parametrize("ttl", [2.0])
def test_a_killed_holder_blocks_others_for_its_ttl_and_no_longer(ttl, capsys):
    connections.close_all()
    ready = context.Queue()
    holder = context.Process(target=_hold_until_killed, args=(ttl, ready))
    holder.start()
    try:
        before, acquired, fence = ready.get(timeout=60)
        os.kill(holder.pid, signal.SIGKILL)
        holder.join()
        assert holder.exitcode == -signal.SIGKILL
        with KeyVal(STORE).lock(LOCK, ttl=30, timeout=60) as lease:
            taken = time.time()
            assert lease.fence == fence + 1
    finally:
        if holder.is_alive():
            os.kill(holder.pid, signal.SIGKILL)
            holder.join()
    wait = taken - acquired
    with capsys.disabled():
        print(
            f"\n[{connections['default'].vendor}] killed holder's ttl {ttl} s: the next "
            f"process acquired {wait:.3f} s after the holder did"
        )
    figures["kill test: waited ms"] = round(wait * 1000)
    # The lease ran from a moment between ``before`` and ``acquired`` (the
    # server's clock, which is this machine's), for ttl seconds: not before...
    assert taken >= before + ttl
    # ... and not much after: one polling interval, and a loaded machine's delay.
    assert taken <= acquired + ttl + MAX_POLL + 1.0


# A rate-limit counter


def test_processes_counting_into_an_expiring_counter_keep_its_first_expiry():
    increments = 500

    def worker(me: int, barrier: Any) -> tuple[list[int], float | None]:
        kv = KeyVal(STORE)
        line_up(barrier)
        counts = [kv.incr("user:7:minute", ttl=600)]
        seen = stored_row(STORE, "user:7:minute").expires_at
        counts += [kv.incr("user:7:minute", ttl=600) for _ in range(increments - 1)]
        return counts, seen

    results = run_in_processes([worker] * PROCESSES, timeout=600)
    counts = sorted(count for process_counts, _ in results for count in process_counts)
    assert counts == list(range(1, PROCESSES * increments + 1))
    kv = KeyVal(STORE)
    assert kv.get("user:7:minute") == PROCESSES * increments
    expires_at = stored_row(STORE, "user:7:minute").expires_at
    # Every process, after its first increment, saw the expiry the final row has.
    assert {seen for _, seen in results} == {expires_at}
    # After the window expires, the next increment starts a new one at 1.
    expire(STORE, "user:7:minute")
    assert kv.incr("user:7:minute", ttl=60) == 1
    left = kv.ttl("user:7:minute")
    assert left is not None and 55 < left <= 60
