"""The plain-Python job runner behind every widget (no window, no Qt)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_segkit import Cancelled, InputError, ResourceLimitError, UnsafeFileError
from napari_segkit._napari._jobs import Job, JobResult, LayerOutput, run_job
from napari_segkit._napari._layers import array_digest
from napari_segkit._stoppable import child_processes_supported


def test_array_result_becomes_labels_output_with_digest():
    labels = np.arange(12, dtype=np.uint16).reshape(3, 4)  # the form napari shows as it is
    result = run_job(Job(lambda progress: labels))
    assert result.ok and result.error is None and not result.cancelled
    (output,) = result.outputs
    assert output.kind == "labels" and output.data is labels and output.level == 0
    assert output.digest == array_digest(labels) == result.digest
    assert result.labels is labels and result.seconds >= 0


def test_several_outputs_and_other_values():
    labels = np.zeros((2, 2), dtype=np.int32)
    prob = np.ones((2, 2), dtype=np.float32)
    outputs = [LayerOutput(labels, level=1), LayerOutput(prob, kind="image", suffix="probability")]
    result = Job(lambda progress: outputs).run()
    assert [o.kind for o in result.outputs] == ["labels", "image"]
    assert result.level == 1 and all(o.digest for o in result.outputs)
    value = {"checkpoint": "model.safetensors"}
    result = Job(lambda progress: value).run()
    assert result.outputs == () and result.value is value and result.labels is None
    with pytest.raises(ValueError, match="kind must be 'labels' or 'image'; got 'points'"):
        LayerOutput(labels, kind="points")


@pytest.mark.parametrize(
    "error", [InputError("image 'x' has 3 NaN pixels"), ResourceLimitError("needs 9 GB; crop"),
              UnsafeFileError("model file is a pickle")],
)
def test_expected_errors_carry_the_message(error):
    def compute(progress):
        raise error

    result = Job(compute).run()
    assert result == JobResult(error=str(error), seconds=result.seconds)
    assert not result.ok


def test_unexpected_errors_propagate():
    def compute(progress):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError, match="a bug"):
        Job(compute).run()


def test_cancel_before_during_and_after_compute():
    job = Job(lambda progress: np.zeros(3))
    job.cancel()
    assert job.run().cancelled

    steps = []

    def compute(progress):
        for i in range(10):
            progress(i / 10, f"step {i}")
            steps.append(i)
            if i == 2:
                job.cancel()
        return np.zeros(3)

    job = Job(compute)
    result = job.run()
    assert result.cancelled and result.outputs == () and steps == [0, 1, 2]

    def uninterruptible(progress):  # a C call that cannot see the flag
        job.cancel()
        return np.zeros(3)

    job = Job(uninterruptible)
    assert job.run().cancelled  # the result is dropped


def test_progress_forwarded_and_a_dead_receiver_cancels():
    seen = []
    Job(lambda progress: progress(0.5, "half") or np.zeros(2)).run(lambda f, m: seen.append((f, m)))
    assert seen == [(0.0, ""), (0.5, "half")]

    def gone(fraction, message):
        raise RuntimeError("wrapped C/C++ object has been deleted")

    job = Job(lambda progress: np.zeros(2))
    assert job.run(gone).cancelled and job.cancelled


def test_cancelled_raised_by_the_core_is_a_cancel():
    def compute(progress):
        raise Cancelled("stopped")

    assert Job(compute).run().cancelled


def test_runs_in_a_plain_thread():
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", Job(lambda p: np.ones(4)).run()))
    thread.start()
    thread.join(10)
    assert out["r"].labels.tolist() == [1, 1, 1, 1]


def _in_child_compute(progress):
    import os
    import warnings

    progress(0.5, "half")
    warnings.warn("few distinct values", UserWarning, stacklevel=1)
    return LayerOutput(np.full((3, 3), os.getpid(), dtype=np.int64))


@pytest.mark.skipif(not child_processes_supported(), reason="jobs run in child processes on Linux only")
def test_an_isolated_job_runs_in_another_process_relaying_progress_warnings_and_errors():
    import os

    seen = []
    with pytest.warns(UserWarning, match="few distinct values"):
        result = Job(_in_child_compute, isolate=True).run(lambda f, m: seen.append((f, m)))
    assert result.ok and int(result.labels[0, 0]) != os.getpid()  # computed in a child
    assert (0.5, "half") in seen and result.digest is not None

    def refuse(progress):
        raise InputError("n_clusters must be at least 1; got 0")

    result = Job(refuse, isolate=True).run()
    assert result.error == "n_clusters must be at least 1; got 0"


@pytest.mark.skipif(not child_processes_supported(), reason="jobs run in child processes on Linux only")
def test_cancelling_an_isolated_job_stops_a_silent_computation_within_half_a_second():
    import threading
    import time

    def silent(progress):  # a long library call that never reports nor checks
        time.sleep(60)
        return np.zeros(2)

    job = Job(silent, isolate=True)
    threading.Timer(0.5, job.cancel).start()
    start = time.perf_counter()
    result = job.run()
    assert result.cancelled and time.perf_counter() - start < 0.5 + 0.5


@pytest.mark.skipif(not child_processes_supported(), reason="jobs run in child processes on Linux only")
def test_an_isolated_job_after_openmp_work_in_the_same_thread_does_not_hang():
    # spectral clustering (k-means on OpenMP threads) in a worker thread, then a fork from that
    # thread: GNU OpenMP's team is not copied by fork, so the child must not wait for it
    from napari_segkit import spectral_clustering
    from napari_segkit.samples import nuclei_2d

    image = np.asarray(nuclei_2d((256, 256), n_nuclei=20, rng=0).image)
    results = []

    def work():
        for isolate in (False, True):
            results.append(Job(lambda progress: spectral_clustering(image, 3, rng=0, progress=progress),
                               isolate=isolate).run())

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the isolated job hung"
    assert [r.ok for r in results] == [True, True]
    assert np.array_equal(results[0].labels, results[1].labels)
