"""Validation and exact comparison of keys, store names and prefixes, through the facade."""

from __future__ import annotations

import pytest

from django_keyval import KeyVal
from django_keyval.exceptions import InvalidKey, KeyValError

# Tests on ``kv`` run through the sync methods, then through their async twins.
pytestmark = [pytest.mark.django_db, pytest.mark.twins]

# Every operation that takes a single key, called with ``key``.
KEY_OPERATIONS = {
    "get": lambda kv, key: kv.get(key),
    "get_default": lambda kv, key: kv.get_default(key),
    "set": lambda kv, key: kv.set(key, 1),
    "add": lambda kv, key: kv.add(key, 1),
    "get_or_set": lambda kv, key: kv.get_or_set(key, 1),
    "pop": lambda kv, key: kv.pop(key),
    "pop_default": lambda kv, key: kv.pop_default(key),
    "exists": lambda kv, key: kv.exists(key),
    "delete": lambda kv, key: kv.delete(key, ignore_keyerror=True),
    "incr": lambda kv, key: kv.incr(key),
    "modify": lambda kv, key: kv.modify(key, lambda old: old, 0),
    "touch": lambda kv, key: kv.touch(key),
    "ttl": lambda kv, key: kv.ttl(key),
    "get_many": lambda kv, key: kv.get_many([key]),
    "set_many": lambda kv, key: kv.set_many({key: 1}),
    "delete_many": lambda kv, key: kv.delete_many([key]),
    "getitem": lambda kv, key: kv[key],
    "setitem": lambda kv, key: kv.__setitem__(key, 1),
    "contains": lambda kv, key: key in kv,
}

# Every operation that takes a prefix, called with ``prefix``.
PREFIX_OPERATIONS = {
    "keys": lambda kv, prefix: kv.keys(prefix),
    "count": lambda kv, prefix: kv.count(prefix),
    "delete_prefix": lambda kv, prefix: kv.delete_prefix(prefix),
    "iter_keys": lambda kv, prefix: list(kv.iter_keys(prefix)),
    "items": lambda kv, prefix: list(kv.items(prefix)),
}

NON_STR = [1, b"key", None]
INVALID = {
    "nul": "a\x00b",
    "too_long": "k" * 256,
    "lone_surrogate": "a\ud800",
}


def key_operation_params():
    return pytest.mark.parametrize(
        "operation", list(KEY_OPERATIONS.values()), ids=list(KEY_OPERATIONS)
    )


def prefix_operation_params():
    return pytest.mark.parametrize(
        "operation", list(PREFIX_OPERATIONS.values()), ids=list(PREFIX_OPERATIONS)
    )


# Keys that are not str


@key_operation_params()
@pytest.mark.parametrize("key", NON_STR, ids=repr)
def test_non_str_key_raises_typeerror(kv, operation, key):
    with pytest.raises(TypeError):
        operation(kv, key)


@pytest.mark.parametrize("key", NON_STR, ids=repr)
def test_non_str_key_typeerror_is_not_invalidkey(kv, key):
    with pytest.raises(TypeError) as excinfo:
        kv.set(key, 1)
    assert not isinstance(excinfo.value, ValueError)


def test_non_str_key_message_names_the_key_and_its_type(kv):
    with pytest.raises(TypeError) as excinfo:
        kv.get(1)
    assert "key" in str(excinfo.value)
    assert "int" in str(excinfo.value)


def test_non_str_key_writes_nothing(kv):
    with pytest.raises(TypeError):
        kv.set(1, "value")
    assert kv.count() == 0


# Invalid keys


@key_operation_params()
@pytest.mark.parametrize("key", list(INVALID.values()), ids=list(INVALID))
def test_invalid_key_raises_invalidkey(kv, operation, key):
    with pytest.raises(InvalidKey):
        operation(kv, key)


@pytest.mark.parametrize("key", list(INVALID.values()), ids=list(INVALID))
def test_invalidkey_is_a_valueerror_and_a_keyvalerror(kv, key):
    with pytest.raises(InvalidKey) as excinfo:
        kv.set(key, 1)
    assert isinstance(excinfo.value, ValueError)
    assert isinstance(excinfo.value, KeyValError)


@pytest.mark.parametrize("key", list(INVALID.values()), ids=list(INVALID))
def test_invalid_key_writes_nothing(kv, key):
    with pytest.raises(InvalidKey):
        kv.set(key, 1)
    assert kv.count() == 0


def test_invalid_key_in_set_many_writes_nothing(kv):
    with pytest.raises(InvalidKey):
        kv.set_many({"good": 1, "a\x00b": 2})
    assert kv.count() == 0


def test_too_long_key_message_names_the_key_and_its_length(kv):
    with pytest.raises(InvalidKey) as excinfo:
        kv.set("k" * 256, 1)
    message = str(excinfo.value)
    assert "key" in message
    assert "256" in message
    assert "255" in message


def test_nul_key_message_names_the_nul(kv):
    with pytest.raises(InvalidKey) as excinfo:
        kv.set("a\x00b", 1)
    assert "key" in str(excinfo.value)
    assert "NUL" in str(excinfo.value)


def test_lone_surrogate_key_message_names_the_surrogate(kv):
    with pytest.raises(InvalidKey) as excinfo:
        kv.set("a\ud800", 1)
    assert "key" in str(excinfo.value)
    assert "surrogate" in str(excinfo.value)


# Valid edge cases


@pytest.mark.parametrize(
    "key",
    ["k" * 255, "é" * 255, "中" * 255, "\U0001f600" * 255],
    ids=["ascii", "latin", "cjk", "astral"],
)
def test_key_of_255_characters_is_stored(kv, key):
    kv.set(key, "value")
    assert kv.get(key) == "value"
    assert kv.keys() == [key]


def test_empty_key_is_stored(kv):
    kv.set("", "value")
    assert kv.get("") == "value"
    assert kv.keys() == [""]


def test_empty_key_is_distinct_from_other_keys(kv):
    kv.set("", 1)
    kv.set(" ", 2)
    assert kv.get("") == 1
    assert kv.get(" ") == 2


# Exact comparison

LOOKALIKES = ["Key", "key", "key ", "ké", "ke\u0301"]


def test_lookalike_keys_are_each_new(kv):
    assert [kv.set(key, key) for key in LOOKALIKES] == [True] * 5


def test_lookalike_keys_read_back_their_own_values(kv):
    for index, key in enumerate(LOOKALIKES):
        kv.set(key, index)
    assert [kv.get(key) for key in LOOKALIKES] == [0, 1, 2, 3, 4]


def test_lookalike_keys_count_as_five(kv):
    for key in LOOKALIKES:
        kv.set(key, key)
    assert kv.count() == 5


def test_lookalike_keys_are_listed_separately(kv):
    for key in LOOKALIKES:
        kv.set(key, key)
    assert kv.keys() == sorted(LOOKALIKES)


def test_lookalike_keys_are_deleted_separately(kv):
    for key in LOOKALIKES:
        kv.set(key, key)
    kv.delete("key")
    assert kv.keys() == sorted(set(LOOKALIKES) - {"key"})


def test_get_many_tells_lookalike_keys_apart(kv):
    for key in LOOKALIKES:
        kv.set(key, key)
    assert kv.get_many(LOOKALIKES) == {key: key for key in LOOKALIKES}


def test_trailing_space_key_is_not_found_by_the_key_without_it(kv):
    kv.set("key ", 1)
    assert not kv.exists("key")


# Ordering

MIXED = [
    "b",
    "a",
    "B",
    "ab",
    "a b",
    "a\x01",
    "\x01",
    "é",
    "e\u0301",
    "z",
    "中",
    "日本",
    "\U0001f600",
    "\U0001f600a",
    "\uffff",
    "\ue000",
    "\ud7ff",
    "\U0010ffff",
    "~",
]


def test_keys_are_sorted_by_code_point(kv):
    for key in MIXED:
        kv.set(key, 1)
    assert kv.keys() == sorted(MIXED)


def test_iter_keys_is_sorted_by_code_point(kv):
    for key in MIXED:
        kv.set(key, 1)
    assert list(kv.iter_keys()) == sorted(MIXED)


def test_items_are_sorted_by_code_point(kv):
    for key in MIXED:
        kv.set(key, key)
    assert [key for key, _ in kv.items()] == sorted(MIXED)


# Prefixes are literal

WILDCARD_KEYS = ["a%b", "axb", "a_c", "abc", "a\\d", "a%", "ab", "b"]
WILDCARD_PREFIXES = {
    "percent": ("a%", ["a%", "a%b"]),
    "underscore": ("a_", ["a_c"]),
    "backslash": ("a\\", ["a\\d"]),
    "percent_alone": ("%", []),
    "underscore_alone": ("_", []),
}


def wildcard_params():
    return pytest.mark.parametrize(
        ("prefix", "expected"), list(WILDCARD_PREFIXES.values()), ids=list(WILDCARD_PREFIXES)
    )


@pytest.fixture
def wildcard_kv(kv):
    for key in WILDCARD_KEYS:
        kv.set(key, key)
    return kv


@wildcard_params()
def test_keys_prefix_is_literal(wildcard_kv, prefix, expected):
    assert wildcard_kv.keys(prefix) == expected


@wildcard_params()
def test_iter_keys_prefix_is_literal(wildcard_kv, prefix, expected):
    assert list(wildcard_kv.iter_keys(prefix)) == expected


@wildcard_params()
def test_items_prefix_is_literal(wildcard_kv, prefix, expected):
    assert dict(wildcard_kv.items(prefix)) == {key: key for key in expected}


@wildcard_params()
def test_count_prefix_is_literal(wildcard_kv, prefix, expected):
    assert wildcard_kv.count(prefix) == len(expected)


@wildcard_params()
def test_delete_prefix_is_literal(wildcard_kv, prefix, expected):
    assert wildcard_kv.delete_prefix(prefix) == len(expected)
    assert wildcard_kv.keys() == sorted(set(WILDCARD_KEYS) - set(expected))


def test_prefix_is_case_sensitive(kv):
    for key in ["Abc", "abc", "ABC"]:
        kv.set(key, 1)
    assert kv.keys("a") == ["abc"]


def test_prefix_is_accent_sensitive(kv):
    for key in ["ke\u0301", "ké", "ke"]:
        kv.set(key, 1)
    assert kv.keys("ké") == ["ké"]


def test_empty_prefix_matches_every_key(kv):
    for key in MIXED:
        kv.set(key, 1)
    assert kv.keys("") == sorted(MIXED)


MAX_KEYS = [
    "\U0010ffff",
    "\U0010ffffa",
    "\U0010ffff\U0010ffff",
    "\U0010fffe",
    "\U0010fffe\U0010ffff",
    "a\U0010ffff",
    "a\U0010ffffb",
    "b",
    "z",
]
MAX_PREFIXES = {
    "max": ("\U0010ffff", ["\U0010ffff", "\U0010ffffa", "\U0010ffff\U0010ffff"]),
    "max_max": ("\U0010ffff\U0010ffff", ["\U0010ffff\U0010ffff"]),
    "a_max": ("a\U0010ffff", ["a\U0010ffff", "a\U0010ffffb"]),
}


@pytest.mark.parametrize(
    ("prefix", "expected"), list(MAX_PREFIXES.values()), ids=list(MAX_PREFIXES)
)
def test_prefix_of_the_last_code_point_matches_its_keys(kv, prefix, expected):
    for key in MAX_KEYS:
        kv.set(key, 1)
    assert kv.keys(prefix) == expected


@pytest.mark.parametrize(
    ("prefix", "expected"), list(MAX_PREFIXES.values()), ids=list(MAX_PREFIXES)
)
def test_count_of_a_prefix_of_the_last_code_point(kv, prefix, expected):
    for key in MAX_KEYS:
        kv.set(key, 1)
    assert kv.count(prefix) == len(expected)


@pytest.mark.parametrize(
    ("prefix", "expected"), list(MAX_PREFIXES.values()), ids=list(MAX_PREFIXES)
)
def test_delete_prefix_of_the_last_code_point(kv, prefix, expected):
    for key in MAX_KEYS:
        kv.set(key, 1)
    assert kv.delete_prefix(prefix) == len(expected)
    assert kv.keys() == sorted(set(MAX_KEYS) - set(expected))


BEFORE_SURROGATE_KEYS = ["x\ud7fe", "x\ud7ff", "x\ud7ffy", "x\ue000", "x\U00010000", "y"]


def test_prefix_ending_before_the_surrogates_matches_its_keys(kv):
    for key in BEFORE_SURROGATE_KEYS:
        kv.set(key, 1)
    assert kv.keys("x\ud7ff") == ["x\ud7ff", "x\ud7ffy"]


def test_delete_prefix_ending_before_the_surrogates(kv):
    for key in BEFORE_SURROGATE_KEYS:
        kv.set(key, 1)
    assert kv.delete_prefix("x\ud7ff") == 2
    assert kv.keys() == ["x\ud7fe", "x\ue000", "x\U00010000", "y"]


def test_prefix_matches_keys_of_any_length(kv):
    kv.set("p" * 255, 1)
    kv.set("p", 2)
    assert kv.keys("p" * 200) == ["p" * 255]


def test_prefix_does_not_match_other_stores(kv, other_kv):
    kv.set("shared", 1)
    other_kv.set("shared", 2)
    other_kv.set("shared2", 2)
    assert kv.keys("shared") == ["shared"]


# Invalid prefixes


@prefix_operation_params()
@pytest.mark.parametrize("prefix", NON_STR, ids=repr)
def test_non_str_prefix_raises_typeerror(kv, operation, prefix):
    with pytest.raises(TypeError):
        operation(kv, prefix)


@prefix_operation_params()
@pytest.mark.parametrize("prefix", list(INVALID.values()), ids=list(INVALID))
def test_invalid_prefix_raises_invalidkey(kv, operation, prefix):
    with pytest.raises(InvalidKey):
        operation(kv, prefix)


@pytest.mark.sync_only
def test_invalid_prefix_raises_before_iteration_starts(kv):
    with pytest.raises(InvalidKey):
        kv.iter_keys("a\x00")


def test_invalid_delete_prefix_deletes_nothing(kv):
    kv.set("a", 1)
    with pytest.raises(InvalidKey):
        kv.delete_prefix("a\x00")
    assert kv.keys() == ["a"]


def test_too_long_prefix_message_names_the_prefix_and_its_length(kv):
    with pytest.raises(InvalidKey) as excinfo:
        kv.keys("p" * 300)
    assert "prefix" in str(excinfo.value)
    assert "300" in str(excinfo.value)


# Store names


@pytest.mark.parametrize("name", NON_STR, ids=repr)
def test_non_str_store_name_raises_typeerror(db, name):
    with pytest.raises(TypeError):
        KeyVal(name)


@pytest.mark.parametrize("name", list(INVALID.values()), ids=list(INVALID))
def test_invalid_store_name_raises_invalidkey(db, name):
    with pytest.raises(InvalidKey):
        KeyVal(name)


@pytest.mark.parametrize("name", list(INVALID.values()), ids=list(INVALID))
def test_invalid_store_name_raises_invalidkey_through_connect(db, name):
    with pytest.raises(InvalidKey):
        KeyVal.connect(name)


def test_too_long_store_name_message_names_the_store_name_and_its_length(db):
    with pytest.raises(InvalidKey) as excinfo:
        KeyVal("s" * 256)
    assert "store name" in str(excinfo.value)
    assert "256" in str(excinfo.value)


def test_non_str_store_name_message_names_the_store_name(db):
    with pytest.raises(TypeError) as excinfo:
        KeyVal(b"store")
    assert "store name" in str(excinfo.value)
    assert "bytes" in str(excinfo.value)


@pytest.mark.parametrize(
    "name", ["", "s" * 255, "\U0001f600" * 255, "a%_\\"], ids=["empty", "255", "astral", "wild"]
)
def test_valid_store_name_holds_keys(api, name):
    store = api(KeyVal(name))
    store.set("k", "value")
    assert store.get("k") == "value"
    assert api(KeyVal).stores() == [name]


def test_lookalike_store_names_are_distinct_stores(db):
    for name in LOOKALIKES:
        KeyVal(name).set("k", name)
    assert [KeyVal(name).get("k") for name in LOOKALIKES] == LOOKALIKES


def test_stores_are_sorted_by_code_point(api):
    for name in MIXED:
        KeyVal(name).set("k", 1)
    assert api(KeyVal).stores() == sorted(MIXED)
