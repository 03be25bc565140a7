"""GUI freeze, cancel latency and live re-cut latency of every dock widget in a real napari window.

Run under a real X server (napari's canvas needs OpenGL)::

    xvfb-run -a python benchmarks/bench_gui.py                 # every case, about 10 minutes
    xvfb-run -a python benchmarks/bench_gui.py --only kmeans slic --repeat 3 --json out.json

Method (docs/benchmarks.md, "GUI responsiveness"): a ``QTimer`` (PreciseTimer,
20 ms) ticks on the GUI thread; the *freeze* is the largest gap between two
ticks minus 20 ms, from the click on Run until the result layer is shown plus
0.5 s.  All waiting happens in a real ``QEventLoop``.  An idle baseline (the
same window, no job) is measured before each round of cases and at the end;
*redraw* is napari's own cost of one canvas redraw (the camera zoomed by
1 %), the least any job that shows a result can freeze.  *Cancel* runs the job again, presses
Cancel part-way and times until the widget is idle.  *Live re-cut* paints a
stroke into the seeds layer of the Graph cut widget in Live mode and times
until the canvas has drawn the output layer's new cut.  ``--repeat N`` runs
every case N times and reports medians, the freeze also as a ratio to the
median idle baseline of the same run.  Every case also counts the GUI
updates of the widget's progress bar and status (the "flood").

The inputs are synthetic (``napari_segkit.samples``) and large: 1024 x 1024
with 40 boxes for GrabCut, 5 x 1024 x 1024 as numpy and as dask for the
clustering widget.  The load average is printed with each case: these
figures move with whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

TICK_MS = 20


# ------------------------------------------------------------------ timing
class GapMeter:
    """Perf-counter and GUI-thread CPU stamps of a 20 ms PreciseTimer on the GUI thread.

    The CPU time the GUI thread used between two ticks says how much of a gap
    was work in this process and how much was waiting for a core (the
    machine is shared: at load 8 a gap can be several times its work).
    """

    def __init__(self) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.ticks: List[float] = []
        self.cpu: List[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())
        self.cpu.append(time.thread_time())

    def window(self, start: float, stop: float) -> Dict[str, float]:
        """Worst gap (minus one tick), its GUI-thread CPU, and the gaps over 100 ms in ``[start, stop]``."""
        inside = [i for i, t in enumerate(self.ticks) if start < t <= stop]
        stamps = [start] + [self.ticks[i] for i in inside] + [stop]
        gaps = np.diff(stamps) * 1000.0
        cpu = np.diff([self.cpu[i] for i in inside]) * 1000.0 if len(inside) > 1 else np.zeros(0)
        # the GUI thread's CPU during the worst gap (when that gap lies between two ticks): much
        # less than the gap means the thread waited (for the GIL, or for a core)
        worst = int(np.argmax(gaps)) if len(gaps) else 0
        worst_cpu = float(cpu[worst - 1]) if 1 <= worst <= len(cpu) else float("nan")
        return {
            "freeze_ms": float(max(gaps.max(initial=0.0) - TICK_MS, 0.0)),
            "gaps_over_100ms": int((gaps > 100 + TICK_MS).sum()),
            "freeze_cpu_ms": round(float(cpu.max(initial=0.0)), 1),
            "worst_gap_cpu_ms": round(worst_cpu, 1),
        }


def wait_until(predicate: Callable[[], bool], timeout: float, poll_ms: int = 10) -> bool:
    """Run a real QEventLoop until ``predicate()`` or ``timeout`` seconds; return ``predicate()``."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    poll = QTimer()
    poll.setInterval(poll_ms)

    def check() -> None:
        if predicate() or time.perf_counter() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    if not predicate():
        loop.exec()
    poll.stop()
    return bool(predicate())


def spin(seconds: float) -> None:
    """Let the event loop run for ``seconds``."""
    end = time.perf_counter() + seconds
    wait_until(lambda: time.perf_counter() >= end, seconds + 1.0)


class UpdateCounter:
    """Counts the widget's progress-bar and status changes on the GUI thread."""

    def __init__(self, widget) -> None:
        self.count = 0
        widget._progress.native.valueChanged.connect(self._hit)
        widget._status.changed.connect(self._hit)

    def _hit(self, *_args) -> None:
        self.count += 1


# ------------------------------------------------------------------ cases
def _nuclei(shape, n, rng=0):
    from napari_segkit.samples import nuclei_2d

    return nuclei_2d(shape, n_nuclei=n, rng=rng)


def _stack(n_planes: int = 5, size: int = 1024) -> np.ndarray:
    sample = _nuclei((size, size), 300)
    image = np.asarray(sample.image)
    rng = np.random.default_rng(1)
    return np.stack([np.roll(image, 37 * i, axis=1) + rng.integers(0, 50, image.shape).astype(image.dtype)
                     for i in range(n_planes)])


def setup_graph_cut(viewer, size=1024):
    from napari_segkit._napari._graph_cut_widget import GraphCutWidget

    sample = _nuclei((size, size), 300 if size >= 1024 else 75)
    image = viewer.add_image(np.asarray(sample.image), name="nuclei")
    seeds = viewer.add_labels(np.asarray(sample.seeds).astype(np.int32), name="nuclei seeds")
    widget = GraphCutWidget(viewer)
    widget.image_layer, widget.seeds_layer = image, seeds
    return widget, "nuclei graph cut"


def setup_grabcut(viewer):
    from scipy import ndimage as ndi

    from napari_segkit._napari._grabcut_widget import GrabCutWidget

    sample = _nuclei((1024, 1024), 40, rng=3)
    truth = np.asarray(sample.labels)
    image = viewer.add_image(np.asarray(sample.image), name="cells")
    rects = []
    for where in ndi.find_objects(truth):
        if where is None:
            continue
        (y0, y1), (x0, x1) = [(max(s.start - 3, 0), min(s.stop + 3, 1023)) for s in where]
        rects.append(np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]], float))
    boxes = viewer.add_shapes(rects[:40], shape_type="rectangle", name="boxes")
    widget = GrabCutWidget(viewer)
    widget.image_layer = image
    widget.set_layer("boxes", boxes)
    return widget, "cells grabcut"


def _setup_clustering(viewer, method: str, lazy: bool, **controls):
    from napari_segkit._napari._clustering_widget import METHODS, ClusteringWidget

    data = _stack()
    name = "stack dask" if lazy else "stack"
    if lazy:
        import dask.array as da

        data = da.from_array(data, chunks=(1, 512, 512))
    image = viewer.add_image(data, name=name)
    widget = ClusteringWidget(viewer)
    widget.image_layer = image
    widget.method = method
    for key, value in controls.items():
        getattr(widget, key).value = value
    return widget, f"{name} {METHODS[method][0]}"


def setup_spectral(viewer, which: str):
    from napari_segkit._napari._spectral_widget import NormalizedCutWidget, SpectralClusteringWidget

    sample = _nuclei((1024, 1024), 150)
    image = viewer.add_image(np.asarray(sample.image), name="nuclei")
    if which == "ncut":
        widget = NormalizedCutWidget(viewer)
        widget._n_segments.value = 150
        out = "nuclei normalized cut"
    else:
        widget = SpectralClusteringWidget(viewer)
        widget._n_clusters.value = 3
        out = "nuclei spectral clustering"
    widget.image_layer = image
    widget._nodes.value = "slic"
    widget._n_superpixels.value = 1000
    return widget, out


def setup_refine(viewer, method: str):
    from scipy import ndimage as ndi

    from napari_segkit._napari._refine_widget import RefineWidget

    sample = _nuclei((1024, 1024), 300)
    truth = np.asarray(sample.labels) > 0
    fg = np.clip(ndi.gaussian_filter(truth.astype(np.float32), 4) * 0.8 + 0.1, 0, 1)
    image = viewer.add_image(np.asarray(sample.image), name="nuclei")
    probs = viewer.add_image(np.stack([1 - fg, fg]).astype(np.float32), name="nuclei probabilities")
    widget = RefineWidget(viewer)
    widget.image_layer = image
    widget.set_layer("probabilities", probs)
    widget._method.value = method
    return widget, "nuclei refined CRF" if method == "Dense CRF" else "nuclei refined graph cut"


def setup_train(viewer, folder: Path):
    from napari_segkit._napari._train_widget import TrainWidget

    sample = _nuclei((512, 512), 75)
    image = viewer.add_image(np.asarray(sample.image), name="train")
    labels = viewer.add_labels(np.asarray(sample.labels).astype(np.int32), name="train labels")
    widget = TrainWidget(viewer)
    widget.image_layer = image
    widget.set_layer("labels", labels)
    widget._depth.value, widget._width.value, widget._epochs.value = 2, 8, 3
    widget._device.value = "cpu"
    widget._folder.value = folder
    widget._overwrite.value = True
    return widget, None


def setup_predict(viewer, folder: Path):
    from napari_segkit._napari._predict_widget import PredictWidget

    sample = _nuclei((1024, 1024), 300)
    image = viewer.add_image(np.asarray(sample.image), name="predict")
    widget = PredictWidget(viewer)
    widget.image_layer = image
    widget._model.value = folder
    widget._device.value = "cpu"
    return widget, "predict network"


def _train_tiny_model(folder: Path) -> None:
    from napari_segkit.models import train_model

    sample = _nuclei((128, 128), 8)
    model = train_model(np.asarray(sample.image), np.asarray(sample.labels), options=dict(depth=2, width=8),
                        epochs=1, device="cpu", rng=0)
    model.save(folder, overwrite=True)


# ------------------------------------------------------------------ measuring
def measure_job(viewer, meter: GapMeter, widget, output: Optional[str], timeout: float,
                cancel: bool = True) -> Dict[str, Any]:
    """Run ``widget`` once (freeze), then again with Cancel part-way (cancel latency)."""
    counter = UpdateCounter(widget)
    load = os.getloadavg()[0]
    before = {id(layer) for layer in viewer.layers}

    def result_shown() -> bool:
        if widget.busy:
            return False
        if output is None:
            return True
        return any(layer.name == output and (id(layer) not in before or layer.data is not data0.get(layer.name))
                   for layer in viewer.layers)

    data0 = {layer.name: layer.data for layer in viewer.layers}
    start = time.perf_counter()
    widget._run_button.native.click()
    finished = wait_until(result_shown, timeout)
    shown = time.perf_counter()
    spin(0.5)
    stop = time.perf_counter()
    out: Dict[str, Any] = dict(meter.window(start, stop))
    out.update(seconds=round(shown - start, 2), finished=finished, status=widget.status,
               gui_updates=counter.count, updates_per_s=round(counter.count / max(shown - start, 1e-3), 1),
               load=round(load, 2))
    if not finished:
        widget.cancel()
        wait_until(lambda: not widget.busy, 60)
        return out
    if cancel:
        fresh = getattr(widget, "_cache", None)
        if isinstance(fresh, dict):  # GrabCut keeps cut boxes: forget them so the run is real
            fresh["context"], fresh["objects"] = None, {}
        out.update(measure_cancel(widget, meter, after=min(max(0.3 * (shown - start), 0.2), 5.0)))
    return out


def measure_cancel(widget, meter: GapMeter, after: float) -> Dict[str, Any]:
    widget._run_button.native.click()
    started = time.perf_counter()
    wait_until(lambda: time.perf_counter() - started >= after or not widget.busy, after + 5)
    if not widget.busy:
        return {"cancel_s": None, "cancel_note": "finished before Cancel"}
    pressed = time.perf_counter()
    widget._cancel_button.native.click()
    idle = wait_until(lambda: not widget.busy, 120)
    latency = time.perf_counter() - pressed
    return {"cancel_s": round(latency, 3) if idle else None, "cancel_status": widget.status,
            "cancel_freeze_ms": meter.window(pressed, time.perf_counter())["freeze_ms"]}


class DrawStamps:
    """Perf-counter stamps of the napari canvas's finished draws."""

    def __init__(self, viewer) -> None:
        self.stamps: List[float] = []
        canvas = viewer.window._qt_viewer.canvas._scene_canvas
        canvas.events.draw.connect(lambda _event: self.stamps.append(time.perf_counter()), position="last")

    def after(self, moment: float) -> Optional[float]:
        """The first draw that ended after ``moment``, or None."""
        return next((t for t in self.stamps if t > moment), None)


def measure_redraw(viewer, meter: GapMeter, repeats: int = 5) -> Dict[str, Any]:
    """napari's own cost of one canvas redraw: the freeze when the camera zooms by 1 %."""
    freezes, cpus = [], []
    for i in range(repeats):
        start = time.perf_counter()
        viewer.camera.zoom = viewer.camera.zoom * (1.01 if i % 2 else 1 / 1.01)
        spin(0.5)
        window = meter.window(start, time.perf_counter())
        freezes.append(window["freeze_ms"])
        cpus.append(window["freeze_cpu_ms"])
    return {"freeze_ms": round(float(np.median(freezes)), 1), "runs_ms": [round(f) for f in freezes],
            "freeze_cpu_ms": round(float(np.median(cpus)), 1), "load": round(os.getloadavg()[0], 2)}


def measure_live(viewer, meter: GapMeter, repeats: int = 5) -> Dict[str, Any]:
    """Stroke -> redraw in Live mode of the Graph cut widget, 512 x 512.

    The stroke is timed from the paint call until the canvas has finished the
    first draw after the output layer received the new cut.
    """
    draws = DrawStamps(viewer)
    widget, output = setup_graph_cut(viewer, size=512)
    viewer.window.add_dock_widget(widget)
    seeds = widget.seeds_layer
    widget._live.value = True
    widget._run_button.native.click()
    wait_until(lambda: not widget.busy and output in viewer.layers, 60)
    spin(0.5)
    latencies, freezes, cpus = [], [], []
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(np.asarray(seeds.data) == 0)  # a stroke where no seed is yet
    for i in range(repeats):
        layer = viewer.layers[output]
        data_before = layer.data
        k = rng.integers(len(ys))
        y, x = int(ys[k]), int(xs[k])  # a new seed always changes the seeds layer
        value = 2 if i % 2 else 1
        start = time.perf_counter()
        seeds.selected_label = value
        seeds.brush_size = 5
        seeds.paint((y, x), value, refresh=True)  # one committed stroke: emits `paint`

        changed: List[float] = []

        def stamp(_event=None) -> None:
            changed.append(time.perf_counter())

        layer.events.data.connect(stamp)

        def replaced() -> bool:
            if changed:
                return True
            current = viewer.layers[output].data if output in viewer.layers else None
            if current is not None and current is not data_before:  # a new layer
                changed.append(time.perf_counter())
            return bool(changed)

        ok = wait_until(replaced, 30, poll_ms=5)
        wait_until(lambda: draws.after(changed[0]) is not None if changed else True, 5, poll_ms=5)
        shown = draws.after(changed[0]) if ok and changed else None
        wait_until(lambda: not widget.busy, 30)
        layer.events.data.disconnect(stamp)
        spin(0.4)
        latencies.append(shown - start if shown is not None else float("nan"))
        window = meter.window(start, time.perf_counter())
        freezes.append(window["freeze_ms"])
        cpus.append(window["freeze_cpu_ms"])
    widget._live.value = False
    return {"stroke_to_redraw_s": [round(v, 3) for v in latencies],
            "median_stroke_to_redraw_s": round(float(np.nanmedian(latencies)), 3),
            "freeze_ms": round(max(freezes), 1), "freeze_cpu_ms": round(max(cpus), 1),
            "load": round(os.getloadavg()[0], 2)}


CASES: Dict[str, Callable] = {
    "graph_cut": lambda v, tmp: setup_graph_cut(v),
    "grabcut": lambda v, tmp: setup_grabcut(v),
    "kmeans": lambda v, tmp: _setup_clustering(v, "K-means", False, _n_clusters=3),
    "kmeans_dask": lambda v, tmp: _setup_clustering(v, "K-means", True, _n_clusters=3),
    "slic": lambda v, tmp: _setup_clustering(v, "SLIC superpixels", False, _n_segments=2000,
                                             _compactness=0.1),
    "slic_dask": lambda v, tmp: _setup_clustering(v, "SLIC superpixels", True, _n_segments=2000,
                                                  _compactness=0.1),
    "mean_shift": lambda v, tmp: _setup_clustering(v, "Mean shift", False),
    "normalized_cut": lambda v, tmp: setup_spectral(v, "ncut"),
    "spectral_clustering": lambda v, tmp: setup_spectral(v, "spectral"),
    "refine_crf": lambda v, tmp: setup_refine(v, "Dense CRF"),
    "refine_graph_cut": lambda v, tmp: setup_refine(v, "Graph cut"),
    "train": lambda v, tmp: setup_train(v, tmp / "trained"),
    "predict": lambda v, tmp: setup_predict(v, tmp / "model"),
}


def _median(values: List[Any]) -> Optional[float]:
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and v == v]
    return round(float(np.median(numbers)), 3) if numbers else None


def summarize(runs: List[Dict[str, Any]], idle_ms: float) -> Dict[str, Any]:
    """Medians over the repeats of one case, and the freeze as a ratio to the idle baseline."""
    keys = ("freeze_ms", "freeze_cpu_ms", "worst_gap_cpu_ms", "gaps_over_100ms", "gui_updates", "seconds", "cancel_s", "median_stroke_to_redraw_s",
            "load")
    summary = {f"median_{k}" if not k.startswith("median") else k: _median([r.get(k) for r in runs])
               for k in keys if any(k in r for r in runs)}
    freeze = summary.get("median_freeze_ms")
    if freeze is not None:
        summary["freeze_over_idle"] = round(freeze / max(idle_ms, 1.0), 1)
    summary["runs"] = runs
    return summary


def _measure_idle(meter: GapMeter, seconds: float) -> Dict[str, Any]:
    t0 = time.perf_counter()
    spin(seconds)
    return {**meter.window(t0, time.perf_counter()), "load": round(os.getloadavg()[0], 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None,
                        help=f"cases among {list(CASES) + ['redraw', 'live']}; append ':thread' to run an "
                        "isolated widget's job in a thread instead of a child process")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case (medians are reported)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per job")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the results here (rewritten after every case, so a crash keeps them)")
    args = parser.parse_args(argv)

    import napari

    names = args.only or ["redraw", *CASES, "live"]
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    meter = GapMeter()
    spin(2.0)
    results: Dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, "
                                          f"{os.cpu_count()} cores, Python {platform.python_version()}",
                               "command": " ".join(sys.argv), "idle": [], "cases": {}}

    def save() -> None:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "predict" in names:
            _train_tiny_model(tmp / "model")
        for repeat in range(args.repeat):
            results["idle"].append(_measure_idle(meter, 3.0))
            print(f"idle baseline: {results['idle'][-1]}", flush=True)
            for name in names:
                viewer.layers.clear()
                spin(0.3)
                if name == "live":
                    run = measure_live(viewer, meter)
                elif name == "redraw":
                    viewer.add_image(_stack()[0], name="redraw")
                    spin(0.5)
                    run = measure_redraw(viewer, meter)
                else:
                    base, _, variant = name.partition(":")
                    widget, output = CASES[base](viewer, tmp)
                    if variant == "thread":  # the same job in a thread of the GUI process, for comparison
                        widget.isolate_jobs = False
                    dock = viewer.window.add_dock_widget(widget, name=name)
                    spin(0.5)
                    run = measure_job(viewer, meter, widget, output, args.timeout)
                    viewer.window.remove_dock_widget(dock)
                results["cases"].setdefault(name, []).append(run)
                print(f"{name} [{repeat + 1}/{args.repeat}]: {run}", flush=True)
                for layer in list(viewer.layers):
                    if hasattr(layer, "mode"):
                        layer.mode = "pan_zoom"
                save()
    results["idle"].append(_measure_idle(meter, 2.0))
    idle_ms = float(np.median([i["freeze_ms"] for i in results["idle"]]))
    results["summary"] = {"idle_ms": round(idle_ms, 1),
                          "idle_load": _median([i["load"] for i in results["idle"]]),
                          **{name: summarize(runs, idle_ms) for name, runs in results["cases"].items()}}
    print("\nmedians (freeze_over_idle = median freeze / median idle baseline):", flush=True)
    print(f"  idle baseline {idle_ms:.0f} ms", flush=True)
    for name, summary in results["summary"].items():
        if isinstance(summary, dict):
            print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "runs"), flush=True)
    save()
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
