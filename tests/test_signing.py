"""Signed values: forged, tampered, copied or foreign rows raise CorruptValue, never unpickle."""

from __future__ import annotations

import os
import pathlib
import pickle
from typing import Any

import pytest
from django.test import override_settings

from django_keyval import KeyVal
from django_keyval.checks import check_settings
from django_keyval.exceptions import CorruptValue, KeyValError
from django_keyval.signing import SMALL_PAYLOAD
from tests.helpers import Exploit, stored_row, tamper, write_row

pytestmark = pytest.mark.django_db


class FailingSerializer:
    """A serializer whose loads() fails on every payload."""

    def dumps(self, value: Any) -> bytes:
        return b"data"

    def loads(self, data: bytes) -> Any:
        raise RuntimeError("cannot load")


def mac_of(
    store: str, key: str, serializer: str, payload: bytes, secret: str | None = None
) -> bytes:
    """The signature django_keyval stores for ``payload`` (see django_keyval/signing.py)."""
    from django.conf import settings

    from django_keyval import signing

    return signing.signature(
        settings.SECRET_KEY if secret is None else secret, store, key, serializer, payload
    )


# The helpers match what the store writes, so the tests below test what they say.


def test_mac_helper_matches_the_stored_signature(kv):
    kv.set("k", {"a": 1})
    row = stored_row("test", "k")
    assert bytes(row.mac) == mac_of("test", "k", "pickle", bytes(row.value))


def test_row_written_with_a_valid_mac_is_read(kv):
    payload = pickle.dumps({"a": 1})
    write_row("test", "k", payload, "pickle", mac_of("test", "k", "pickle", payload))
    assert kv.get("k") == {"a": 1}


def test_forged_payload_creates_the_file_when_unpickled(tmp_path):
    pickle.loads(pickle.dumps(Exploit(tmp_path / "control")))
    assert (tmp_path / "control").exists()


# Forged pickles are never unpickled

FORGED_MACS = {
    "no_mac": lambda payload: None,
    "random_mac": lambda payload: os.urandom(32),
    "short_mac": lambda payload: b"\x00",
    "mac_of_another_key": lambda payload: mac_of("test", "other", "pickle", payload),
    "mac_of_another_store": lambda payload: mac_of("other", "k", "pickle", payload),
    "mac_of_another_serializer": lambda payload: mac_of("test", "k", "json", payload),
    "mac_under_another_secret": lambda payload: mac_of("test", "k", "pickle", payload, "guess"),
}

READS = {
    "get": lambda kv: kv.get("k"),
    "get_with_default": lambda kv: kv.get("k", None),
    "get_default": lambda kv: kv.get_default("k"),
    "getitem": lambda kv: kv["k"],
    "pop": lambda kv: kv.pop("k"),
    "pop_default": lambda kv: kv.pop_default("k"),
    "items": lambda kv: list(kv.items()),
    "get_many": lambda kv: kv.get_many(["k"]),
    "get_or_set": lambda kv: kv.get_or_set("k", "default"),
    "modify": lambda kv: kv.modify("k", lambda old: old),
    "incr": lambda kv: kv.incr("k"),
}


def forged_params():
    return pytest.mark.parametrize("make_mac", list(FORGED_MACS.values()), ids=list(FORGED_MACS))


def read_params():
    return pytest.mark.parametrize("read", list(READS.values()), ids=list(READS))


@pytest.fixture
def pwned(tmp_path) -> pathlib.Path:
    return tmp_path / "pwned"


def write_forged_row(pwned: pathlib.Path, make_mac) -> None:
    payload = pickle.dumps(Exploit(pwned))
    write_row("test", "k", payload, "pickle", make_mac(payload))


@forged_params()
@read_params()
def test_forged_pickle_raises_corruptvalue(kv, pwned, make_mac, read):
    write_forged_row(pwned, make_mac)
    with pytest.raises(CorruptValue):
        read(kv)


@forged_params()
@read_params()
def test_forged_pickle_is_never_unpickled(kv, pwned, make_mac, read):
    write_forged_row(pwned, make_mac)
    with pytest.raises(CorruptValue):
        read(kv)
    assert not pwned.exists()


@forged_params()
@pytest.mark.parametrize(
    "read",
    [READS["pop"], READS["pop_default"], READS["modify"], READS["incr"], READS["get_or_set"]],
    ids=["pop", "pop_default", "modify", "incr", "get_or_set"],
)
def test_forged_pickle_stays_stored_after_a_refused_write(kv, pwned, make_mac, read):
    write_forged_row(pwned, make_mac)
    payload = pickle.dumps(Exploit(pwned))
    with pytest.raises(CorruptValue):
        read(kv)
    assert bytes(stored_row("test", "k").value) == payload


@pytest.mark.parametrize(
    "make_mac",
    [make_mac for name, make_mac in FORGED_MACS.items() if name != "no_mac"],
    ids=[name for name in FORGED_MACS if name != "no_mac"],
)
def test_forged_pickle_with_a_bad_mac_is_refused_with_signing_off(kv, pwned, make_mac, settings):
    settings.KEYVAL = {"SIGN_VALUES": False}
    write_forged_row(pwned, make_mac)
    with pytest.raises(CorruptValue):
        kv.get("k")
    assert not pwned.exists()


def test_forged_pickle_is_not_unpickled_by_stores(kv, pwned):
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    assert KeyVal.stores() == ["test"]
    assert not pwned.exists()


def test_forged_pickle_is_not_unpickled_by_keys_count_or_exists(kv, pwned):
    write_forged_row(pwned, FORGED_MACS["random_mac"])
    assert kv.keys() == ["k"]
    assert kv.count() == 1
    assert kv.exists("k")
    assert not pwned.exists()


def test_forged_pickle_can_be_deleted(kv, pwned):
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    assert kv.delete("k") is True
    assert not pwned.exists()


def test_forged_pickle_can_be_overwritten(kv, pwned):
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    kv.set("k", "clean")
    assert kv.get("k") == "clean"


def test_corruptvalue_is_a_valueerror_and_a_keyvalerror(kv, pwned):
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    with pytest.raises(CorruptValue) as excinfo:
        kv.get("k")
    assert isinstance(excinfo.value, ValueError)
    assert isinstance(excinfo.value, KeyValError)


def test_corruptvalue_is_not_a_keyerror(kv, pwned):
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    with pytest.raises(CorruptValue) as excinfo:
        kv.get("k", "default")
    assert not isinstance(excinfo.value, KeyError)


def test_corruptvalue_message_names_the_key_and_the_store(db, tmp_path):
    payload = pickle.dumps(Exploit(tmp_path / "pwned"))
    write_row("my-store", "my-key", payload, "pickle", os.urandom(32))
    with pytest.raises(CorruptValue) as excinfo:
        KeyVal("my-store").get("my-key")
    assert "'my-key'" in str(excinfo.value)
    assert "'my-store'" in str(excinfo.value)


# Valid rows tampered with, or moved


def test_flipped_payload_byte_raises_corruptvalue(kv):
    kv.set("k", {"a": 1})
    payload = bytearray(stored_row("test", "k").value)
    payload[-2] ^= 0x01
    tamper("test", "k", value=bytes(payload))
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_flipped_mac_byte_raises_corruptvalue(kv):
    kv.set("k", {"a": 1})
    mac = bytearray(stored_row("test", "k").mac)
    mac[0] ^= 0x80
    tamper("test", "k", mac=bytes(mac))
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_truncated_payload_raises_corruptvalue(kv):
    kv.set("k", "a long enough value")
    tamper("test", "k", value=bytes(stored_row("test", "k").value)[:-1])
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_changed_serializer_tag_raises_corruptvalue(db):
    kv = KeyVal("test", serializer="json")
    kv.set("k", "text")
    tamper("test", "k", serializer="bytes")
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_row_copied_to_another_key_raises_corruptvalue(kv):
    kv.set("k", {"secret": 1})
    row = stored_row("test", "k")
    write_row("test", "copy", bytes(row.value), row.serializer, bytes(row.mac))
    with pytest.raises(CorruptValue):
        kv.get("copy")


def test_row_copied_to_another_store_raises_corruptvalue(kv, other_kv):
    kv.set("k", {"secret": 1})
    row = stored_row("test", "k")
    write_row("other", "k", bytes(row.value), row.serializer, bytes(row.mac))
    with pytest.raises(CorruptValue):
        other_kv.get("k")


def test_rows_swapped_between_keys_raise_corruptvalue(kv):
    kv.set("a", "value of a")
    kv.set("b", "value of b")
    a, b = stored_row("test", "a"), stored_row("test", "b")
    tamper("test", "a", value=bytes(b.value), mac=bytes(b.mac))
    tamper("test", "b", value=bytes(a.value), mac=bytes(a.mac))
    with pytest.raises(CorruptValue):
        kv.get_many(["a", "b"])


def test_store_and_key_boundary_is_part_of_the_signature(db):
    KeyVal("ab").set("c", 1)
    row = stored_row("ab", "c")
    write_row("a", "bc", bytes(row.value), row.serializer, bytes(row.mac))
    with pytest.raises(CorruptValue):
        KeyVal("a").get("bc")


def test_tampered_row_stays_stored_after_pop(kv):
    kv.set("k", {"a": 1})
    payload = bytearray(stored_row("test", "k").value)
    payload[-2] ^= 0x01
    tamper("test", "k", value=bytes(payload))
    with pytest.raises(CorruptValue):
        kv.pop("k")
    assert bytes(stored_row("test", "k").value) == bytes(payload)


def test_corrupt_row_does_not_hide_the_others_from_keys(kv):
    kv.set("a", 1)
    kv.set("b", 2)
    tamper("test", "a", mac=os.urandom(32))
    assert kv.keys() == ["a", "b"]


# SECRET_KEY and its fallbacks


def test_row_signed_under_another_secret_key_raises_corruptvalue(kv, settings):
    original = settings.SECRET_KEY
    settings.SECRET_KEY = "another secret"
    kv.set("k", "value")
    settings.SECRET_KEY = original
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_rotated_secret_key_reads_through_the_fallback(kv, settings):
    settings.SECRET_KEY = "old"
    kv.set("k", "value")
    settings.SECRET_KEY = "new"
    settings.SECRET_KEY_FALLBACKS = ["old"]
    assert kv.get("k") == "value"


def test_rotated_secret_key_without_the_fallback_raises_corruptvalue(kv, settings):
    settings.SECRET_KEY = "old"
    kv.set("k", "value")
    settings.SECRET_KEY = "new"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_fallback_among_several_is_found(kv, settings):
    settings.SECRET_KEY = "oldest"
    kv.set("k", "value")
    settings.SECRET_KEY = "new"
    settings.SECRET_KEY_FALLBACKS = ["old", "oldest"]
    assert kv.get("k") == "value"


def test_writes_after_rotation_are_signed_with_the_new_secret_key(kv, settings):
    settings.SECRET_KEY = "old"
    settings.SECRET_KEY_FALLBACKS = []
    kv.set("k", "before")
    settings.SECRET_KEY = "new"
    settings.SECRET_KEY_FALLBACKS = ["old"]
    kv.set("k", "after")
    settings.SECRET_KEY_FALLBACKS = []
    assert kv.get("k") == "after"


def test_rotated_secret_key_reads_through_the_fallback_for_get_many(kv, settings):
    settings.SECRET_KEY = "old"
    kv.set_many({"a": 1, "b": 2})
    settings.SECRET_KEY = "new"
    settings.SECRET_KEY_FALLBACKS = ["old"]
    assert kv.get_many(["a", "b"]) == {"a": 1, "b": 2}


# KEYVAL["SIGN_VALUES"]


def test_sign_values_off_writes_no_mac(kv, settings):
    settings.KEYVAL = {"SIGN_VALUES": False}
    kv.set("k", "value")
    assert stored_row("test", "k").mac is None


def test_sign_values_off_reads_its_unsigned_rows(kv, settings):
    settings.KEYVAL = {"SIGN_VALUES": False}
    kv.set("k", {"a": (1, 2)})
    assert kv.get("k") == {"a": (1, 2)}


def test_sign_values_off_with_json_reads_its_unsigned_rows(kv, settings):
    settings.KEYVAL = {"SIGN_VALUES": False, "SERIALIZER": "json"}
    kv.set("k", [1, "two"])
    assert kv.get("k") == [1, "two"]


def test_sign_values_off_still_reads_signed_rows(kv, settings):
    kv.set("k", "signed")
    settings.KEYVAL = {"SIGN_VALUES": False}
    assert kv.get("k") == "signed"


def test_sign_values_on_refuses_an_unsigned_row(kv, settings):
    settings.KEYVAL = {"SIGN_VALUES": False}
    kv.set("k", "unsigned")
    settings.KEYVAL = {"SIGN_VALUES": True}
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_sign_values_on_refuses_an_unsigned_json_row(db, settings):
    kv = KeyVal("test", serializer="json")
    write_row("test", "k", b'"unsigned"', "json", None)
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_sign_values_on_is_the_default(kv):
    kv.set("k", "value")
    assert stored_row("test", "k").mac is not None


# SIGN_VALUES per store (KEYVAL["STORES"]): bytes and JSON unsigned, pickles still signed

UNSIGNED_STORE = {"STORES": {"test": {"SIGN_VALUES": False}}}


@pytest.mark.parametrize("serializer, value", [("bytes", b"\x00\xffdata"), ("json", [1, "two"])])
def test_an_unsigned_store_writes_code_free_values_without_a_mac(db, settings, serializer, value):
    settings.KEYVAL = UNSIGNED_STORE
    kv = KeyVal("test", serializer=serializer)
    kv.set("k", value)
    kv.set_many({"m": value})
    assert stored_row("test", "k").mac is None
    assert stored_row("test", "m").mac is None
    assert kv.get("k") == value
    assert kv.get_many(["k", "m"]) == {"k": value, "m": value}
    assert dict(kv.items()) == {"k": value, "m": value}


def test_an_unsigned_store_still_signs_pickles(kv, settings):
    settings.KEYVAL = UNSIGNED_STORE
    kv.set("k", {"a": (1, 2)})
    assert stored_row("test", "k").mac is not None
    assert kv.get("k") == {"a": (1, 2)}


def test_other_stores_still_sign_bytes(db, settings):
    settings.KEYVAL = UNSIGNED_STORE
    KeyVal("other", serializer="bytes").set("k", b"data")
    assert stored_row("other", "k").mac is not None


def test_an_unsigned_store_reads_a_changed_bytes_value_as_it_is(db, settings):
    settings.KEYVAL = UNSIGNED_STORE
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", b"data")
    tamper("test", "k", value=b"changed")
    assert kv.get("k") == b"changed"


def test_an_unsigned_store_still_checks_its_signed_rows(db):
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", b"signed before")
    row = stored_row("test", "k")
    with override_settings(KEYVAL=UNSIGNED_STORE):
        assert kv.get("k") == b"signed before"
        tamper("test", "k", value=b"signed befor!", mac=bytes(row.mac))
        with pytest.raises(CorruptValue):
            kv.get("k")


@read_params()
def test_an_unsigned_store_never_unpickles_an_unsigned_row(kv, pwned, read, settings):
    settings.KEYVAL = UNSIGNED_STORE
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    with pytest.raises(CorruptValue):
        read(kv)
    assert not pwned.exists()


def test_an_unsigned_bytes_row_relabelled_as_pickle_is_refused(db, settings, pwned):
    settings.KEYVAL = UNSIGNED_STORE
    KeyVal("test", serializer="bytes").set("k", b"data")
    tamper("test", "k", value=pickle.dumps(Exploit(pwned)), serializer="pickle")
    with pytest.raises(CorruptValue):
        KeyVal("test", serializer="bytes").get("k")
    assert not pwned.exists()


def test_an_unsigned_store_with_a_local_cache_reads_its_unsigned_rows(db, settings):
    settings.KEYVAL = {"STORES": {"test": {"SIGN_VALUES": False, "LOCAL_CACHE": True}}}
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", b"data")
    assert kv.get("k") == b"data"
    assert kv.get("k") == b"data"


@pytest.mark.parametrize("value", ["no", 0, None])
def test_a_bad_store_sign_values_is_e017(settings, value):
    settings.KEYVAL = {"STORES": {"s": {"SIGN_VALUES": value}}}
    (message,) = check_settings()
    assert message.id == "django_keyval.E017"
    assert message.msg == "KEYVAL['STORES']['s']['SIGN_VALUES'] must be True or False."


# Rows that are signed but cannot be decoded


@pytest.mark.parametrize(
    "tag",
    ["nope.Missing", "nope", "", "tests.test_signing.Exploit", "os.path.join", "builtins.object"],
    ids=["missing_module", "unknown_name", "empty", "not_a_serializer", "function", "object"],
)
def test_signed_row_with_an_unknown_serializer_raises_corruptvalue(kv, tag):
    payload = pickle.dumps("value")
    write_row("test", "k", payload, tag, mac_of("test", "k", tag, payload))
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_signed_row_with_an_unknown_serializer_message_names_it(kv):
    payload = b"data"
    write_row("test", "k", payload, "nope.Missing", mac_of("test", "k", "nope.Missing", payload))
    with pytest.raises(CorruptValue) as excinfo:
        kv.get("k")
    assert "nope.Missing" in str(excinfo.value)


@pytest.mark.parametrize(
    ("tag", "payload"),
    [
        ("pickle", b"not a pickle"),
        ("pickle", b""),
        ("pickle", pickle.dumps("value")[:-3]),
        ("json", b"{not json"),
        ("json", b"\xff\xfe"),
        ("tests.test_signing.FailingSerializer", b"data"),
    ],
    ids=[
        "pickle_garbage",
        "pickle_empty",
        "pickle_truncated",
        "json_garbage",
        "json_bad_utf8",
        "custom",
    ],
)
def test_signed_row_that_fails_to_decode_raises_corruptvalue(kv, tag, payload):
    write_row("test", "k", payload, tag, mac_of("test", "k", tag, payload))
    with pytest.raises(CorruptValue):
        kv.get("k")


def test_signed_row_with_an_unknown_serializer_is_refused_by_items(kv):
    write_row("test", "k", b"data", "nope.Missing", mac_of("test", "k", "nope.Missing", b"data"))
    with pytest.raises(CorruptValue):
        list(kv.items())


def test_json_project_without_signing_never_unpickles_a_forged_row(kv, pwned, settings):
    settings.KEYVAL = {"SERIALIZER": "json", "SIGN_VALUES": False}
    write_forged_row(pwned, FORGED_MACS["no_mac"])
    with pytest.raises(CorruptValue):
        kv.get("k")
    assert not pwned.exists()


# Small payloads are signed with keyed BLAKE2b, the others with HMAC-SHA256.

AROUND_THE_SWITCH = [1, SMALL_PAYLOAD - 1, SMALL_PAYLOAD, SMALL_PAYLOAD + 1, 100_000]


@pytest.mark.parametrize("size", AROUND_THE_SWITCH)
def test_values_either_side_of_the_mac_switch_are_read_back(size):
    kv = KeyVal("test", serializer="bytes")
    value = os.urandom(size)
    kv.set("k", value)
    assert kv.get("k") == value
    assert kv.get_many(["k"]) == {"k": value}
    assert bytes(stored_row("test", "k").mac) == mac_of("test", "k", "bytes", value)


@pytest.mark.parametrize("size", AROUND_THE_SWITCH)
def test_values_either_side_of_the_mac_switch_are_refused_when_tampered(size):
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", os.urandom(size))
    payload = bytearray(stored_row("test", "k").value)
    payload[size // 2] ^= 0x01
    tamper("test", "k", value=bytes(payload))
    with pytest.raises(CorruptValue):
        kv.get("k")
    with pytest.raises(CorruptValue):
        kv.get_many(["k"])


def test_a_payload_cut_below_the_mac_switch_is_refused():
    kv = KeyVal("test", serializer="bytes")
    kv.set("k", os.urandom(SMALL_PAYLOAD))
    tamper("test", "k", value=bytes(stored_row("test", "k").value)[:-1])
    with pytest.raises(CorruptValue):
        kv.get("k")


@pytest.mark.parametrize("size", [10, 100_000])
def test_both_macs_read_through_the_fallback_after_rotation(size, settings):
    kv = KeyVal("test", serializer="bytes")
    value = os.urandom(size)
    settings.SECRET_KEY = "old"
    kv.set("k", value)
    settings.SECRET_KEY = "new"
    settings.SECRET_KEY_FALLBACKS = ["old"]
    assert kv.get("k") == value
    assert kv.get_many(["k"]) == {"k": value}
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(CorruptValue):
        kv.get("k")


@pytest.mark.parametrize("size", [0, SMALL_PAYLOAD - 1, SMALL_PAYLOAD, 70_000])
def test_stored_signatures_follow_the_documented_format(size, settings):
    # Rows stay readable from version to version only while this holds.
    import hashlib
    import hmac
    import struct

    value = os.urandom(size)
    KeyVal("störe", serializer="bytes").set("kéy", value)
    salt, secret = b"django_keyval.signing.v2", settings.SECRET_KEY.encode()
    header = b"".join(
        struct.pack(">I", len(part)) + part for part in ("störe".encode(), "kéy".encode(), b"bytes")
    )
    if size < SMALL_PAYLOAD:
        key = hashlib.sha256(salt + b".blake2b." + secret).digest()
        expected = hashlib.blake2b(header + value, key=key, digest_size=32).digest()
    else:
        key = hashlib.sha256(salt + b".hmac-sha256." + secret).digest()
        expected = hmac.new(key, header + value, hashlib.sha256).digest()
    assert bytes(stored_row("störe", "kéy").mac) == expected
