"""``django_keyval.testing.override_keyval`` and the ``keyval_override`` pytest fixture."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from django_keyval import KeyVal, config
from django_keyval.testing import override_keyval
from tests.settings_helpers import declare

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def declared(settings: Any) -> None:
    declare(settings)


def test_context_manager_restores_values_absence_and_ttl() -> None:
    kv = KeyVal("flags")
    kv.set("kept", "old", ttl=600)
    with override_keyval("flags", kept="new", added=1):
        assert kv.get("kept") == "new"
        assert kv.get("added") == 1
        assert kv.ttl("kept") is None
    assert kv.get("kept") == "old"
    assert 590 < kv.ttl("kept") <= 600
    assert not kv.exists("added")


def test_declared_settings() -> None:
    config.GREETING = "saved"
    with override_keyval(THEME="dark", GREETING="hi"):
        assert config.THEME == "dark"
        assert config.GREETING == "hi"
    assert config.THEME == "light"
    assert config.GREETING == "saved"
    assert not KeyVal("settings").exists("THEME")


def test_bad_values_are_refused_before_any_write() -> None:
    with (
        pytest.raises(TypeError, match="MAX_UPLOAD_MB"),
        override_keyval(THEME="dark", MAX_UPLOAD_MB="x"),
    ):
        pass
    with pytest.raises(AttributeError, match="NOPE"), override_keyval(NOPE=1):
        pass
    assert KeyVal("settings").count() == 0


def test_restored_after_an_exception() -> None:
    with pytest.raises(RuntimeError), override_keyval(THEME="dark"):
        raise RuntimeError
    assert config.THEME == "light"


@override_keyval(MAINTENANCE_MODE=True)
def test_decorated_function() -> None:
    assert config.MAINTENANCE_MODE is True


def test_decorated_coroutine_function() -> None:
    @override_keyval(THEME="dark")
    async def read() -> str:
        return str(await config.aget("THEME"))

    assert async_to_sync(read)() == "dark"
    assert config.THEME == "light"


@override_keyval("flags", beta=True)
class TestDecoratedClass:
    def test_one(self) -> None:
        assert KeyVal("flags").get("beta") is True

    def test_two(self) -> None:
        assert KeyVal("flags").get("beta") is True


def test_nested_overrides() -> None:
    with override_keyval(THEME="dark"):
        with override_keyval(THEME="light", GREETING="x"):
            assert config.THEME == "light"
        assert config.THEME == "dark"
        assert config.GREETING == "hello"
    assert KeyVal("settings").count() == 0


def test_the_fixture(keyval_override: Any) -> None:
    keyval_override(MAINTENANCE_MODE=True)
    keyval_override("flags", beta=True)
    assert config.MAINTENANCE_MODE is True
    assert KeyVal("flags").get("beta") is True


def test_the_fixture_restored() -> None:
    # Runs after test_the_fixture (pytest-randomly off) or before: either way nothing is left.
    assert KeyVal("flags").count() == 0
    assert config.MAINTENANCE_MODE is False


@pytest.mark.django_db(transaction=True)
def test_reads_in_a_snapshot_cost_no_query_under_an_override(
    django_assert_num_queries: Any,
) -> None:
    with override_keyval(MAINTENANCE_MODE=True), KeyVal.snapshot():
        assert config.MAINTENANCE_MODE is True
        with django_assert_num_queries(0):
            for _ in range(10):
                assert config.MAINTENANCE_MODE is True
                assert config.THEME == "light"
    assert KeyVal("settings").count() == 0
