"""Every public method follows the one API contract written in docs/api.md.

Walks the registry of methods (the public API) and checks each signature:
image first, the one input that defines the task second, every other option
keyword-only; the shared option names where they apply; one name for
iteration limits; no flags that change the return type.
"""

from __future__ import annotations

import inspect

import pytest

import napari_segkit
from napari_segkit._registry import METHODS

#: training takes lists of images and labels
IMAGES_FIRST = {"train_model"}
#: names that mean "iteration limit" elsewhere; the package says max_iter
ITERATION_ALIASES = {"n_iter", "max_cycles", "max_num_iter", "iterations", "n_iterations", "max_iterations"}
#: names that mean "random state" elsewhere; the package says rng
RNG_ALIASES = {"seed", "random_state", "random_seed"}
#: options every image method takes
EVERYWHERE = ("spacing", "channel_axis", "progress")
#: methods that estimate their memory first, and so take memory_limit
WITH_MEMORY_LIMIT = {
    "graph_cut", "random_walker", "watershed", "normalized_cut", "spectral_clustering", "grabcut",
    "crf_refine", "graph_cut_refine", "refine_instances", "kmeans", "mean_shift",
}
#: methods that process leading axes frame by frame, and so take spatial_dims
WITH_SPATIAL_DIMS = {
    "graph_cut", "random_walker", "watershed", "grabcut", "train_model", "slic", "kmeans", "mean_shift",
    "normalized_cut", "spectral_clustering",
}
#: known departures, each with what replaces it; fixing one must remove it from here
PENDING = {
}
#: shared options a method still lacks; adding one must remove it from here
PENDING_MISSING = {
}


def _image_methods():
    return [m.name for m in METHODS if m.family == "image"]


def _parameters(name):
    return list(inspect.signature(getattr(napari_segkit, name)).parameters.values())


@pytest.mark.parametrize("name", _image_methods())
def test_image_first_then_the_task_input_then_keywords(name):
    params = _parameters(name)
    first = "images" if name in IMAGES_FIRST else "image"
    assert params[0].name == first, f"{name}: first parameter is {params[0].name!r}, not {first!r}"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 2, f"{name}: {[p.name for p in positional]} are positional; only 2 may be"
    for p in params[len(positional):]:
        assert p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD), f"{name}: {p.name} must be keyword-only"


@pytest.mark.parametrize("name", _image_methods())
def test_shared_option_names(name):
    names = {p.name for p in _parameters(name)}
    kwargs = any(p.kind == p.VAR_KEYWORD for p in _parameters(name))
    for option in EVERYWHERE:
        if (name, option) in PENDING_MISSING:
            continue
        assert option in names or (kwargs and name == "predict_labels"), f"{name} lacks {option}"
    if name in WITH_MEMORY_LIMIT:
        assert "memory_limit" in names, f"{name} lacks memory_limit"
    if name in WITH_SPATIAL_DIMS:
        assert "spatial_dims" in names, f"{name} lacks spatial_dims"
    assert not names & ITERATION_ALIASES, f"{name}: iteration limits are called max_iter, not {names & ITERATION_ALIASES}"
    assert not names & RNG_ALIASES, f"{name}: the random state is called rng, not {names & RNG_ALIASES}"


@pytest.mark.parametrize("name", [m.name for m in METHODS if m.family != "tool"])
def test_no_flags_that_change_the_return_type(name):
    for p in _parameters(name):
        if p.name.startswith("return_"):
            assert (name, p.name) in PENDING, f"{name}({p.name}=...): return a small result object instead"


def test_pending_departures_still_exist():
    for name, option in PENDING:
        assert option in {p.name for p in _parameters(name)}, f"{name}.{option} is gone: remove it from PENDING"
    for name, option in PENDING_MISSING:
        assert option not in {p.name for p in _parameters(name)}, f"{name} has {option}: remove it from PENDING_MISSING"


@pytest.mark.parametrize("name", [m.name for m in METHODS if m.family != "tool"])
def test_rng_has_one_meaning(name):
    """Where rng exists, None means fresh entropy: the default is None, never a hidden seed."""
    params = {p.name: p for p in _parameters(name)}
    if "rng" in params:
        assert params["rng"].default is None, f"{name}: rng defaults to {params['rng'].default!r}"
        doc = inspect.getdoc(getattr(napari_segkit, name)) or ""
        assert "Default: seed 0" not in doc and "None -> a fixed seed" not in doc, name


def test_every_method_has_a_numpydoc_docstring():
    for name in _image_methods():
        doc = inspect.getdoc(getattr(napari_segkit, name)) or ""
        assert "Parameters" in doc and "Returns" in doc, name


def test_no_internal_requirement_codes_in_code_or_docs():
    """Docstrings say what a check does, not an internal code such as "(A14)" or "G5"."""
    import re
    from pathlib import Path

    code = re.compile(r"\b[ABCDGKM]\d{1,2}\b(?![.\d])")
    package = Path(napari_segkit.__file__).parent
    pages = list(package.rglob("*.py")) + list((package.parents[1] / "docs").glob("*.md"))
    found = []
    for path in pages:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if code.search(line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
