"""Peak memory of one call, measured in a fresh Python process.

Run as a script it loads a benchmark input saved by ``bench_graph_cut.py``
(``--case FILE.npz``), prepares everything the call needs (imports, the input
arrays, and for the raw PyMaxflow baseline its precomputed energies), records
the resident set size, runs the call once and prints one JSON line::

    {"target": ..., "rss_before": ..., "peak_rss": ..., "peak_bytes": ..., "method": ..., "seconds": ...}

``peak_bytes`` is the peak resident set size during the call minus the
resident set size just before it: the memory the call itself needed.

How the peak is found
---------------------
On Linux the kernel's high-water mark (``VmHWM``) is reset just before the call
by writing ``5`` to ``/proc/self/clear_refs`` and read right after it: exact,
and it sees allocations inside C code that never releases the GIL (PyMaxflow).
Where that reset is not possible, a thread samples the RSS every millisecond
(it can miss short peaks inside C calls) and ``ru_maxrss`` is used when it
rose during the call; ``method`` says which was used.

From Python, :func:`measure_in_subprocess` runs this script and returns the
parsed result.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, Optional

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = ("graph_cut", "raw_maxflow")


def _vm_hwm() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark for this process; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        _vm_hwm()
        return True
    except OSError:
        return False


class _Sampler(threading.Thread):
    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(daemon=True)
        self._process = psutil.Process()
        self._interval = interval
        self._stop_event = threading.Event()
        self.peak = self._process.memory_info().rss

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self._process.memory_info().rss)


def measure(call: Callable[[], object]) -> Dict[str, object]:
    """Run ``call()`` once in this process and report its peak memory."""
    gc.collect()
    process = psutil.Process()
    exact = _reset_hwm()
    rss_before = process.memory_info().rss
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sampler = None if exact else _Sampler()
    if sampler is not None:
        sampler.start()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    if exact:
        peak = _vm_hwm()
        method = "VmHWM reset via /proc/self/clear_refs"
    else:
        peak = sampler.stop()
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss_after > maxrss_before:
            peak = max(peak, maxrss_after)
        method = "RSS sampled every 1 ms, and ru_maxrss"
    del result
    return {
        "rss_before": rss_before,
        "peak_rss": peak,
        "peak_bytes": peak - rss_before,
        "method": method,
        "seconds": seconds,
    }


def measure_in_subprocess(
    case_path: str, target: str, *, kwargs: Optional[dict] = None, timeout: float = 600
) -> Dict[str, object]:
    """Run this script in a fresh interpreter on a saved case and parse its JSON line."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    command = [sys.executable, os.path.join(HERE, "peak_memory.py"), "--case", case_path, "--target", target]
    if kwargs:
        command += ["--kwargs", json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", required=True, help=".npz file written by bench_graph_cut.py")
    parser.add_argument("--target", choices=TARGETS, default="graph_cut")
    parser.add_argument("--kwargs", default="{}",
                        help="JSON object of extra graph_cut arguments, e.g. '{\"connectivity\": 2}'")
    args = parser.parse_args(argv)

    sys.path.insert(0, HERE)
    import numpy as np

    from _graph_cut_cases import SMOOTHNESS, load_case, raw_maxflow, reference_energies

    from napari_segkit import estimate_graph_cut_memory, graph_cut

    case = load_case(args.case)
    kwargs = dict(case.kwargs(), **json.loads(args.kwargs))
    # warm up: lazy imports (scipy.ndimage, maxflow) and their allocations
    tiny = np.zeros((16, 16), dtype=case.image.dtype)
    tiny[4:12, 4:12] = 1
    tiny_seeds = np.zeros((16, 16), dtype=np.int32)
    tiny_seeds[8, 8], tiny_seeds[0, 0] = 1, 2
    graph_cut(tiny, tiny_seeds)

    if args.target == "graph_cut":
        result = measure(lambda: graph_cut(case.image, case.seeds, **kwargs))
    else:
        energies = reference_energies(
            case,
            smoothness=kwargs.get("smoothness", SMOOTHNESS),
            connectivity=kwargs.get("connectivity", 1),
        )
        result = measure(lambda: raw_maxflow(energies))
    shape = list(case.image.shape)
    n_channels = 1 if kwargs.get("channel_axis") is None else shape.pop(kwargs["channel_axis"])
    budget = estimate_graph_cut_memory(
        shape,
        n_labels=case.n_labels,
        n_channels=n_channels,
        spatial_dims=kwargs.get("spatial_dims"),
        connectivity=kwargs.get("connectivity", 1),
    )
    result.update(
        target=args.target,
        case=case.name,
        kwargs=json.loads(args.kwargs),
        shape=shape,
        n_labels=case.n_labels,
        estimate_bytes=budget.total_bytes,
        estimate_graph_bytes=budget.graph_bytes,
        estimate_array_bytes=budget.array_bytes,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
