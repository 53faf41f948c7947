"""The package's modules import one way: consumers -> facade -> codec -> sql -> model -> base.

Only imports that run when a module is imported count: an import inside a
function (a lazy one, such as ``models.KeyVal``) or under ``TYPE_CHECKING``
does not. ``python -m tests.test_layers`` prints the graph this test checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import django_keyval

# The package as imported: the checkout, or the installed wheel (.ci/run checks both).
PACKAGE = Path(django_keyval.__file__).resolve().parent

# Lowest first. A module may import from its own layer and the layers below it.
LAYERS: dict[str, tuple[str, ...]] = {
    "base": (
        "conf",
        "declared",
        "exceptions",
        "jsonvalues",
        "keys",
        "sentinels",
        "serializers",
        "signals",
        "storeconf",
        "ttl",
    ),
    "model": ("fields", "migrations", "models"),
    "sql": ("sql",),
    "codec": ("codec", "signing"),
    "facade": (
        "",
        "aio",
        "bulk",
        "changes",
        "handle",
        "live",
        "localcache",
        "locks",
        "retry",
        "routing",
        "store",
    ),
    "consumers": (
        "admin",
        "admin_routing",
        "apps",
        "cache",
        "checks",
        "contrib",
        "context_processors",
        "export_format",
        "forms",
        "management",
        "pytest_plugin",
        "testing",
        "transfer",
    ),
}
RANK = {name: rank for rank, name in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    """Return the dotted name of the module at ``path``, relative to the package."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """Return the layer of ``module`` (a name relative to the package, "" for the package)."""
    top = module.split(".", 1)[0]
    for layer, names in LAYERS.items():
        if top in names:
            return layer
    raise LookupError(f"django_keyval.{module} belongs to no layer: add it to LAYERS")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Return the imports of ``body`` that run on import, looking into if/try blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                found += _import_time_nodes(node.body) + _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found += _import_time_nodes(block)
            for handler in node.handlers:
                found += _import_time_nodes(handler.body)
    return found


def imports_of(path: Path) -> set[str]:
    """Return the modules of the package that ``path`` imports when it is imported
    (names relative to the package)."""
    found: set[str] = set()
    for node in _import_time_nodes(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            assert node.level == 0, f"{path}: use absolute imports"
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name == "django_keyval" or name.startswith("django_keyval."):
                found.add(name.removeprefix("django_keyval").removeprefix("."))
    return found


def graph() -> dict[str, set[str]]:
    """Return the package modules each module imports on import.

    ``from django_keyval.sql.rows import Encoded`` imports ``sql.rows``, and
    ``from django_keyval import signing`` imports ``signing``. (Python imports
    the parent packages first in both cases, whatever the module's layer: the
    package's ``__init__`` counts only where something is imported from it.)
    """
    paths = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    return {
        module: {name if name in paths else name.rpartition(".")[0] for name in imports_of(path)}
        - {module}
        for module, path in paths.items()
    }


def upward_imports() -> list[str]:
    return [
        f"django_keyval.{module or '__init__'} ({layer_of(module)}) imports "
        f"django_keyval.{target or '__init__'} ({layer_of(target)})"
        for module, targets in graph().items()
        for target in sorted(targets)
        if RANK[layer_of(target)] > RANK[layer_of(module)]
    ]


def test_every_module_has_a_layer() -> None:
    for module in graph():
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports() == []


def test_row_types_import_nothing_from_the_package() -> None:
    assert graph()["sql.rows"] == set()


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    source = "from django_keyval.store import KeyVal\n"
    assert imports_of(_write(tmp_path, source)) == {"store.KeyVal"}
    lazy = "def f():\n    from django_keyval.store import KeyVal\n"
    assert imports_of(_write(tmp_path, lazy)) == set()
    typing_only = "if TYPE_CHECKING:\n    from django_keyval.store import KeyVal\n"
    assert imports_of(_write(tmp_path, typing_only)) == set()


@pytest.mark.parametrize("module", ["store", "sql.base", "admin.entry_admin"])
def test_known_modules_sit_in_their_layers(module: str) -> None:
    expected = {"store": "facade", "sql.base": "sql", "admin.entry_admin": "consumers"}
    assert layer_of(module) == expected[module]


def _write(directory: Path, source: str) -> Path:
    path = directory / "module.py"
    path.write_text(source)
    return path


def main() -> None:
    """Print each module's layer and the package modules it imports on import."""
    edges = graph()
    for layer in reversed(LAYERS):
        print(f"{layer}:")
        for module in sorted(m for m in edges if layer_of(m) == layer):
            targets = ", ".join(sorted(t or "__init__" for t in edges[module])) or "-"
            print(f"  {module or '__init__'} -> {targets}")
    upward = upward_imports()
    print(f"{len(upward)} upward import(s)")
    for line in upward:
        print(f"  {line}")


if __name__ == "__main__":
    main()
