"""labelyard.core does no I/O: it imports only the standard library, orjson and labelyard's own
errors and core modules, and numpy for point clouds (core/README.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import labelyard.core

# PIL: core.masks decodes mask PNGs from bytes it is given (no files, no network); numpy:
# core.pointcloud reads point clouds from bytes.
ALLOWED = {"orjson", "PIL", "numpy", "labelyard.errors", "labelyard.core"}
FORBIDDEN_CALLS = {"open", "print", "input"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_only_the_standard_library_and_its_own_rules() -> None:
    folder = Path(labelyard.core.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for name in _imports(tree):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or any(
                name == a or name.startswith(a + ".") for a in ALLOWED
            )
            assert allowed, f"{path.name} imports {name}"
            assert top not in {"os", "socket", "subprocess", "time"}, f"{path.name} imports {name}"
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & FORBIDDEN_CALLS, f"{path.name} calls {calls & FORBIDDEN_CALLS}"
        clock = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"now", "utcnow", "today", "getenv"}
        }
        assert not clock, f"{path.name} reads the clock or environment: {clock}"
