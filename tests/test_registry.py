"""The registry of methods builds __all__ and the CLI verbs, and matches the npe2 manifest."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import napari_segkit
from napari_segkit import _registry
from napari_segkit.cli import VERBS, build_parser

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = Path(napari_segkit.__file__).with_name("napari.yaml")


def test_all_is_the_registry_and_every_name_resolves():
    assert napari_segkit.__all__ == _registry.public_names()
    for name in napari_segkit.__all__:
        assert getattr(napari_segkit, name) is not None, name
    for method in _registry.METHODS:
        assert callable(getattr(napari_segkit, method.name)), method.name
    with pytest.raises(AttributeError, match="no attribute 'not_a_method'"):
        napari_segkit.not_a_method  # noqa: B018


def test_submodules_still_import_by_name():
    code = "from napari_segkit import graphcut, superpixels; print(graphcut.graph_cut.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "graph_cut"


def test_cli_verbs_come_from_the_registry():
    assert [module.__name__.rsplit(".", 1)[1] for module in VERBS] == _registry.cli_modules()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for verb in ("graph-cut", "random-walker", "watershed", "refine", "kmeans", "slic", "train", "demo"):
        assert verb in sub.choices, verb


def test_manifest_widgets_match_the_registry():
    manifest = yaml.safe_load(MANIFEST.read_text())["contributions"]
    commands = {c["id"]: c for c in manifest["commands"]}
    listed = [(w["command"], w["display_name"]) for w in manifest["widgets"]]
    expected = [(w.command_id, w.title) for w in _registry.widgets()]
    missing = [e for e in expected if e not in listed]
    extra = [entry for entry in listed if entry not in expected]
    hint = "".join(
        f"\n  - id: {w.command_id}\n    title: {w.title}\n    python_name: {w.full_python_name}"
        for w in _registry.widgets() if (w.command_id, w.title) in missing
    )
    assert not missing, f"napari.yaml lacks widgets of the registry; add to commands and widgets:{hint}"
    assert not extra, f"napari.yaml has widgets the registry lacks ({extra}): add Method entries to _registry.py"
    assert [c for c, _ in listed] == [c for c, _ in expected], "widget order differs from the registry's"
    for widget in _registry.widgets():
        command = commands[widget.command_id]
        assert command["python_name"] == widget.full_python_name
        assert command["title"] == widget.title
        module, _, attribute = widget.full_python_name.partition(":")
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        assert f"class {attribute}" in Path(spec.origin).read_text(), widget


def test_every_docs_page_exists():
    for method in _registry.METHODS:
        if method.docs:
            assert (ROOT / method.docs).is_file(), method.docs
