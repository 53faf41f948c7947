"""Iteration over a store: code-point order, prefixes, paging, concurrent changes, flat memory."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_keyval import KeyVal
from django_keyval.sql.base import ITEMS_PAGE, KEYS_PAGE
from tests.helpers import write_expired

# Tests on ``kv`` run through the sync methods, then through their async twins
# (aiter_keys and aitems for iter_keys and items, read to their end at once).
pytestmark = pytest.mark.twins

# Keys whose order differs between code point, byte, case-insensitive and
# locale-aware comparisons, and that LIKE would treat as patterns.
TRICKY_KEYS = [
    "", " ", "\t", "\n", "\x01", "\x7f", "\x80", "!", "%", "_", "\\", "~",
    "0", "9", "A", "Z", "a", "z", "a ", "a%", "a%b", "a_", "a_b", "a\\", "a\\b", "aB", "ab",
    "Key", "key", "key ", "ke", "ké", "ke\u0301", "é", "e\u0301", "ß", "ss", "ÿ", "Ā",
    "i", "ı", "İ", "fi", "\ufb01", "Å", "\u212b", "\u07ff", "\u0800", "日本", "中文",
    "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff",
    "a\U0010ffff", "a\U0010ffffb", "b",
]  # fmt: skip

PREFIXES = [
    "a", "a%", "a_", "a\\", "ke", "key", "k", "é", "e", "\ud7ff", "\uffff", "\U0010ffff",
    "a\U0010ffff", "z", "nothing-starts-with-this",
]  # fmt: skip

# Enough keys for three pages of keys (the last one partial) and many pages of items.
PAGED = 2 * KEYS_PAGE + 345


def random_keys(count: int, seed: int = 0) -> list[str]:
    """Return ``count`` distinct keys mixing ASCII, Latin-1, the BMP and astral characters."""
    rng = random.Random(seed)
    alphabet = [
        *"aAbBzZ09 %_\\~",
        "é", "ß", "\u00ff", "\u0100", "\u0800", "\ud7ff", "\ue000", "\uffff",
        "\U00010000", "\U0001f600", "\U0010ffff",
    ]  # fmt: skip
    keys: set[str] = set()
    while len(keys) < count:
        keys.add("".join(rng.choices(alphabet, k=rng.randint(1, 12))))
    return list(keys)


def shuffled(keys: list[str], seed: int = 1) -> list[str]:
    keys = list(keys)
    random.Random(seed).shuffle(keys)
    return keys


def fill(kv: KeyVal, keys: list[str]) -> None:
    """Store each key with ``[key]`` as its value, inserted in a random order."""
    keys = shuffled(keys)
    for start in range(0, len(keys), 5_000):
        kv.set_many({key: [key] for key in keys[start : start + 5_000]})


def numbered(count: int, prefix: str = "key-") -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(count)]


ALL_KEYS = list(dict.fromkeys(TRICKY_KEYS + random_keys(300)))


@pytest.fixture
def tricky_kv(kv: KeyVal) -> KeyVal:
    fill(kv, ALL_KEYS)
    return kv


@pytest.fixture
def paged_kv(kv: KeyVal) -> KeyVal:
    fill(kv, numbered(PAGED))
    return kv


# Order


def test_keys_are_sorted_by_code_point(tricky_kv):
    assert tricky_kv.keys() == sorted(ALL_KEYS)


def test_iter_keys_yields_keys_sorted_by_code_point(tricky_kv):
    assert list(tricky_kv.iter_keys()) == sorted(ALL_KEYS)


def test_iterating_the_store_yields_keys_sorted_by_code_point(tricky_kv):
    assert list(tricky_kv) == sorted(ALL_KEYS)


def test_items_yield_pairs_sorted_by_code_point(tricky_kv):
    assert list(tricky_kv.items()) == [(key, [key]) for key in sorted(ALL_KEYS)]


def test_count_counts_every_key(tricky_kv):
    assert tricky_kv.count() == len(ALL_KEYS)


def test_len_counts_every_key(tricky_kv):
    assert len(tricky_kv) == len(ALL_KEYS)


# Any str but NUL and lone surrogates, which are not valid keys.
any_key = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(any_key, unique=True, max_size=25))
def test_keys_of_any_strings_are_sorted_by_code_point(kv, keys):
    kv.flush()
    kv.set_many(dict.fromkeys(keys, 0))
    assert list(kv.iter_keys()) == sorted(keys)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(any_key, unique=True, min_size=1, max_size=25), data=st.data())
def test_any_prefix_selects_the_keys_starting_with_it(kv, keys, data):
    kv.flush()
    kv.set_many(dict.fromkeys(keys, 0))
    key = data.draw(st.sampled_from(keys))
    prefix = data.draw(st.one_of(any_key, st.integers(0, len(key)).map(lambda n: key[:n])))
    assert list(kv.iter_keys(prefix)) == sorted(k for k in keys if k.startswith(prefix))


def test_iteration_skips_keys_of_other_stores(kv, other_kv):
    fill(kv, ["a", "c"])
    fill(other_kv, ["b", "d"])
    assert list(kv.iter_keys()) == ["a", "c"]


def test_iteration_skips_expired_keys(kv):
    live = numbered(KEYS_PAGE + 10)
    fill(kv, live)
    write_expired("test", [f"{key}-expired" for key in live[::7]])
    assert list(kv.iter_keys()) == live


def test_items_skip_expired_keys(kv):
    live = numbered(ITEMS_PAGE + 10)
    fill(kv, live)
    write_expired("test", [f"{key}-expired" for key in live[::7]])
    assert [key for key, _ in kv.items()] == live


def test_iteration_of_an_empty_store_yields_nothing(kv):
    assert list(kv.iter_keys()) == []


# Prefixes


def expected_under(prefix: str) -> list[str]:
    return sorted(key for key in ALL_KEYS if key.startswith(prefix))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_keys_with_prefix_are_those_starting_with_it(tricky_kv, prefix):
    assert tricky_kv.keys(prefix) == expected_under(prefix)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_iter_keys_with_prefix_yields_those_starting_with_it(tricky_kv, prefix):
    assert list(tricky_kv.iter_keys(prefix)) == expected_under(prefix)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_items_with_prefix_yield_those_starting_with_it(tricky_kv, prefix):
    assert list(tricky_kv.items(prefix)) == [(key, [key]) for key in expected_under(prefix)]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_count_with_prefix_counts_those_starting_with_it(tricky_kv, prefix):
    assert tricky_kv.count(prefix) == len(expected_under(prefix))


def test_empty_prefix_yields_every_key(tricky_kv):
    assert list(tricky_kv.iter_keys("")) == sorted(ALL_KEYS)


# Paging


def test_iter_keys_crosses_pages_without_gaps_or_duplicates(paged_kv):
    assert list(paged_kv.iter_keys()) == numbered(PAGED)


def test_items_cross_pages_without_gaps_or_duplicates(paged_kv):
    assert list(paged_kv.items()) == [(key, [key]) for key in numbered(PAGED)]


def test_iter_keys_of_an_exact_number_of_pages_yields_each_key_once(kv):
    fill(kv, numbered(2 * KEYS_PAGE))
    assert list(kv.iter_keys()) == numbered(2 * KEYS_PAGE)


def test_items_of_an_exact_number_of_pages_yield_each_key_once(kv):
    fill(kv, numbered(3 * ITEMS_PAGE))
    assert [key for key, _ in kv.items()] == numbered(3 * ITEMS_PAGE)


def test_iter_keys_with_prefix_crosses_pages_within_the_prefix(kv):
    fill(kv, numbered(PAGED, "a-") + numbered(PAGED, "b-") + ["a", "a."])
    assert list(kv.iter_keys("a-")) == numbered(PAGED, "a-")


def test_items_with_prefix_cross_pages_within_the_prefix(kv):
    fill(kv, numbered(3 * ITEMS_PAGE + 5, "a-") + numbered(ITEMS_PAGE, "b-") + ["a", "a."])
    assert [key for key, _ in kv.items("a-")] == numbered(3 * ITEMS_PAGE + 5, "a-")


def test_iter_keys_fetches_one_page_per_query(paged_kv, django_assert_num_queries):
    with django_assert_num_queries(PAGED // KEYS_PAGE + 1):
        for _ in paged_kv.iter_keys():
            pass


def test_items_fetch_one_page_per_query(paged_kv, django_assert_num_queries):
    with django_assert_num_queries(PAGED // ITEMS_PAGE + 1):
        for _ in paged_kv.items():
            pass


@pytest.mark.sync_only
def test_iter_keys_queries_nothing_until_iterated(paged_kv, django_assert_num_queries):
    with django_assert_num_queries(0):
        paged_kv.iter_keys()


# Changes during iteration (the async twins' are in test_aio.py)


@pytest.mark.sync_only
def test_deleting_each_key_while_iterating_visits_every_key(paged_kv):
    seen: list[str] = []
    for key in paged_kv.iter_keys():
        paged_kv.delete(key)
        seen.append(key)
    assert seen == numbered(PAGED)


@pytest.mark.sync_only
def test_deleting_each_key_while_iterating_empties_the_store(paged_kv):
    for key in paged_kv.iter_keys():
        paged_kv.delete(key)
    assert paged_kv.count() == 0


@pytest.mark.sync_only
def test_iteration_skips_keys_deleted_ahead_of_it(paged_kv):
    keys = numbered(PAGED)
    doomed = keys[KEYS_PAGE + 100 : KEYS_PAGE + 200]
    seen: list[str] = []
    for key in paged_kv.iter_keys():
        if not seen:
            paged_kv.delete_many(doomed)
        seen.append(key)
    assert seen == [key for key in keys if key not in doomed]


@pytest.mark.sync_only
def test_iteration_yields_keys_added_ahead_of_it(paged_kv):
    keys = numbered(PAGED)
    added = [f"{key}+" for key in keys[KEYS_PAGE + 100 : KEYS_PAGE + 200]]
    seen: list[str] = []
    for key in paged_kv.iter_keys():
        if not seen:
            paged_kv.set_many(dict.fromkeys(added, "new"))
        seen.append(key)
    assert seen == sorted(keys + added)


@pytest.mark.sync_only
def test_overwriting_each_value_while_iterating_items_visits_each_key_once(paged_kv):
    seen: list[str] = []
    for key, value in paged_kv.items():
        paged_kv.set(key, [*value, "again"])
        seen.append(key)
    assert seen == numbered(PAGED)


@pytest.mark.sync_only
def test_flushing_the_store_while_iterating_ends_without_error(paged_kv):
    seen: list[str] = []
    for key in paged_kv.iter_keys():
        if not seen:
            paged_kv.flush()
        seen.append(key)
    assert seen == numbered(PAGED)[: len(seen)]


# Memory

MANY = 200_000


def peak_memory(work: Callable[[], object]) -> int:
    """Return the peak of Python allocations, in bytes, while ``work()`` runs."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def count_iterated(iterator: Iterator[object]) -> int:
    return sum(1 for _ in iterator)


def fill_quickly(kv: KeyVal, count: int) -> None:
    keys = shuffled(numbered(count))
    for start in range(0, count, 5_000):
        kv.set_many(dict.fromkeys(keys[start : start + 5_000], 0))


@pytest.mark.slow
@pytest.mark.sync_only
def test_iter_keys_memory_stays_flat_on_a_large_store(kv):
    fill_quickly(kv, MANY)
    counted: list[int] = []
    iterating = peak_memory(lambda: counted.append(count_iterated(kv.iter_keys())))
    holding = peak_memory(kv.keys)
    assert counted == [MANY]
    assert iterating < holding / 5
    assert iterating < 5 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.sync_only
def test_items_memory_stays_flat_on_a_large_store(kv):
    # Fewer keys than above: items decode every value, and pages are ten times smaller.
    fill_quickly(kv, MANY // 4)
    counted: list[int] = []
    iterating = peak_memory(lambda: counted.append(count_iterated(kv.items())))
    holding = peak_memory(kv.keys)
    assert counted == [MANY // 4]
    assert iterating < holding / 5
    assert iterating < 5 * 1024 * 1024
