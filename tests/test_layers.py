"""DESIGN.md "Layout": one folder per layer, arrows point down only.

Every import of every .py file is read with `ast` (also imports inside functions), so a lazy import
cannot hide a dependency on a higher layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "processor": {"flask", "sqlalchemy", "alembic", "storage", "services", "web"},
    "forms": {"flask", "sqlalchemy", "alembic", "storage", "services", "web", "processor"},
    "schemas": {"flask", "sqlalchemy", "alembic", "storage", "services", "web", "processor"},
    "storage": {"web", "flask", "services"},
    "services": {"web", "flask", "sqlalchemy", "alembic"},
}
# Services reach their tables through the repositories of the unit of work (storage/): no file is
# exempt (services/figures.py, the last one, reaches its tables through `uow.figures` now).
EXEMPT: dict[str, set[str]] = {}


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
    allowed = EXEMPT.get(path.relative_to(ROOT).as_posix(), set())
    bad = imported_modules(path) & FORBIDDEN[layer] - allowed
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


# ---- issue #12: no private names across modules, no import cycles --------------------------------

PACKAGES = ("forms", "processor", "schemas", "services", "storage", "web")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path, root: Path) -> str:
    name = module_name(path, root)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _from_module(node: ast.ImportFrom, path: Path, root: Path) -> str:
    """The absolute module name of `from X import ...` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = _package_of(path, root).split(".")
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _is_submodule(package: str, name: str, root: Path) -> bool:
    folder = root.joinpath(*package.split("."))
    return (
        (folder / f"{name}.py").exists()
        or any(folder.glob(f"{name}.*"))
        or (folder / name).is_dir()
    )


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def private_uses(path: Path, root: Path = ROOT) -> list[str]:
    """`from x import _name` and `module._name` where x or module is another module of the five
    packages. A private submodule of the file's own package (`from processor import _ctree`)
    is the package's own business and allowed."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    me, my_package = module_name(path, root), _package_of(path, root)
    modules: dict[str, str] = {}  # local name -> module of ours it stands for
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    local = alias.asname or alias.name.split(".")[0]
                    modules[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            source = _from_module(node, path, root)
            if not _ours(source):
                continue
            for alias in node.names:
                sub = _is_submodule(source, alias.name, root)
                if sub:
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and not (sub and source == my_package):
                    out.append(f"{node.lineno}: from {source} import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            target = modules.get(node.value.id) if isinstance(node.value, ast.Name) else None
            if target is not None and target != me:
                out.append(f"{node.lineno}: {node.value.id}.{node.attr} ({target})")
    return out


SOURCES = [p for pkg in PACKAGES for p in _files(pkg)]


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_private_name_is_used_across_modules(path):
    assert private_uses(path) == []


def test_the_private_reader_sees_from_imports_and_module_attributes(tmp_path):
    for pkg in ("storage", "processor"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("", "utf-8")
    (tmp_path / "storage" / "services.py").write_text("def _move(): pass\n", "utf-8")
    (tmp_path / "processor" / "_ctree.py").write_text("", "utf-8")
    probe = tmp_path / "storage" / "probe.py"
    probe.write_text(
        "from storage.services import _move, visible\n"
        "from processor import _ctree\n"
        "def f():\n    from storage import services\n    return services._suffix('a')\n",
        "utf-8",
    )
    found = private_uses(probe, tmp_path)
    assert len(found) == 3 and "from storage.services import _move" in found[0]
    assert any("services._suffix" in f for f in found)
    assert any("_ctree" in f for f in found)  # another package's private module
    own = tmp_path / "processor" / "ooxml.py"
    own.write_text("from processor import _ctree\n_ctree.scan\n", "utf-8")
    assert private_uses(own, tmp_path) == []


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of the five packages it imports, lazily or not."""
    paths = {
        module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))
    }

    def resolve(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in paths}
    for me, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _from_module(node, path, root)
                names = [f"{source}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if _ours(name) else None
                if target and target != me:
                    graph[me].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(frozenset(component))
    return out


# Import cycles, lazy ones included: none is allowed. A cycle that must exist is listed here with
# its reason; a new cycle, or a listed one that grows or goes away, fails the test.
ALLOWED_CYCLES: set[frozenset[str]] = set()  # none left (issue #12)


def test_no_import_cycles_beyond_the_allowed_ones():
    found = set(import_cycles(import_graph()))
    assert {tuple(sorted(c)) for c in found - ALLOWED_CYCLES} == set(), "new import cycle"
    assert {tuple(sorted(c)) for c in ALLOWED_CYCLES - found} == set(), "gone: shrink the list"


def test_the_cycle_finder_finds_a_lazy_cycle(tmp_path):
    (tmp_path / "storage").mkdir()
    for name, text in {
        "__init__": "",
        "a": "from storage import b\n",
        "b": "def f():\n    from storage.c import x\n",
        "c": "import storage.a\nx = 1\n",
        "d": "from storage import a\n",
    }.items():
        (tmp_path / "storage" / f"{name}.py").write_text(text, "utf-8")
    cycles = import_cycles(import_graph(tmp_path))
    assert cycles == [frozenset({"storage.a", "storage.b", "storage.c"})]


# ---- issue #12: the domain words have one home (processor/domain.py) -----------------------------

CASE_NAME = re.compile(r"case|resubmit", re.IGNORECASE)
HF_NAME = re.compile(r"(^|[^a-z])hf([^a-z]|$)", re.IGNORECASE)


def _upper_of(node: ast.AST) -> ast.expr | None:
    """`X` of `X.upper()` or `X.strip().upper()`."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "upper"
        and not node.args
    ):
        return None
    inner = node.func.value
    if (
        isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Attribute)
        and inner.func.attr == "strip"
        and not inner.args
    ):
        return inner.func.value
    return inner


def key_copies(path: Path) -> list[str]:
    """Case ids and HF codes made canonical by hand instead of `domain.case_key`/`hf_code`:
    `.upper()` (with or without `.strip()`) of an expression that names a case, and
    `.strip().upper()` of one that names an HF."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        target = _upper_of(node)
        if target is None:
            continue
        text = ast.unparse(target)
        stripped = ast.unparse(node).endswith(".strip().upper()")
        if CASE_NAME.search(text) or (stripped and HF_NAME.search(text)):
            out.append(f"{node.lineno}: {ast.unparse(node)}")
    return out


# Modules that may hold these by hand, each with its reason.
KEY_COPIES_ALLOWED = {
    "processor/domain.py": "the home of case_key and hf_code",
}


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_case_ids_and_hf_codes_are_read_by_the_domain(path):
    if str(path.relative_to(ROOT)) in KEY_COPIES_ALLOWED:
        return
    found = key_copies(path)
    assert found == [], "use processor.domain.case_key (case ids) or hf_code (HF codes)"


def _domain_ids() -> frozenset[str]:
    from processor.domain import FormType, Role, State

    # a state id that is also a role id (`priskontroll`) says nothing by itself: left out
    return frozenset(FormType) | (frozenset(State) - frozenset(Role))


# Where a form-type or state id may be written as a string, each with its reason. A folder ends
# with "/"; a (file, literal) pair allows only that literal.
LITERALS_ALLOWED: dict[str | tuple[str, str], str] = {
    "processor/domain.py": "the home of the ids",
    "forms/": "the form definitions carry their own ids; below processor, they cannot import "
    "the domain (tests/test_domain.py holds FormType equal to forms.catalog.FORM_IDS)",
    "storage/migrations/": "history: a migration keeps the words of its day",
    ("web/minihta.py", "minihta"): "the blueprint's name (endpoint prefix), not a form type",
}


def _allowed(rel: str, value: str) -> bool:
    return any(
        (rel, value) == key if isinstance(key, tuple) else rel == key or rel.startswith(key)
        for key in LITERALS_ALLOWED
        if isinstance(key, tuple) or key.endswith("/") or key == rel
    )


def domain_literals(path: Path, ids: frozenset[str], root: Path = ROOT) -> list[str]:
    """String constants equal to a form-type or state id, except dictionary keys and subscripts
    (API keys such as `"mottatt"` for a date or `"publisert"` for a list) and docstrings."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    keys: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys.update(id(k) for k in node.keys if k is not None)
        elif isinstance(node, ast.Subscript):
            keys.add(id(node.slice))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            keys.add(id(node.value))
    rel = str(path.relative_to(root))
    return [
        f"{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in ids
        and id(node) not in keys
        and not _allowed(rel, node.value)
    ]


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_form_types_and_states_are_named_by_the_domain(path):
    found = domain_literals(path, _domain_ids())
    assert found == [], "use processor.domain.FormType / State (or add a reason to the allow-list)"


def test_the_duplication_readers_see_copies(tmp_path):
    (tmp_path / "services").mkdir()
    probe = tmp_path / "services" / "probe.py"
    probe.write_text(
        "def f(case_id, hf, form, data):\n"
        "    a = case_id.strip().upper()\n"
        "    b = str(case.reference).upper()\n"
        "    c = hf.strip().upper()\n"
        "    d = form.name.upper()\n"  # not a case id nor an HF code
        "    if data.state == 'klar' and form.id in ('minihta', 'tilgang-del1'):\n"
        "        return {'mottatt': data['publisert'], 'x': 'priskontroll'}\n",
        "utf-8",
    )
    copies = key_copies(probe)
    assert [c.split(":")[0] for c in copies] == ["2", "3", "4"], copies
    found = domain_literals(probe, _domain_ids(), tmp_path)
    assert sorted(f.split(": ")[1] for f in found) == ["'klar'", "'minihta'", "'tilgang-del1'"]
    assert _allowed("web/minihta.py", "minihta") and not _allowed("web/minihta.py", "klar")
    assert _allowed("forms/tilgang.py", "tilgang-del2")
    assert not _allowed("services/minihta.py", "minihta")


# ---- issue #12: no lazy imports of our own modules in services/ ---------------------------------


def lazy_imports(path: Path, root: Path = ROOT) -> list[str]:
    """Imports of a module of the six packages made inside a function (or `importlib` /
    `__import__` there): `line: module`. A lazy import hides a dependency, and with it a cycle,
    from whoever reads the top of the file; third-party imports are not counted."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    out = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _from_module(node, path, root)
                names = [f"{source}.{alias.name}" for alias in node.names]
            elif _dynamic_import(node):
                names = [node.args[0].value]  # type: ignore[attr-defined]
            else:
                continue
            out.extend(f"{node.lineno}: {name}" for name in names if _ours(name))
    return sorted(set(out), key=lambda s: (int(s.partition(":")[0]), s))


SERVICES = _files("services")


@pytest.mark.parametrize("path", SERVICES, ids=[str(p.relative_to(ROOT)) for p in SERVICES])
def test_services_import_our_modules_at_the_top_only(path):
    assert lazy_imports(path) == []


def test_the_lazy_import_reader_sees_imports_in_functions_only(tmp_path):
    (tmp_path / "services").mkdir()
    probe = tmp_path / "services" / "probe.py"
    probe.write_text(
        "import json\nfrom services import steps\n"
        "def f():\n    from services import minihta\n    import yaml\n"
        "    return steps\n"
        "class C:\n    def g(self):\n        from . import cases\n"
        "        import storage.models\n"
        "async def h():\n    import importlib\n    importlib.import_module('processor.render')\n",
        "utf-8",
    )
    assert lazy_imports(probe, tmp_path) == [
        "4: services.minihta",
        "9: services.cases",
        "10: storage.models",
        "13: processor.render",
    ]


# ---- the environment is read in one place (issue 12) --------------------------------------------

# `web.settings.Settings.load` reads the environment; every other module is handed its values
ENVIRONMENT_READER = Path("web") / "settings.py"
_ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(path: Path) -> list[str]:
    """Every use of `os.environ`, `os.getenv` (and their kin) in the file, also imported by name."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in ("os", "posix")
        ):
            out.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            out.extend(
                f"{node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name in _ENV_NAMES
            )
    return out


ENV_SOURCES = [p for p in SOURCES if p.relative_to(ROOT) != ENVIRONMENT_READER]


@pytest.mark.parametrize("path", ENV_SOURCES, ids=[str(p.relative_to(ROOT)) for p in ENV_SOURCES])
def test_only_the_settings_module_reads_the_environment(path):
    assert environment_reads(path) == [], "read it in web/settings.py and pass the value down"


def test_the_environment_reader_finds_every_form(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\nfrom os import getenv as g, path\n"
        "a = os.environ.get('X')\nb = os.getenv('Y')\nos.environ['Z'] = '1'\n",
        "utf-8",
    )
    found = environment_reads(probe)
    assert len(found) == 4 and "from os import getenv" in found[0]
    assert (ROOT / ENVIRONMENT_READER).is_file() and environment_reads(ROOT / ENVIRONMENT_READER)
