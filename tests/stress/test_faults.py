"""A connection (or process) killed in the middle of set_many, import, incr or modify leaves
the store wholly before or wholly after the operation, and the next call works."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import Error, transaction

from django_keyval import KeyVal
from django_keyval.models import Entry
from tests.processes import context, figures, session_id, wait_until, waiting_for_a_lock
from tests.stress.faults import (
    VENDOR,
    Victim,
    after_a_lost_connection,
    kill_session,
    writing,
)

pytestmark = [
    pytest.mark.stress,
    pytest.mark.django_db(transaction=True, databases=["default", "other"]),
]

KILLS = ["process"] if VENDOR == "sqlite" else ["connection", "process"]
ENTRIES = 30_000  # many statements: on SQLite, the time to see the write lock taken
LAST_KEY = f"k{ENTRIES - 1:05}"
BEFORE = {f"k{i:05}": "old" for i in [*range(0, ENTRIES, 100), ENTRIES - 1]}
KILLS_IN_A_LOOP = 8


def appending(item: Any) -> Callable[[list[Any]], list[Any]]:
    return lambda items: [*items, item]


def kill(victim: Victim, how: str, session: int) -> None:
    if how == "connection":
        kill_session(session)
    else:
        victim.kill_process()


def outcome_after(victim: Victim, how: str) -> Any:
    """Return what the victim reports after the kill (nothing when it was killed itself)."""
    return victim.outcome() if how == "connection" else None


def kill_in_the_middle(victim: Victim, how: str, store: str) -> None:
    """Let ``victim`` write ``store`` up to LAST_KEY, then kill it in its transaction.

    PostgreSQL and MariaDB: this test holds LAST_KEY's row, so the victim, which
    writes in key order, waits for it after writing every other key; it is
    killed while it waits. SQLite: it is killed as soon as it holds the write lock.
    """
    session = victim.session()
    if VENDOR == "sqlite":
        victim.go()
        wait_until(lambda: writing(session))
        kill(victim, how, session)
        return
    with transaction.atomic():
        Entry.objects.select_for_update().get(store=store, key=LAST_KEY)
        victim.go()
        wait_until(lambda: waiting_for_a_lock(session))
        kill(victim, how, session)


def killed_then_next_call(operation: Callable[[], Any], next_call: Callable[[], Any]) -> Any:
    """Run ``operation``; return its error, and what the next call returned."""
    try:
        operation()
    except (Error, CommandError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        return "finished before the kill"
    after_a_lost_connection()
    return error, next_call()


# set_many


@pytest.mark.parametrize("how", KILLS)
def test_set_many_killed_in_the_middle_leaves_all_or_nothing(how):
    kv = KeyVal("bulk")
    kv.set_many(BEFORE)
    after = {f"k{i:05}": f"new {i}" for i in range(ENTRIES)}

    victim = Victim(
        lambda: killed_then_next_call(lambda: kv.set_many(after), lambda: kv.set("next", 1)),
        wait=True,
    )
    kill_in_the_middle(victim, how, "bulk")
    reported = outcome_after(victim, how)

    stored = kv.get_many(after)
    assert stored in (BEFORE, after)
    if how == "connection":
        assert reported[1] is True  # The next call, on a new connection, stored a new key.
        assert kv.get("next") == 1


# import


@pytest.fixture
def export_file(tmp_path):
    path = tmp_path / "dump.jsonl"
    lines = [json.dumps({"format": "django-keyval", "version": 1})]
    lines += [
        json.dumps({"store": "imported", "key": f"k{i:05}", "type": "json", "value": [i, "new"]})
        for i in range(ENTRIES)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("how", KILLS)
def test_import_killed_in_the_middle_leaves_all_or_nothing(how, export_file):
    kv = KeyVal("imported")
    kv.set_many(BEFORE)
    after = {f"k{i:05}": [i, "new"] for i in range(ENTRIES)}

    def import_file() -> None:
        call_command("keyval", "import", str(export_file), verbosity=0)

    victim = Victim(lambda: killed_then_next_call(import_file, kv.count), wait=True)
    kill_in_the_middle(victim, how, "imported")
    reported = outcome_after(victim, how)

    assert kv.get_many(after) in (BEFORE, after)
    if how == "connection":
        assert "nothing was imported" in reported[0]
        assert reported[1] == len(BEFORE)  # The next call sees the store as it was.


# incr and modify


@pytest.mark.skipif(VENDOR == "sqlite", reason="SQLite has no row locks to wait for")
def test_incr_killed_while_waiting_for_the_row_lock_changes_nothing():
    kv = KeyVal("counters")
    kv.set("n", 10)
    victim = Victim(
        lambda: killed_then_next_call(lambda: kv.incr("n"), lambda: kv.incr("m")), wait=True
    )
    session = victim.session()
    with transaction.atomic():
        # Hold the row, so that the victim's incr() waits inside its transaction.
        Entry.objects.select_for_update().get(store="counters", key="n")
        victim.go()
        wait_until(lambda: waiting_for_a_lock(session))
        kill_session(session)
    reported = victim.outcome()

    assert kv.get("n") == 10
    assert reported[1] == 1  # The next incr(), on a new connection, counted from 0.


@pytest.mark.parametrize("how", KILLS)
def test_modify_killed_between_its_read_and_its_write_changes_nothing(how):
    kv = KeyVal("counters")
    kv.set("n", 10)
    read = context.Event()

    def slow_increment(value: int) -> int:
        read.set()
        time.sleep(2)  # Killed meanwhile, with the row locked and read.
        return value + 1

    victim = Victim(
        lambda: killed_then_next_call(lambda: kv.modify("n", slow_increment), lambda: kv.incr("m"))
    )
    session = victim.session()
    assert read.wait(timeout=30)
    if VENDOR == "sqlite":
        wait_until(lambda: writing(session))  # The write lock is taken before the read.
    kill(victim, how, session)
    reported = outcome_after(victim, how)

    assert kv.get("n") == 10
    if how == "connection":
        assert reported[1] == 1


@pytest.mark.parametrize("how", KILLS)
def test_kills_at_random_moments_of_incr_and_modify_lose_nothing_acknowledged(how):
    kv = KeyVal("counters")
    # Shared with the victims, which run one at a time: each attempt's token, the
    # tokens whose incr() and modify() both returned, the victim's session, and
    # when to stop. None has a lock: a victim killed while holding one (an
    # Event's, say) would leave the parent waiting for it forever.
    attempts = context.Value("q", 0, lock=False)
    acknowledged = context.Array("b", 100_000, lock=False)
    session = context.Value("q", 0, lock=False)
    stop = context.Value("b", 0, lock=False)

    def loop() -> None:
        session.value = session_id()
        while not stop.value:
            token = attempts.value
            attempts.value += 1
            try:
                kv.incr("n")
                kv.modify("tokens", appending(token), default=[])
            except Error:
                after_a_lost_connection()
                session.value = session_id()
                continue
            acknowledged[token] = 1

    rng = random.Random(0)
    victim = None
    for _ in range(KILLS_IN_A_LOOP):
        if victim is None or how == "process":
            victim = Victim(loop)
            victim.session()
        time.sleep(rng.uniform(0.02, 0.1))
        kill(victim, how, session.value)
    stop.value = 1
    if how == "connection":
        assert victim is not None
        victim.outcome()

    counted, tokens = kv.get("n", 0), kv.get("tokens", [])
    done = [token for token in range(attempts.value) if acknowledged[token]]
    figures["operations (under random kills)"] += 2 * attempts.value
    assert len(done) > KILLS_IN_A_LOOP
    # Each operation happened once or not at all, and an acknowledged one happened:
    # only an operation cut short by a kill may have happened unacknowledged.
    assert len(tokens) == len(set(tokens))
    assert set(done) <= set(tokens) <= set(range(attempts.value))
    assert len(tokens) - len(done) <= KILLS_IN_A_LOOP
    assert len(done) <= counted <= len(done) + KILLS_IN_A_LOOP
