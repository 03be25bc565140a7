"""The worst inputs for the libraries underneath, each run in its own process.

scikit-image's SLIC corrupted the heap on a tiny compactness or an image whose
range overflows float64, and PyMaxflow never returned on such an image or on
``spacing=(1e300, 1e-300)``.  Each case runs in a subprocess with a timeout, so
an abort or a hang fails the test instead of killing the run; the process
must exit normally with either a result or an error naming the argument.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

PRELUDE = """
import json, sys, warnings
import numpy as np
import napari_segkit as ns
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
huge = (rng.random((32, 32)) - 0.5) * 2 * 1.7e308      # finite, but max - min overflows
assert np.isfinite(huge).all() and not np.isfinite(huge.max() - huge.min())
seeds = np.zeros((32, 32), np.int32); seeds[0, 0] = 1; seeds[16, 16] = 2
flat = np.stack([np.full((32, 32), 0.4), np.full((32, 32), 0.6)], axis=-1)  # class axis last
def report(key, run):
    try:
        result = run()
        if isinstance(result, np.ndarray) and result.dtype.kind == "f" and not np.isfinite(result).all():
            text = "NaN in result"
        else:
            text = "ok"
    except (ns.InputError, ns.ResourceLimitError, ns.UnsafeFileError) as exc:
        text = "error: " + " ".join(str(exc).split())
    print("RESULT", key, text, flush=True)
"""


def _run_all(cases, timeout: float = 240):
    """Run ``{key: body}`` in one fresh process; ``{key: outcome}``.

    Cases after an abort or a hang get "process died ..." as their outcome.
    """
    code = [PRELUDE]
    for key, body in cases.items():
        code.append(f"def _case():\n" + textwrap.indent(textwrap.dedent(body), "    "))
        code.append(f"report({key!r}, _case)")
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    try:
        done = subprocess.run([sys.executable, "-c", "\n".join(code)], capture_output=True, text=True,
                              timeout=timeout, env=env)
        stdout, tail = done.stdout, f"exit {done.returncode}: {done.stderr[-400:]}"
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        tail = f"hang: no answer within {timeout} s"
    found = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, text = line.split(" ", 2)
            found[key] = text
    return {key: found.get(key, f"process died ({tail})") for key in cases}


OVERFLOWING_RANGE = {
    "slic": "return ns.slic(huge, n_segments=10)",
    "slic_rgb": "return ns.slic(np.stack([huge] * 3, -1), n_segments=10, channel_axis=-1)",
    "kmeans": "return ns.kmeans(huge, 2, rng=0)",
    "mean_shift": "return ns.mean_shift(huge, rng=0)",
    "graph_cut": "return ns.graph_cut(huge, seeds)",
    "graph_cut_refine": "return ns.graph_cut_refine(huge, flat)",
    "crf_refine": "return ns.crf_refine(huge, flat)",
    "normalized_cut": "return ns.normalized_cut(huge, rng=0)",
    "spectral_clustering": "return ns.spectral_clustering(huge, 2, rng=0)",
}


@pytest.fixture(scope="module")
def outcomes():
    cases = dict(OVERFLOWING_RANGE)
    cases.update({k: body for k, (body, _) in REFUSED.items()})
    cases.update({f"crf_{a}_{b}": f"return ns.crf_refine(rng.random((32, 32)), flat, theta_alpha={a}, theta_beta={b})"
                  for a, b in CRF_WIDTHS})
    return _run_all(cases)


@pytest.mark.parametrize("name", sorted(OVERFLOWING_RANGE))
def test_image_range_overflowing_float64_is_rescaled(name, outcomes):
    """A finite image spanning -1.7e308..1.7e308 is segmented (rescaled), never a crash or hang."""
    assert outcomes[name] == "ok"


REFUSED = {
    "slic_tiny_compactness_3d": ("return ns.slic(rng.random((16, 32, 32)), n_segments=50, compactness=1e-300)",
                                 "compactness"),
    "slic_tiny_compactness": ("return ns.slic(rng.random((32, 32)), compactness=1e-20)", "compactness"),
    "graph_cut_spacing": ("return ns.graph_cut(rng.random((32, 32)), seeds, spacing=(1e300, 1e-300))",
                          "spacing"),
    "graph_cut_refine_spacing": ("return ns.graph_cut_refine(rng.random((32, 32)), flat, spacing=(1e300, 1e-300))",
                                 "spacing"),
    "crf_huge_kernel": ("return ns.crf_refine(rng.random((32, 32)), flat, theta_gamma=1e12)", "theta_gamma"),
    "slic_huge_size_factor": ("return ns.slic(rng.random((32, 32)), max_size_factor=1e12)", "max_size_factor"),
    "graph_cut_huge_smoothness": ("return ns.graph_cut(rng.random((32, 32)), seeds, smoothness=1e300)",
                                  "smoothness"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_values_unsafe_for_the_libraries_are_refused(name, outcomes):
    got = outcomes[name]
    assert got.startswith("error:") and REFUSED[name][1] in got, got


CRF_WIDTHS = [(1e5, 1e-9), (1e-9, 1e9), (1e6, 1e12), (1e-9, 1e-9)]


@pytest.mark.parametrize("theta_alpha, theta_beta", CRF_WIDTHS)
def test_crf_extreme_kernel_widths_give_no_nan(theta_alpha, theta_beta, outcomes):
    got = outcomes[f"crf_{theta_alpha}_{theta_beta}"]
    assert got == "ok" or (got.startswith("error:") and "theta" in got), got


DEEP = "[" * 200_000 + "]" * 200_000


def test_deep_json_everywhere_is_a_clear_error(tmp_path):
    """JSON nested 200000 deep: model config, zarr metadata, .npy sidecar, GeoJSON boxes."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(DEEP)
    (tmp_path / "boxes.geojson").write_text(DEEP)
    (tmp_path / "img.zarr").mkdir()
    (tmp_path / "img.zarr" / "zarr.json").write_text(DEEP)
    import numpy as np

    np.save(tmp_path / "img.npy", np.zeros((4, 4)))
    from napari_segkit.io._npy import sidecar_path

    sidecar_path(tmp_path / "img.npy").write_text(DEEP)
    got = _run_all({
        "model": f"return ns.load_model({str(tmp_path / 'model')!r})",
        "boxes": f"return ns.read_boxes({str(tmp_path / 'boxes.geojson')!r})",
        "zarr": f"from napari_segkit.io import read_image\nreturn read_image({str(tmp_path / 'img.zarr')!r}).array",
        "npy": f"from napari_segkit.io import read_image\nreturn read_image({str(tmp_path / 'img.npy')!r}).array",
    })
    for key in ("model", "boxes", "zarr"):
        assert got[key].startswith("error:") and "nests" in got[key], (key, got[key])
    assert got["npy"] == "ok", got["npy"]  # a bad sidecar is ignored with a warning
