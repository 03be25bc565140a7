"""Layering: the headless core never imports GUI code, the package has no import cycles.

The core, tiling, models, io and cli modules are imported in a fresh
interpreter, which must not load napari, Qt or magicgui; heavy libraries
load only when a function needs them.  Import cycles are found statically
from the module-level imports of every module (imports inside functions,
the lazy ones, do not count).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import napari_segkit

PACKAGE = Path(napari_segkit.__file__).parent
GUI = ("napari", "magicgui", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy")
HEAVY = ("torch", "maxflow", "sklearn", "dask", "zarr", "tifffile", "skimage", "pyamg")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _headless_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if "._napari" in name or name.endswith("__main__"):
            continue
        yield name


def _loaded_after(code: str) -> list:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_no_headless_module_imports_gui_code():
    modules = list(_headless_modules())
    assert "napari_segkit.cli" in modules and "napari_segkit.models.training" in modules
    loaded = _loaded_after("\n".join(f"import {m}" for m in modules))
    gui = sorted({m.split(".")[0] for m in loaded} & set(GUI))
    assert not gui, f"importing the headless modules loaded {gui}"


def test_import_napari_segkit_is_light_and_heavy_modules_are_lazy():
    loaded = {m.split(".")[0] for m in _loaded_after("import napari_segkit")}
    assert not loaded & set(GUI + HEAVY), sorted(loaded & set(GUI + HEAVY))
    # the command line's parser alone loads no heavy library either
    loaded = {m.split(".")[0] for m in _loaded_after("from napari_segkit.cli import build_parser; build_parser()")}
    assert not loaded & set(GUI + ("torch", "maxflow", "sklearn")), sorted(loaded & set(GUI + HEAVY))


def _top_level_imports(path: Path, name: str, known: set) -> set:
    """Package modules ``name`` imports when it is imported (not inside functions)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(getattr(node, "body", []) + getattr(node, "orelse", []) + getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in known:
                        found.add(sub)
                    elif target in known:
                        found.add(target)

    visit(tree.body)
    # a submodule importing its own parent package: the parent is already being imported
    return {m for m in found if m != name and not name.startswith(m + ".")}


def _cycles(graph: dict) -> list:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            connect(v)
    return out


def test_no_import_cycles_inside_the_package():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph = {name: _top_level_imports(path, name, known) for name, path in paths.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
