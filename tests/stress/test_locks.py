"""The full-size lock run: 8 processes x 200 acquisitions of one lock, held in turn."""

from __future__ import annotations

import pytest

from tests.sql.test_lock_processes import check_turns, take_turns

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

ACQUISITIONS = 200


def test_eight_processes_take_one_lock_200_times_each_without_overlap():
    check_turns(take_turns(ACQUISITIONS), ACQUISITIONS)


def test_eight_async_processes_take_one_lock_200_times_each_without_overlap():
    check_turns(take_turns(ACQUISITIONS, asynchronous=True), ACQUISITIONS)
