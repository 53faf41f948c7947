"""Check the django-keyval installed from the wheel: run with that environment's Python.

``.ci/run wheel`` runs it outside the checkout, so that nothing there shadows the
installed package. It fails unless django_keyval was imported from site-packages, has
its ``py.typed`` and migrations, and the wheel installed nothing beside the package
and its metadata.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import sys
from pathlib import Path

import django_keyval

DISTRIBUTION = "django-keyval"
REQUIRED_FILES = ("py.typed", "migrations/__init__.py", "migrations/0001_initial.py")


def problems() -> list[str]:
    """Return what is wrong with the installed package; empty when all is well."""
    package = Path(django_keyval.__file__).parent
    if "site-packages" not in package.parts:
        return [f"django_keyval was imported from {package}, not from the installed wheel"]
    found: list[str] = []
    files = importlib.resources.files("django_keyval")
    missing = [name for name in REQUIRED_FILES if not files.joinpath(name).is_file()]
    if missing:
        found.append(f"missing from the installed wheel: {', '.join(missing)}")
    version = importlib.metadata.version(DISTRIBUTION)
    allowed = {"django_keyval", f"django_keyval-{version}.dist-info"}
    installed = {path.parts[0] for path in importlib.metadata.files(DISTRIBUTION) or []}
    stray = sorted(installed - allowed)
    if stray:
        found.append(f"the wheel installs more than the package: {', '.join(stray)}")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        return 1
    package = Path(django_keyval.__file__).parent
    print(f"installed package at {package} has py.typed and its migrations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
