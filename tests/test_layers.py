"""DESIGN.md "Layout": one folder per layer, arrows point down only.

Every import of every .py file is read with `ast` (also imports inside functions), so a lazy import
cannot hide a dependency on a higher layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "processor": {"flask", "sqlalchemy", "alembic", "storage", "web"},
    "forms": {"flask", "sqlalchemy", "alembic", "storage", "web", "processor"},
    "schemas": {"flask", "sqlalchemy", "alembic", "storage", "web", "processor"},
    "storage": {"web", "flask"},
}


def _dynamic_import(node: ast.AST) -> bool:
    """`importlib.import_module("x")` or `__import__("x")` with a literal name."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    name = getattr(node.func, "attr", getattr(node.func, "id", ""))
    first = node.args[0]
    return (
        name in ("import_module", "__import__")
        and isinstance(first, ast.Constant)
        and (isinstance(first.value, str))
    )


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Top-level names of every module the file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = path.relative_to(root).parent.parts
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                out.add(base[0] if base else (node.module or "").split(".")[0])
            elif node.module:
                out.add(node.module.split(".")[0])
        elif _dynamic_import(node):
            out.add(node.args[0].value.split(".")[0])
    return out


def _files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


CASES = [(layer, p) for layer in FORBIDDEN for p in _files(layer)]


def test_every_layer_has_python_files():
    for layer in ("processor", "forms", "schemas"):
        assert _files(layer), layer


@pytest.mark.parametrize(("layer", "path"), CASES, ids=[str(p.relative_to(ROOT)) for _, p in CASES])
def test_layer_imports_nothing_above_it(layer, path):
    bad = imported_modules(path) & FORBIDDEN[layer]
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_import_reader_sees_lazy_relative_and_dynamic_imports(tmp_path):
    probe = tmp_path / "processor" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "def f():\n    import flask.views\n    from sqlalchemy.orm import Session\n"
        "from . import ingest\nimport importlib\nimportlib.import_module('web.cli')\n",
        "utf-8",
    )
    assert imported_modules(probe, tmp_path) >= {"flask", "sqlalchemy", "processor", "web"}
