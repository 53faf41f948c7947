"""Two real processes: when one sees what the other committed through its local cache."""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from django_keyval import KeyVal, localcache
from django_keyval.models import Entry

pytestmark = pytest.mark.django_db(transaction=True)

STORE = "flags"
# MAX_STALENESS of the tests that have one: long enough that the reader's first
# reads after the commit fall within it, on a loaded machine too.
T = 1.0

_context = multiprocessing.get_context("fork")

Reader = Callable[[KeyVal, Any, Any], Any]


def declare(settings: Any, **options: Any) -> None:
    settings.KEYVAL = {"STORES": {STORE: {"LOCAL_CACHE": options or True}}}


def _child(reader: Reader, inbox: Any, outbox: Any) -> None:
    connections.close_all()
    localcache.clear()  # Nothing inherited from the parent's copies.
    try:
        outcome = ("ok", reader(KeyVal(STORE), inbox, outbox))
    except BaseException:
        outcome = ("error", traceback.format_exc())
    finally:
        connections.close_all()
    outbox.put(outcome)


def with_reader(reader: Reader, writer: Callable[[Any, Any], None]) -> Any:
    """Run ``reader(kv, inbox, outbox)`` in a child process and ``writer(to_child,
    from_child)`` here; return what the reader returned."""
    connections.close_all()
    to_child, from_child = _context.Queue(), _context.Queue()
    process = _context.Process(target=_child, args=(reader, to_child, from_child))
    process.start()
    try:
        writer(to_child, from_child)
        status, result = from_child.get(timeout=60)
    finally:
        process.join(timeout=60)
    assert status == "ok", result
    assert process.exitcode == 0
    return result


def commit(write: Callable[[], Any]) -> float:
    """Run ``write()`` and return the time just after it committed."""
    write()
    assert not connection.in_atomic_block
    return time.time()


def test_another_process_sees_a_commit_on_its_first_read_more_than_t_later(settings):
    declare(settings, MAX_STALENESS=T)
    KeyVal(STORE).set("flag", "old")

    def reader(kv: KeyVal, inbox: Any, outbox: Any) -> list[tuple[float, str]]:
        assert kv.get("flag") == "old"  # Loaded: the next reads run no query within T.
        outbox.put("cached")
        committed_at = inbox.get(timeout=30)
        reads = []
        while time.time() < committed_at + 3 * T:
            started = time.time()
            reads.append((started - committed_at, kv.get("flag")))
            time.sleep(0.01)
        return reads

    def writer(to_child: Any, from_child: Any) -> None:
        assert from_child.get(timeout=30) == "cached"
        to_child.put(commit(lambda: KeyVal(STORE).set("flag", "new")))

    reads = with_reader(reader, writer)
    late = [value for after, value in reads if after > T]
    assert late and set(late) == {"new"}
    # Within T of its last validation the reader ran no query: it still served the copy.
    assert reads[0][1] == "old"


def test_with_t_zero_another_process_sees_a_commit_at_its_next_snapshot(settings):
    declare(settings)
    KeyVal(STORE).set("flag", "old")

    def reader(kv: KeyVal, inbox: Any, outbox: Any) -> list[str]:
        with KeyVal.snapshot():
            seen = [kv.get("flag")]
            outbox.put("in snapshot")
            inbox.get(timeout=30)
            seen.append(kv.get("flag"))  # Same snapshot: the same version.
        with KeyVal.snapshot():
            seen.append(kv.get("flag"))
        seen.append(kv.get("flag"))  # Outside a snapshot, every read validates.
        return seen

    def writer(to_child: Any, from_child: Any) -> None:
        assert from_child.get(timeout=30) == "in snapshot"
        to_child.put(commit(lambda: KeyVal(STORE).set("flag", "new")))

    assert with_reader(reader, writer) == ["old", "old", "new", "new"]


def test_a_rolled_back_write_is_never_seen_by_another_process(settings):
    declare(settings)
    KeyVal(STORE).set("flag", "old")

    def reader(kv: KeyVal, inbox: Any, outbox: Any) -> list[str]:
        seen = [kv.get("flag")]
        outbox.put("cached")
        inbox.get(timeout=30)
        with KeyVal.snapshot():
            seen.append(kv.get("flag"))
        return seen

    def writer(to_child: Any, from_child: Any) -> None:
        assert from_child.get(timeout=30) == "cached"
        with pytest.raises(RuntimeError), transaction.atomic():
            KeyVal(STORE).set("flag", "rolled back")
            raise RuntimeError
        to_child.put(time.time())

    assert with_reader(reader, writer) == ["old", "old"]


def out_of_band(value: str) -> None:
    """Overwrite the stored value with raw SQL (what a restore or loaddata does)."""
    source = KeyVal("elsewhere")
    source.set("flag", value)
    row = Entry.objects.get(store="elsewhere", key="flag")
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Entry._meta.db_table)
        cursor.execute(
            f"UPDATE {table} SET value = %s, mac = NULL, serializer = %s "
            "WHERE store = %s AND " + connection.ops.quote_name("key") + " = %s",
            [bytes(row.value), "json", STORE, "flag"],
        )


def test_an_out_of_band_write_is_seen_after_touch(settings):
    declare(settings)
    settings.KEYVAL = {**settings.KEYVAL, "SERIALIZER": "json", "SIGN_VALUES": False}
    KeyVal(STORE).set("flag", "old")

    def reader(kv: KeyVal, inbox: Any, outbox: Any) -> list[str]:
        with KeyVal.snapshot():
            seen = [kv.get("flag")]
        outbox.put("cached")
        inbox.get(timeout=30)
        with KeyVal.snapshot():
            seen.append(kv.get("flag"))  # The generation did not change.
        outbox.put("read")
        inbox.get(timeout=30)
        with KeyVal.snapshot():
            seen.append(kv.get("flag"))
        return seen

    def writer(to_child: Any, from_child: Any) -> None:
        assert from_child.get(timeout=30) == "cached"
        out_of_band("raw")
        to_child.put("written")
        assert from_child.get(timeout=30) == "read"
        localcache.touch_store(STORE)
        to_child.put("touched")

    assert with_reader(reader, writer) == ["old", "old", "raw"]


def test_an_out_of_band_write_is_seen_after_max_age(settings):
    declare(settings, MAX_AGE=T)
    settings.KEYVAL = {**settings.KEYVAL, "SERIALIZER": "json", "SIGN_VALUES": False}
    KeyVal(STORE).set("flag", "old")

    def reader(kv: KeyVal, inbox: Any, outbox: Any) -> list[str]:
        seen = [kv.get("flag")]
        outbox.put("cached")
        inbox.get(timeout=30)
        seen.append(kv.get("flag"))
        time.sleep(T + 0.05)
        seen.append(kv.get("flag"))
        return seen

    def writer(to_child: Any, from_child: Any) -> None:
        assert from_child.get(timeout=30) == "cached"
        out_of_band("raw")
        to_child.put("written")

    assert with_reader(reader, writer) == ["old", "old", "raw"]
