"""The stress suite: hypothesis profiles, and the figures printed at the end of a run.

Run it with ``pytest -m stress tests/stress``; the default run leaves it out.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.processes import figures

# "ci" is deterministic (the same examples on every run, no example database);
# "dev" explores new examples on each run. Both try a few hundred per property.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Other tests fork processes too (tests/sql): say nothing on a run without the stress suite.
    ran_stress = any(
        isinstance(report, pytest.TestReport) and "stress" in report.keywords
        for reports in terminalreporter.stats.values()
        for report in reports
    )
    if figures and ran_stress:
        terminalreporter.section("stress figures")
        for name, number in sorted(figures.items()):
            terminalreporter.write_line(f"{name}: {number:,}")
