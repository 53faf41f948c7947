"""Source distributions of other projects, downloaded from PyPI when the tests run.

Their test suites are run against our backends but never copied into this
repository: ``unpacked_sdist("minimalkv")`` downloads the sdist of the
installed version once (``pip download``) into a cache outside the checkout
and returns the folder it unpacks to. Without network access (or without the
packages the suite imports) the tests that need it are skipped, except on CI
(``CI=true``), where that is an error.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "django-keyval-sdists"


def unavailable(reason: str) -> NoReturn:
    """Skip the calling module for ``reason``; on CI (``CI=true``) fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the upstream suite must run)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(module: str) -> ModuleType:
    """Import ``module``, or skip the calling module without it (fail on CI)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        unavailable(f"{module} is not installed ({exc}): pip install -e . --group test")


def unpacked_sdist(project: str) -> Path:
    """Return the unpacked sdist of the installed version of ``project``, downloading it once."""
    try:
        version = importlib.metadata.version(project)
    except importlib.metadata.PackageNotFoundError:
        unavailable(f"{project} is not installed: pip install -e . --group test")
    folder = CACHE / f"{project}-{version}"
    unpacked = folder / "unpacked"
    if not unpacked.is_dir():
        # Downloaded and unpacked beside its final place, then renamed: runs side by side
        # (pytest -n) never see half a file or folder (the first rename wins; the others
        # drop their copies).
        partial = folder / f"partial-{os.getpid()}"
        partial.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
        command += ["--no-binary", ":all:", "-d", str(partial), f"{project}=={version}"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = sorted(partial.glob("*.tar.gz"))
        if result.returncode or not archives:
            shutil.rmtree(partial, ignore_errors=True)
            unavailable(
                f"cannot download the sdist of {project}=={version}: {result.stderr.strip()}"
            )
        # The "data" filter (refusing links and paths out of the folder) is in every
        # Python this project supports but the oldest 3.10 and 3.11 patch releases.
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        with tarfile.open(archives[0]) as archive:
            archive.extractall(partial / "tree", **safe)
        (top,) = (partial / "tree").iterdir()
        with contextlib.suppress(OSError):
            top.rename(unpacked)
        shutil.rmtree(partial, ignore_errors=True)
    return unpacked


def load_module(name: str, path: Path) -> ModuleType:
    """Import the file ``path`` as the module ``name`` (made known in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
