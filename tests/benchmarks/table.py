"""The tables of docs/performance.rst from benchmark reports.

``python -m tests.benchmarks.table sqlite.json postgresql.json mysql.json``
prints tables of django_keyval and DatabaseCache compared with the plain table
(``tests/benchmarks/plain.py``) and with raw DB-API code on django_keyval's
own table: a row per phase, a column per database, each cell the median ratio
with the lowest and highest round in brackets.
"""

from __future__ import annotations

import json
import sys
from typing import Any

DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB"}


# The reference a ratio is taken to: the key of its figures in a report's phases.
REFERENCES = {"plain": "plain_ratio", "raw": "ratio"}
TITLES = {
    "plain": "{system}, as a fraction of the plain table:",
    "raw": "{system}, as a fraction of raw DB-API code on django_keyval's table:",
}


def cell(phase: dict[str, Any], system: str, reference: str) -> str:
    result = phase["systems"].get(system)
    if result is None:
        return "—"
    field = REFERENCES[reference]
    return (
        f"{result['median_' + field]:.2f} "
        f"({result['min_' + field]:.2f}–{result['max_' + field]:.2f})"
    )


def table(reports: list[dict[str, Any]], system: str, reference: str = "plain") -> str:
    """Return an RST grid table of ``system``'s ratios to ``reference`` in ``reports``."""
    header = ["Operation", *(DATABASE_NAMES[report["vendor"]] for report in reports)]
    rows = [
        [
            phase["label"],
            *(cell(report["phases"][name], system, reference) for report in reports),
        ]
        for name, phase in reports[0]["phases"].items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(char: str) -> str:
        return "+" + "+".join(char * (width + 2) for width in widths) + "+"

    def text(row: list[str]) -> str:
        return (
            "|"
            + "|".join(f" {value:<{width}} " for value, width in zip(row, widths, strict=True))
            + "|"
        )

    out = [line("-"), text(header), line("=")]
    for row in rows:
        out += [text(row), line("-")]
    return "\n".join(out)


def main(paths: list[str]) -> int:
    reports = []
    for path in paths:
        with open(path) as file:
            report = json.load(file)
        report["vendor"] = report["machine"]["database"].split()[0].lower().split("/")[0]
        if report["vendor"] == "mariadb":
            report["vendor"] = "mysql"
        reports.append(report)
    for reference in REFERENCES:
        for system in ("django_keyval", "DatabaseCache"):
            print(TITLES[reference].format(system=system) + "\n")
            print(table(reports, system, reference))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
