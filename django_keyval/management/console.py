"""The terminal and file plumbing of manage.py keyval: progress, argument errors, files."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, NoReturn

from django.core.management.base import CommandError, CommandParser, OutputWrapper

# A progress line shows once a run has lasted PROGRESS_AFTER seconds; redrawn every PROGRESS_EVERY.
PROGRESS_AFTER = 1.0
PROGRESS_EVERY = 0.2


class Progress:
    """A progress line on a terminal, redrawn in place; silent for short runs and when piped.

    ``stream`` None draws nothing. ``unit`` is a noun for counts ("entries"), or "MiB"
    for counts of bytes.
    """

    def __init__(self, stream: OutputWrapper | None, label: str, total: int | None, unit: str):
        self._stream, self._label, self._total, self._unit = stream, label, total, unit
        self._next = time.monotonic() + PROGRESS_AFTER
        self._done, self._shown = 0, False

    def update(self, done: int) -> None:
        self._done = done
        if self._stream is not None and time.monotonic() >= self._next:
            self._next = time.monotonic() + PROGRESS_EVERY
            self._draw()

    def close(self) -> None:
        if self._shown:
            self._draw()
            self._write("\n")

    def _draw(self) -> None:
        def amount(count: int) -> str:
            return f"{count / 2**20:,.1f}" if self._unit == "MiB" else f"{count:,}"

        text = f"{amount(self._done)} {self._unit}"
        if self._total:
            share = min(self._done / self._total, 1.0)
            text = f"[{'#' * int(share * 30):<30}] {int(share * 100):3d}% {amount(self._done)} "
            text += f"of {amount(self._total)} {self._unit}"
        self._write(f"\r{self._label}: {text}")
        self._shown = True

    def _write(self, text: str) -> None:
        assert self._stream is not None
        # Not in stderr's error style, and no line ending but our own.
        self._stream.write(text, style_func=lambda text: text, ending="")
        self._stream.flush()


class OneLineErrorParser(CommandParser):
    """A parser that reports a bad argument in one line, without argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        super().error(message)
        raise AssertionError  # CommandParser.error() raises CommandError.


@contextmanager
def open_output(path: str | None, stdout: OutputWrapper) -> Iterator[Callable[[str], object]]:
    """Yield a function that writes text to the file ``path``, or to ``stdout`` for None or "-".

    A file is written beside ``path``, then renamed over it: never a half-written
    file. It holds every value, so only its owner may read it (mkstemp's mode 0600).
    """
    if path in (None, "-"):
        yield from _stdout_writer(stdout)
        return
    directory, name = os.path.split(os.path.abspath(path))
    try:
        file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, then renamed
            "w", encoding="utf-8", newline="", dir=directory, prefix=f".{name}.", delete=False
        )
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    try:
        with file:
            yield file.write
        os.replace(file.name, path)
    except BaseException as exc:
        os.unlink(file.name)
        if isinstance(exc, OSError):
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from None
        raise


def _stdout_writer(stdout: OutputWrapper) -> Iterator[Callable[[str], object]]:
    buffer = getattr(stdout, "buffer", None)
    if buffer is None:  # A StringIO, from call_command(stdout=...).
        yield lambda text: stdout.write(text, ending="")
        return
    stdout.flush()
    try:
        # Bytes, so that the output is UTF-8 whatever the locale's encoding.
        yield lambda text: buffer.write(text.encode())
        buffer.flush()
    except BrokenPipeError:
        # The reader went away (| head): stop, and let nothing flush to it at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        raise CommandError("Export stopped: the output was closed.") from None


@contextmanager
def open_input(path: str, stdin: IO[bytes] | None) -> Iterator[tuple[IO[bytes], int | None]]:
    """Yield the binary file ``path`` (stdin for "-") and its size, if it has one."""
    if path == "-":
        yield sys.stdin.buffer if stdin is None else stdin, None
        return
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    with file:
        yield file, os.fstat(file.fileno()).st_size


def counted(lines: Iterable[bytes], progress: Progress, path: str) -> Iterator[bytes]:
    """Yield ``lines``, reporting the bytes read so far to ``progress``."""
    read = 0
    try:
        for line in lines:
            read += len(line)
            progress.update(read)
            yield line
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
