"""Pinning the benchmark and the server threads it talks to onto fixed CPUs.

On a small virtual machine a round trip on loopback takes one of two times,
depending on where the scheduler puts the two ends: about 20 µs when the
client and the server thread share a CPU (a direct switch from one to the
other), about 60 µs when they are on different CPUs (the server's CPU has to
be woken up). Which one a connection gets changes from connection to
connection and from minute to minute, so two connections of one run can
differ by a factor of three for reasons that have nothing to do with the
code being measured. Pinning every connection of the run the same way takes
that out: all systems then pay the same round trip.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable

MODES = ("split", "shared", "none")


def pin(mode: str, server_threads: Iterable[int | None]) -> tuple[str, Callable[[], None]]:
    """Pin this process and ``server_threads`` as ``mode`` says; return a description
    and a function that undoes it.

    ``split``: this process on the first CPU, the server threads on the
    second, as when the database runs on a machine of its own. ``shared``:
    all on the first CPU. ``none``: leave the scheduler alone.
    """
    cpus = sorted(os.sched_getaffinity(0))
    threads = [thread for thread in server_threads if thread is not None]
    if not threads:
        return "not pinned (the database runs in this process)", lambda: None
    if mode == "none" or len(cpus) < 2:
        return "not pinned", lambda: None
    client_cpu, server_cpu = cpus[0], cpus[1] if mode == "split" else cpus[0]
    saved: dict[int, set[int]] = {}
    try:
        for thread in [0, *threads]:
            saved[thread] = os.sched_getaffinity(thread)
            os.sched_setaffinity(thread, {client_cpu if thread == 0 else server_cpu})
    except OSError as exc:  # Not allowed (the server runs as another user), or gone.
        _restore(saved)
        return f"not pinned ({exc.strerror})", lambda: None
    where = "its own" if mode == "split" else "the same"
    description = (
        f"pinned: this process on CPU {client_cpu}, the server's threads for its "
        f"{len(threads)} connections on {where} CPU ({server_cpu})"
    )
    return description, lambda: _restore(saved)


def _restore(saved: dict[int, set[int]]) -> None:
    for thread, cpus in saved.items():
        # The connection, and its server thread, may be gone already.
        with contextlib.suppress(OSError):
            os.sched_setaffinity(thread, cpus)
