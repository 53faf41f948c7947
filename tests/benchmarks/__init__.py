"""Benchmarks of django_keyval against raw DB-API code and Django's DatabaseCache.

Run from the root of the repository, never as part of the test suite::

    python -m tests.benchmarks --db sqlite|postgres|mysql [--n N] [--scale]

Each run creates a database of its own (a temporary SQLite file, or a
``keyval_bench_<pid>`` database on the PostgreSQL or MariaDB/MySQL server that
the test suite uses) and drops it at the end.
"""
