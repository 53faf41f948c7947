"""django_keyval.contrib.minimalkv: minimalkv's own store tests, and ours.

``BasicStore`` and ``TTLStore`` come from ``tests/basic_store.py`` of the
sdist of the installed minimalkv, downloaded when the tests run (see
sdists.py), with the fixtures of its ``tests/conftest.py``. They run
unchanged: no upstream test needs an exception.
"""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.sdists import load_module, require, unpacked_sdist

# minimalkv's basic_store.py imports pyarrow, and its test_parquet_file sqlalchemy.
for _module in ("minimalkv", "pyarrow", "sqlalchemy"):
    require(_module)

from minimalkv import FOREVER, NOT_SET  # noqa: E402

from django_keyval import KeyVal  # noqa: E402
from django_keyval.contrib.minimalkv import KeyValStore  # noqa: E402
from tests.helpers import WRONG_MAC, entry_table_renamed, stored_row, tamper  # noqa: E402

SDIST = unpacked_sdist("minimalkv")
_fixtures = load_module("minimalkv_upstream_conftest", SDIST / "tests" / "conftest.py")
_basic_store = load_module("minimalkv_upstream_basic_store", SDIST / "tests" / "basic_store.py")

# The fixtures of minimalkv's conftest.py (keys, values, secrets), as its own tests see them.
for _name in ("key", "key2", "value", "value2", "unicode_value", "long_value"):
    globals()[_name] = getattr(_fixtures, _name)
for _name in ("invalid_key", "max_key", "secret_key"):
    globals()[_name] = getattr(_fixtures, _name)


@pytest.fixture
def store(db: None, monkeypatch: pytest.MonkeyPatch) -> KeyValStore:
    # test_parquet_file opens "tests/test.parquet" from the working folder.
    monkeypatch.chdir(SDIST)
    return KeyValStore("minimalkv")


class TestUpstreamBasicStore(_basic_store.BasicStore):  # type: ignore[name-defined,misc]
    """minimalkv's tests of every store."""


class TestUpstreamTTLStore(_basic_store.TTLStore):  # type: ignore[name-defined,misc]
    """minimalkv's tests of stores with time to live."""


# Ours: what the upstream suite does not look at.


def test_values_are_signed_bytes_in_the_named_store(store):
    store.put("a", b"\x00\xff")
    row = stored_row("minimalkv", "a")
    assert row.serializer == "bytes"
    assert row.mac
    assert KeyVal("minimalkv").get("a") == b"\x00\xff"


def test_not_set_ttl_is_the_stores_default_and_forever_never_expires(db):
    store = KeyValStore("minimalkv", ttl=60)
    store.put("default", b"1")
    store.put("forever", b"2", ttl_secs=FOREVER)
    store.put("explicit", b"3", ttl_secs=NOT_SET)
    kv = KeyVal("minimalkv")
    assert 59 < kv.ttl("default") <= 60
    assert 59 < kv.ttl("explicit") <= 60
    assert kv.ttl("forever") is None


def test_default_ttl_secs_overrides_the_stores_default(db):
    store = KeyValStore("minimalkv", ttl=60)
    store.default_ttl_secs = 5  # type: ignore[assignment]
    store.put_file("a", BytesIO(b"1"))
    assert 4 < KeyVal("minimalkv").ttl("a") <= 5


def test_zero_ttl_expires_at_once(store):
    store.put("a", b"old")
    assert store.put("a", b"new", ttl_secs=0) == "a"
    assert "a" not in store


@pytest.mark.parametrize("ttl", [float("nan"), float("inf")])
def test_non_finite_ttl_is_a_value_error(store, ttl):
    with pytest.raises(ValueError, match="ttl"):
        store.put("a", b"1", ttl_secs=ttl)


def test_a_key_longer_than_the_store_allows_is_a_value_error(store):
    with pytest.raises(ValueError, match="255"):
        store.put("k" * 256, b"1")
    assert store.keys() == []


def test_only_the_bytes_serializer(db):
    with pytest.raises(ValueError, match="bytes"):
        KeyValStore("minimalkv", serializer="pickle")


def test_keys_and_prefixes_come_from_the_store_in_code_point_order(store):
    for key in ["b", "a.x", "a.y", "c.z.w"]:
        store.put(key, b"v")
    assert store.keys() == ["a.x", "a.y", "b", "c.z.w"]
    assert list(store.iter_keys("a.")) == ["a.x", "a.y"]
    assert sorted(store.iter_prefixes(".")) == ["a.", "b", "c."]


def test_copy_overwrites_and_leaves_the_source(store):
    store.put("src", b"1")
    store.put("dest", b"2")
    assert store.copy("src", "dest") == "dest"
    assert (store.get("src"), store.get("dest")) == (b"1", b"1")


def test_one_query_per_read(store, django_assert_num_queries):
    store.put("a", b"1")
    with django_assert_num_queries(1):
        assert store.get("a") == b"1"
    with django_assert_num_queries(1):
        assert store.open("a").read() == b"1"
    with django_assert_num_queries(1):
        assert "a" in store


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "call",
    [
        lambda store: store.get("a"),
        lambda store: store.open("a"),
        lambda store: "a" in store,
        lambda store: store.keys(),
        lambda store: list(store.iter_keys()),
        lambda store: list(store),
        lambda store: store.put("a", b"2"),
        lambda store: store.delete("a"),
    ],
    ids=["get", "open", "contains", "keys", "iter_keys", "iter", "put", "delete"],
)
def test_a_database_error_is_an_os_error_and_changes_nothing(call):
    store = KeyValStore("minimalkv")
    store.put("a", b"1")
    with entry_table_renamed(), pytest.raises(OSError, match="failed"):
        call(store)
    assert store.get("a") == b"1"


def test_a_value_that_fails_its_signature_is_an_os_error(store):
    store.put("a", b"1")
    tamper("minimalkv", "a", mac=WRONG_MAC)
    with pytest.raises(OSError, match="'a'"):
        store.get("a")
    with pytest.raises(OSError):
        store.open("a")
