"""The progress protocol's receivers: newest-only storage and throttling."""

from __future__ import annotations

import threading

import pytest

from napari_segkit._progress import LatestProgress, Reporter, throttled


def test_latest_progress_keeps_only_the_newest_report_across_threads():
    latest = LatestProgress()
    assert latest.take() is None

    def flood(offset):
        for i in range(20_000):
            latest((offset + i) / 40_000, f"block {offset + i}" if i % 2 else "")

    threads = [threading.Thread(target=flood, args=(k * 20_000,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert latest.reports == 40_000
    fraction, message = latest.take()
    assert message.startswith("block ") and int(message.split()[1]) % 2 == 1  # empty messages kept the last
    assert latest.take() is None  # taken once
    latest(0.5, "")
    assert latest.take() == (0.5, message)
    latest.reset()
    assert latest.take() is None and latest.reports == 0


def test_throttled_passes_first_and_final_reports_and_keeps_the_last_message(monkeypatch):
    import napari_segkit._progress as module

    clock = {"now": 100.0}
    monkeypatch.setattr(module.time, "monotonic", lambda: clock["now"])
    seen = []
    report = throttled(lambda f, m: seen.append((f, m)), interval=0.1)
    for i in range(1000):  # 1000 reports within 0.999 s
        report(i / 1000, f"step {i}")
        clock["now"] += 0.001
    report(1.0, "")
    # the first, then one every 0.1 s (10 in the second), then the final one
    assert 10 <= len(seen) <= 12
    assert seen[0] == (0.0, "step 0") and seen[-1] == (1.0, "step 999")


def test_reporter_maps_sub_ranges_into_a_latest_progress():
    latest = LatestProgress()
    Reporter(latest).sub(0.5, 1.0).sub(0.0, 0.5)(1.0, "half of the second half")
    assert latest.take() == (0.75, "half of the second half")


def test_blas_threads_limits_inside_the_block_and_restores_after():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from napari_segkit._threads import blas_threads

    def blas_limits():
        return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]

    before = blas_limits()
    if not before:
        pytest.skip("no BLAS library found by threadpoolctl")
    with blas_threads(1):
        assert blas_limits() == [1] * len(before)
        with blas_threads(1):  # nested: still limited, and not restored by the inner exit
            pass
        assert blas_limits() == [1] * len(before)
    assert blas_limits() == before
