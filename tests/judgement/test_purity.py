"""The judgement is a pure domain core: no transport, no storage, no clock of its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import hub.judgement

PACKAGE = Path(hub.judgement.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN = ("grpc", "sqlmodel", "sqlalchemy", "seinhuis.v1", "seinhuis.transport")
CLOCKS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}


def _imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return names


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_module_imports_grpc_generated_code_or_sqlmodel(path: Path) -> None:
    """No judgement module imports grpc, *_pb2, sqlmodel or the transport."""
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [
        n
        for n in _imports(tree)
        if "_pb2" in n or any(n == f or n.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert bad == []


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_module_reads_the_clock_or_the_environment(path: Path) -> None:
    """Time comes in as a parameter; nothing calls datetime.now(), date.today() or time.time()."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        owner_name = (
            owner.id
            if isinstance(owner, ast.Name)
            else owner.attr
            if isinstance(owner, ast.Attribute)
            else ""
        )
        assert (owner_name, node.attr) not in CLOCKS, f"{path.name}:{node.lineno}"
        assert not (owner_name == "time" and node.attr in {"time", "monotonic"})
        assert not (owner_name == "os" and node.attr in {"environ", "getenv"})


def test_importing_the_engine_loads_no_grpc_or_sqlmodel() -> None:
    """Transitively, too: a fresh interpreter importing the engine has no grpc or sqlmodel."""
    probe = (
        "import sys, hub.judgement.engine, hub.judgement.retention;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('grpc', 'sqlmodel', 'sqlalchemy') or '_pb2' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
