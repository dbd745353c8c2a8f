"""No import circles among shopsense modules.

The graph is built from the source, not by importing it: every ``import`` / ``from ... import`` statement
anywhere in a module (top level, inside functions and classes, inside ``try``) and every
``importlib.import_module("literal")`` call is an edge from that module to the module it names.
``from package import name`` is an edge to ``package.name`` when that is a module, else to the package.

Imports under ``if TYPE_CHECKING:`` count too: they never run, but a type-only circle is still two
modules that each need the other, which is the layering this test guards. Package ``__init__`` modules
are nodes like any other (their re-exports are edges), so a submodule that imports a sibling through
its package (``from shopsense.x import Thing``) while ``shopsense/x/__init__.py`` re-exports it is a
circle too. Not counted: the parent packages whose ``__init__`` Python runs before a submodule (``import
a.b.c`` is an edge to ``a.b.c`` only), else every re-exporting ``__init__`` would be in a circle with its
own submodules; and imports by computed name (``importlib.import_module(variable)``, e.g. the
``"module:Class"`` strings of ``shopsense.recommend.catalogue``).

Run as a script (``python tests/test_import_graph.py``) to print every circle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT_PACKAGE = "shopsense"

# Packages whose circles are tolerated while being cut: none. Every circle fails the test.
KNOWN_CYCLE_PACKAGES_PENDING_FIX: tuple[str, ...] = ()


def module_files(src: Path = SRC, package: str = ROOT_PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``src``, by dotted name (a package is named by its ``__init__``)."""
    out = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if not level:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imported_names(module: str, path: Path) -> set[str]:
    """The dotted names ``module`` imports (any depth, any package, ``TYPE_CHECKING`` blocks included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module)
            # "from a.b import c": a.b.c when that is a module, else a.b (resolved in import_graph)
            names.update(target if alias.name == "*" else f"{target}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
                   or isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})):
            names.add(node.args[0].value)
    return names


def import_graph(src: Path = SRC, package: str = ROOT_PACKAGE) -> dict[str, set[str]]:
    """Module -> the shopsense modules it imports."""
    files = module_files(src, package)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        for name in imported_names(module, path):
            # "from a.b import c" names a.b.c: the module a.b.c if there is one, else a name in a.b.
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(out)


def _pending(component: list[str]) -> bool:
    return any(m == p or m.startswith(p + ".") for m in component for p in KNOWN_CYCLE_PACKAGES_PENDING_FIX)


def test_the_graph_sees_function_level_type_only_relative_and_importlib_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from pkg import b\n",
        "b.py": "import importlib\n\ndef g():\n    return importlib.import_module('pkg.sub.c')\n",
        "sub/__init__.py": "",
        "sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import f\nfrom . import d\n",
        "sub/d.py": "import os.path\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.sub.c"}, "pkg.sub": set(),
                     "pkg.sub.c": {"pkg.a", "pkg.sub.d"}, "pkg.sub.d": set()}
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_the_real_graph_is_read() -> None:
    graph = import_graph()
    assert len(graph) > 50
    assert "shopsense.core.records" in graph["shopsense.core.loaders"]
    assert "shopsense.recommend.hybrid" in graph["shopsense.recommend.evaluation"]  # importlib.import_module


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected(graph) == [["a", "b", "c"], ["e"]]


def test_no_import_cycles() -> None:
    cycles = [c for c in strongly_connected(import_graph()) if not _pending(c)]
    assert not cycles, "import circles among shopsense modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)


if __name__ == "__main__":
    found = strongly_connected(import_graph())
    for component in found:
        print(("(pending) " if _pending(component) else "") + " <-> ".join(component))
    sys.exit(1 if any(not _pending(c) for c in found) else 0)


# The design's layers: a package may import only the packages listed for it (and itself).
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "data": set(),
    "text": {"core"},
    "registry": {"core"},
    "nlp": {"core", "text", "registry"},
    "recommend": {"core", "text", "nlp", "registry"},
    "search": {"core", "text", "nlp", "registry"},
    "marketing": {"core", "text", "nlp", "registry"},
    "assistant": {"core", "text", "nlp", "registry", "search", "recommend"},
    "scale": {"core", "text", "recommend", "registry"},
    "serving": {"core", "text", "nlp", "registry", "recommend", "search", "marketing", "assistant", "data"},
    "api": {"core", "text", "nlp", "registry", "recommend", "search", "marketing", "assistant", "serving",
            "data"},
    "cli": {"core", "text", "nlp", "registry", "recommend", "search", "marketing", "assistant", "serving",
            "data", "api", "scale"},
}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_dependencies_point_one_way() -> None:
    wrong = []
    for module, targets in import_graph().items():
        own = _package(module)
        if own not in LAYERS:
            continue
        for target in targets:
            other = _package(target)
            if other is not None and other != own and other not in LAYERS[own]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []
