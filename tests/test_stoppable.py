"""Cancel inside long library calls: a stoppable child process (SLIC) and checked eigensolvers."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from scipy import sparse

from napari_segkit import Cancelled, slic
from napari_segkit._progress import checking
from napari_segkit._stoppable import StoppedProcessError, call_stoppable
from napari_segkit.spectral.laplacian import smallest_eigenvectors


def _sleep_then(seconds, value):
    time.sleep(seconds)
    return value


def _pid():
    return os.getpid()


def _fail():
    raise ValueError("bad value in the child")


def _die():
    os._exit(3)


def test_call_stoppable_returns_raises_and_reports_a_dead_child():
    assert call_stoppable(_sleep_then, 0.0, {"a": np.arange(3)})["a"].tolist() == [0, 1, 2]
    assert call_stoppable(_pid) != os.getpid()  # really another process
    with pytest.raises(ValueError, match="bad value in the child"):
        call_stoppable(_fail)
    with pytest.raises(StoppedProcessError, match="exit code 3"):
        call_stoppable(_die)


def test_a_raising_check_stops_the_child_at_once():
    def check(elapsed):
        if elapsed > 0.3:
            raise Cancelled("stop")

    start = time.perf_counter()
    with pytest.raises(Cancelled):
        call_stoppable(_sleep_then, 60.0, 1, check=check, poll=0.05)
    assert time.perf_counter() - start < 1.5  # not 60 s


def test_slic_with_progress_gives_the_same_labels_and_cancels_within_half_a_second(monkeypatch):
    from napari_segkit import superpixels

    monkeypatch.setattr(superpixels, "STOPPABLE_MIN_PIXELS", 1000)  # small images in the child too
    rng = np.random.default_rng(0)
    image = rng.random((256, 256)).astype(np.float32)
    seen = []
    expected = slic(image, 50, compactness=0.1, sigma=1.0)
    labels = slic(image, 50, compactness=0.1, sigma=1.0, progress=lambda f, m: seen.append((f, m)))
    assert np.array_equal(labels, expected) and seen[-1] == (1.0, "done")

    flag = threading.Event()

    def progress(fraction, message):
        if flag.is_set():
            raise Cancelled("cancelled by the user")

    volume = rng.random((3, 1024, 1024)).astype(np.float32)  # many seconds of SLIC
    timer = threading.Timer(1.0, flag.set)
    timer.start()
    start = time.perf_counter()
    with pytest.raises(Cancelled):
        slic(volume, 4000, compactness=0.1, sigma=1.0, progress=progress)
    assert time.perf_counter() - start < 1.0 + 0.5


def test_the_arpack_eigensolver_checks_for_a_cancel_between_its_steps():
    n = 2000  # above the dense solver's limit: ARPACK in shift-invert mode
    rng = np.random.default_rng(1)
    rows = np.arange(n - 1)
    weights = sparse.csr_array(sparse.coo_array((rng.random(n - 1) + 0.1, (rows, rows + 1)), shape=(n, n)))
    weights = sparse.csr_array(weights + weights.T)
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise Cancelled("cancelled by the user")

    with checking(check), pytest.raises(Cancelled):
        smallest_eigenvectors(weights, np.zeros(n), 4, rng=np.random.default_rng(0), solver="arpack")
    assert len(calls) == 3
    values, vectors, _ = smallest_eigenvectors(weights, np.zeros(n), 4, rng=np.random.default_rng(0),
                                               solver="arpack")  # no check set: runs to the end
    assert values[0] == pytest.approx(0.0, abs=1e-8) and vectors.shape == (n, 4)
