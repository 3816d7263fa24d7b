"""docs/architecture.md follows one upload, one decision and one notification file by file
(issue #12): every file, function and repository it names must exist, so that a rename that
forgets the document fails here instead of misleading the next newcomer."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.conftest import ROOT

DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("forms", "processor", "schemas", "services", "storage", "web", "tests")

_PATH = re.compile(r"\b((?:[a-z_]+/)+[a-z_]+\.py)\b")  # web/api.py, storage/uow.py
_CODE = re.compile(r"`([^`\n]+)`")
_FILE_NAME = re.compile(r"^((?:[a-z_]+/)+[a-z_]+\.py): (\w+)")  # `web/api.py: do_upload`
_MODULE_NAME = re.compile(r"^((?:[a-z_]+/)+[a-z_]+)\.(\w+)")  # `services/users.authenticate_token`
_SHORT_NAME = re.compile(r"^([a-z_]+)\.(\w+)$")  # `steps.move_case`, `findings.Limits`
_UOW = re.compile(r"^uow\.(\w+)(?:\.(\w+))?")  # `uow.cases.create`, `uow.outbox`
_WORD = re.compile(r"^\w+$")


@cache
def defined_names(path: Path) -> frozenset[str]:
    """Names a module defines at its top level: functions, classes, assignments, imports."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(out)


@cache
def _sources(root: Path) -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))]


@cache
def _all_words(root: Path) -> frozenset[str]:
    return frozenset(w for p in _sources(root) for w in re.findall(r"\w+", p.read_text("utf-8")))


def _defines(path: Path, name: str) -> bool:
    return path.is_file() and name in defined_names(path)


def unknown_names(text: str, root: Path = ROOT) -> list[str]:
    """What the document names that the code does not have."""
    out = [
        f"{p}: no such file" for p in sorted(set(_PATH.findall(text))) if not (root / p).is_file()
    ]
    storage_text = "\n".join(p.read_text("utf-8") for p in sorted((root / "storage").glob("*.py")))
    uow_text = (root / "storage" / "uow.py").read_text("utf-8")
    for token in sorted(set(_CODE.findall(text))):
        token = token.strip()
        if m := _FILE_NAME.match(token):
            if not _defines(root / m[1], m[2]):
                out.append(f"`{token}`: {m[1]} defines no {m[2]}")
        elif _PATH.fullmatch(token):
            continue  # checked above with every path in the text
        elif token.endswith(".py") and "/" not in token:
            if not any(p.name == token for p in _sources(root)):
                out.append(f"`{token}`: no such module")
        elif token.endswith("/") and _WORD.match(token[:-1]):
            if not (root / token).is_dir():
                out.append(f"`{token}`: no such folder")
        elif m := _UOW.match(token):
            repo, method = m[1], m[2]
            if repo != "commit" and not re.search(rf"\b{repo}\b", uow_text):
                out.append(f"`{token}`: the unit of work has no {repo}")
            if method and not re.search(rf"def {method}\b", storage_text):
                out.append(f"`{token}`: no repository in storage/ has {method}")
        elif m := _MODULE_NAME.match(token):
            if not _defines(root / f"{m[1]}.py", m[2]):
                out.append(f"`{token}`: {m[1]}.py defines no {m[2]}")
        elif m := _SHORT_NAME.match(token):
            modules = [p for p in _sources(root) if p.stem == m[1]]
            if not any(_defines(p, m[2]) for p in modules):
                out.append(f"`{token}`: no module {m[1]}.py defines {m[2]}")
        elif _WORD.match(token) and not token.startswith("_") and token not in _all_words(root):
            # a bare name (a function, a class, an event or a state id): somewhere in the code
            out.append(f"`{token}`: not in the code")
    return out


def test_every_file_function_and_repository_the_document_names_exists() -> None:
    assert unknown_names(DOC.read_text("utf-8")) == []


def test_the_reader_finds_names_that_do_not_exist(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / "services" / "steps.py").write_text("def move_case(): pass\n", "utf-8")
    (tmp_path / "storage" / "uow.py").write_text("class U:\n    cases = None\n", "utf-8")
    (tmp_path / "storage" / "repository.py").write_text("def create(): pass\n", "utf-8")
    good = (
        "`services/steps.py: move_case` `services/steps.move_case` `steps.move_case` "
        "`uow.cases.create` `move_case` `steps.py` `storage/` in services/steps.py"
    )
    assert unknown_names(good, tmp_path) == []
    bad = (
        "`services/steps.py: move` `services/steps.moved` `steps.gone` `uow.cases.remove` "
        "`uow.meetings` `moved_case` `nowhere.py` `views/` and web/gone.py"
    )
    assert len(unknown_names(bad, tmp_path)) == 9, unknown_names(bad, tmp_path)
