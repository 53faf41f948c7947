"""Django's own cache tests (``tests/cache/`` of the installed Django's source distribution).

They are not on the path of an installed Django: the source distribution of the
installed version is downloaded from PyPI with pip when the tests first run, and
its ``tests/cache/`` kept under ``~/.cache/django-keyval/`` (or
``$KEYVAL_DJANGO_TESTS_CACHE``), never in the repository. tests/settings.py puts
that folder on ``sys.path`` so that it imports as the app ``cache``, as in
Django's own test runner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django

CACHE_ROOT = Path(
    os.environ.get("KEYVAL_DJANGO_TESTS_CACHE", Path.home() / ".cache" / "django-keyval")
)
DOWNLOAD_TIMEOUT = 300  # seconds


def tests_dir(version: str = django.__version__) -> Path:
    """Return the folder holding Django ``version``'s ``cache`` test package, downloading
    it first if needed. Raise ``RuntimeError`` saying why when it cannot be had."""
    target = CACHE_ROOT / f"django-{version}" / "tests"
    if (target / "cache" / "tests.py").is_file():
        return target
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_ROOT) as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", f"django=={version}", "--dest", tmp,
        ]  # fmt: skip
        try:
            subprocess.run(
                command, check=True, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT
            )
        except (OSError, subprocess.SubprocessError) as exc:
            stderr = getattr(exc, "stderr", None) or ""
            raise RuntimeError(
                f"cannot download Django {version}'s source distribution with pip "
                f"({exc}{': ' + stderr.strip().splitlines()[-1] if stderr.strip() else ''})"
            ) from exc
        sdists = sorted(Path(tmp).glob("*.tar.gz"))
        if not sdists:
            raise RuntimeError(f"pip downloaded no source distribution of Django {version}")
        staging = Path(tmp) / "tests"
        _extract_cache_tests(sdists[0], staging / "cache")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(target)
        except OSError:
            # Another run put it in place meanwhile.
            if not (target / "cache" / "tests.py").is_file():
                raise
    return target


def _extract_cache_tests(sdist: Path, destination: Path) -> None:
    """Copy the files of ``<top>/tests/cache/`` in the tarball ``sdist`` to ``destination``."""
    destination.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.isfile() and parts[1:3] == ("tests", "cache") and len(parts) == 4:
                source = tar.extractfile(member)
                assert source is not None
                with source, open(destination / parts[3], "wb") as out:
                    shutil.copyfileobj(source, out)
    if not (destination / "tests.py").is_file():
        raise RuntimeError(f"{sdist.name} has no tests/cache/tests.py")


# Set when the download failed, so that the processes the tests start (which import
# tests.settings too) do not try again.
UNAVAILABLE = "KEYVAL_DJANGO_TESTS_UNAVAILABLE"


def install() -> str | None:
    """Put Django's cache tests on ``sys.path``; return None, or why they are unavailable."""
    if os.environ.get(UNAVAILABLE):
        return os.environ[UNAVAILABLE]
    try:
        path = tests_dir()
    except RuntimeError as exc:
        os.environ[UNAVAILABLE] = str(exc)
        return str(exc)
    if str(path) not in sys.path:
        sys.path.append(str(path))
    return None
