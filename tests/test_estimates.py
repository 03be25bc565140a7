"""Jobs that can run for minutes announce their time estimate before they start: above a size, not below."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import napari_segkit._progress as progress_module
from napari_segkit import mean_shift, normalized_cut, slic, spectral_clustering
from napari_segkit._progress import LONG_JOB_SECONDS, SHORT_JOB_SECONDS, duration
from napari_segkit.clustering.mean_shift import mean_shift_seconds
from napari_segkit.spectral._common import graph_seconds
from napari_segkit.spectral.normalized_cut import expected_solves
from napari_segkit.superpixels import slic_seconds


def _pixel_graph(side):
    return graph_seconds((side, side), 1, "pixels", 1)


CASES = [
    ("slic", lambda image, p: slic(image, progress=p), lambda side: slic_seconds((side, side))),
    ("mean_shift", lambda image, p: mean_shift(image, rng=0, progress=p),
     lambda side: mean_shift_seconds(side * side, side * side, False)),
    ("normalized_cut", lambda image, p: normalized_cut(image, superpixels="pixels", n_segments=2, rng=0, progress=p),
     _pixel_graph),
    ("spectral_clustering", lambda image, p: spectral_clustering(image, 2, superpixels="pixels", rng=0, progress=p),
     _pixel_graph),
]


@pytest.mark.parametrize("name, run, seconds", CASES, ids=[case[0] for case in CASES])
def test_estimate_is_announced_above_a_size_and_not_below(monkeypatch, caplog, name, run, seconds):
    # both thresholds at the method's own estimate for a 32 x 32 image: 24 x 24 is below, 40 x 40 above
    monkeypatch.setattr(progress_module, "SHORT_JOB_SECONDS", seconds(32))
    monkeypatch.setattr(progress_module, "LONG_JOB_SECONDS", seconds(32))
    for side, expected in ((24, False), (40, True)):
        reports = []
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="napari_segkit"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the methods' own advice on random images
            run(np.random.default_rng(side).random((side, side)), lambda f, m: reports.append((f, m)))
        announced = [(f, m) for f, m in reports if m.endswith("(estimate)")]
        warned = [r.getMessage() for r in caplog.records if "(estimate)" in r.getMessage()]
        assert len(announced) == len(warned) == int(expected), (side, reports, warned)
        if expected:
            fraction, message = announced[0]
            assert fraction == 0.0 and message.startswith(f"{name}: ")  # before any work is reported done
            assert warned[0].startswith(message)


def test_thresholds_flag_jobs_of_minutes_and_spare_everyday_sizes():
    # the pixel-graph normalized cut of a 512 x 512 image (automatic splits) ran for minutes
    assert graph_seconds((512, 512), 1, "pixels", expected_solves("recursive", None, 512 * 512)) >= LONG_JOB_SECONDS
    assert slic_seconds((256, 1024, 1024)) >= LONG_JOB_SECONDS  # a 268 Mvoxel volume
    assert mean_shift_seconds(2000 * 2000 * 40, 100_000, True) >= LONG_JOB_SECONDS
    assert slic_seconds((512, 512)) < SHORT_JOB_SECONDS
    assert graph_seconds((96, 96), 1, "pixels", expected_solves("recursive", None, 96 * 96)) < SHORT_JOB_SECONDS
    assert graph_seconds((4000, 4000), 1, np.ones((4000, 4000), int), 5) == 0.0  # the caller's superpixels
    assert mean_shift_seconds(512 * 512, 100_000, False) < SHORT_JOB_SECONDS


def test_duration_in_words():
    assert [duration(s) for s in (40, 180, 9000)] == ["about 40 s", "about 3 min", "about 2.5 h"]


def test_normalized_cut_counts_one_solve_per_level_of_splits():
    assert [expected_solves("recursive", k, 10_000) for k in (1, 2, 3, 8)] == [1.0, 1.0, 2.0, 3.0]
    assert expected_solves("kway", 8, 10_000) == 1.0
    # automatic splits: 5 at 128 x 128 pixels, growing with the square root of the nodes
    assert [expected_solves("recursive", None, n) for n in (64 * 64, 128 * 128, 512 * 512)] == [5.0, 5.0, 20.0]
