"""``graph_cut`` against raw PyMaxflow on the same energies, in one run.

For each input (2-D 1024x1024 and 3-D 64x256x256 synthetic nuclei, two seed
values) this script

1. times the whole ``graph_cut`` call (validation, intensity models, contrast
   weights, graph, max-flow, labels) and the raw PyMaxflow baseline, which is
   handed the finished energies (float64 weights per neighbour offset and the
   terminal capacities) and only builds the grid graph with
   ``add_grid_edges`` / ``add_grid_tedges``, runs ``maxflow()`` and reads the
   segments.  Calls alternate (ours, raw, raw, ours, ...) so drift in the
   machine's load hits both; wall-clock and CPU medians and their ratios are
   printed, and the part of our call spent validating the seeds;
2. checks both return the same labels;
3. measures the peak memory of each call in a fresh subprocess
   (``peak_memory.py``) and compares ours with ``estimate_graph_cut_memory``;
4. for information, runs a five-label cut (alpha-expansion, default options)
   of a 512x512 nuclei image once in a fresh process: its time and peak
   memory against the estimate.

Usage::

    python benchmarks/bench_graph_cut.py                # everything, about 2 minutes
    python benchmarks/bench_graph_cut.py --repeats 15   # more timing repeats (default 7)
    python benchmarks/bench_graph_cut.py --cases 2d --no-multilabel --no-memory
    python benchmarks/bench_graph_cut.py --json results.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from _graph_cut_cases import (  # noqa: E402
    CASES,
    MULTI_LABEL_CASES,
    baseline_labels,
    make_case,
    raw_maxflow,
    reference_energies,
    save_case,
)
from peak_memory import measure_in_subprocess  # noqa: E402

from napari_segkit import estimate_graph_cut_memory, graph_cut  # noqa: E402
from napari_segkit._seeds import check_seeds  # noqa: E402

GOAL_TIME_RATIO = 1.2
GOAL_MEMORY_TOLERANCE = 0.2


def machine() -> Dict[str, object]:
    """CPU, cores, memory and library versions, for the record."""
    import maxflow
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pymaxflow": maxflow.__version__,
        "platform": platform.platform(),
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def _time(call) -> Tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def time_pair(case, energies, repeats: int) -> Dict[str, object]:
    """Alternate ours and raw ``repeats`` times (after one warm-up each)."""
    ours_call = lambda: graph_cut(case.image, case.seeds, **case.kwargs())  # noqa: E731
    raw_call = lambda: raw_maxflow(energies)  # noqa: E731
    labels = ours_call()
    same = np.array_equal(labels, baseline_labels(energies, raw_call(), labels.dtype))
    ours: List[Tuple[float, float]] = []
    raw: List[Tuple[float, float]] = []
    for i in range(repeats):
        if i % 2 == 0:
            ours.append(_time(ours_call))
            raw.append(_time(raw_call))
        else:
            raw.append(_time(raw_call))
            ours.append(_time(ours_call))
    # seed validation (np.unique over the seeds), part of every graph_cut call
    shape = case.seeds.shape
    validate = lambda: check_seeds(case.seeds, full_shape=shape, spatial_shape=shape)  # noqa: E731
    validation = [_time(validate)[0] for _ in range(repeats)]
    ours_wall = [w for w, _ in ours]
    raw_wall = [w for w, _ in raw]
    ours_cpu = [c for _, c in ours]
    raw_cpu = [c for _, c in raw]
    result = {
        "same_labels": bool(same),
        "ours_s": ours_wall,
        "raw_s": raw_wall,
        "ours_cpu_s": ours_cpu,
        "raw_cpu_s": raw_cpu,
        "ours_median_s": statistics.median(ours_wall),
        "raw_median_s": statistics.median(raw_wall),
        "ours_cpu_median_s": statistics.median(ours_cpu),
        "raw_cpu_median_s": statistics.median(raw_cpu),
        "seed_validation_median_s": statistics.median(validation),
        "ratio_of_minima": min(ours_wall) / min(raw_wall),
        "median_pair_ratio": statistics.median(o / r for o, r in zip(ours_wall, raw_wall)),
    }
    result["ratio"] = result["ours_median_s"] / result["raw_median_s"]
    result["cpu_ratio"] = result["ours_cpu_median_s"] / result["raw_cpu_median_s"]
    result["ratio_without_validation"] = (
        result["ours_median_s"] - result["seed_validation_median_s"]
    ) / result["raw_median_s"]
    return result


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def _memory_line(
    name: str, ours: dict, estimate: int, raw: Optional[dict] = None
) -> Tuple[str, dict]:
    ratio = ours["peak_bytes"] / estimate
    record = {"graph_cut": ours, "estimate_bytes": estimate, "measured_over_estimate": ratio}
    line = (f"   peak memory {name}: graph_cut {_mb(ours['peak_bytes'])}, "
            f"estimate {_mb(estimate)}, measured/estimate {ratio:.3f}")
    if raw is not None:
        record["raw_maxflow"] = raw
        line += (f";  raw PyMaxflow {_mb(raw['peak_bytes'])} "
                 f"(ours/raw {ours['peak_bytes'] / raw['peak_bytes']:.2f})")
    ok = 1 - GOAL_MEMORY_TOLERANCE <= ratio <= 1.0
    line += "  OK" if ok else ("  UNDERESTIMATED" if ratio > 1 else "  estimate too high")
    return line, record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per side (default 7)")
    parser.add_argument("--no-multilabel", action="store_true", help="skip the five-label case")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", help="also write all figures to this file")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    results: Dict[str, object] = {"machine": info, "cases": {}}

    with tempfile.TemporaryDirectory(prefix="segkit-bench-") as tmp:
        for name in args.cases:
            t0 = time.perf_counter()
            case = make_case(name)
            print(f"\n== {name}: shape {case.seeds.shape}, spacing {case.spacing}, "
                  f"{case.n_labels} seed values (generated in {time.perf_counter() - t0:.1f} s)")
            energies = reference_energies(case)
            timing = time_pair(case, energies, args.repeats)
            del energies
            entry: Dict[str, object] = {"shape": list(case.seeds.shape), "timing": timing}
            print(f"   same labels as raw PyMaxflow: {timing['same_labels']}")
            for label, key in (("graph_cut  ", "ours"), ("raw maxflow", "raw")):
                wall = timing[f"{key}_s"]
                print(f"   {label} median {timing[f'{key}_median_s']:.3f} s "
                      f"(min {min(wall):.3f}, max {max(wall):.3f});  "
                      f"CPU median {timing[f'{key}_cpu_median_s']:.3f} s")
            verdict = "OK" if timing["ratio"] <= GOAL_TIME_RATIO else "ABOVE GOAL"
            print(f"   ratio whole call / raw: {timing['ratio']:.3f} "
                  f"(wall medians; goal <= {GOAL_TIME_RATIO}) {verdict}")
            print(f"      CPU medians {timing['cpu_ratio']:.3f}, "
                  f"of minima {timing['ratio_of_minima']:.3f}, "
                  f"median of pairs {timing['median_pair_ratio']:.3f}")
            validation = timing["seed_validation_median_s"]
            print(f"      seed validation (check_seeds, np.unique) {1e3 * validation:.1f} ms "
                  f"= {validation / timing['raw_median_s']:.3f} of raw; ratio without it "
                  f"{timing['ratio_without_validation']:.3f}")
            if not args.no_memory:
                path = save_case(case, tmp)
                ours = measure_in_subprocess(path, "graph_cut")
                raw = measure_in_subprocess(path, "raw_maxflow")
                line, entry["memory"] = _memory_line(name, ours, ours["estimate_bytes"], raw)
                print(line)
            results["cases"][name] = entry

        if not args.no_multilabel:
            for name in MULTI_LABEL_CASES:
                t0 = time.perf_counter()
                case = make_case(name)
                print(f"\n== {name}: shape {case.seeds.shape}, {case.n_labels} seed values, "
                      f"alpha-expansion, default options (generated in {time.perf_counter() - t0:.1f} s)")
                entry = {"shape": list(case.seeds.shape)}
                if args.no_memory:
                    wall, cpu = _time(lambda: graph_cut(case.image, case.seeds, **case.kwargs()))
                    entry["seconds"] = wall
                    print(f"   graph_cut {wall:.2f} s (one call; CPU {cpu:.2f} s)")
                else:
                    # one call in a fresh process gives both its time and its peak memory
                    ours = measure_in_subprocess(save_case(case, tmp), "graph_cut")
                    entry["seconds"] = ours["seconds"]
                    print(f"   graph_cut {ours['seconds']:.2f} s (one call, fresh process)")
                    line, entry["memory"] = _memory_line(name, ours, ours["estimate_bytes"])
                    print(line)
                results["cases"][name] = entry

    total = time.perf_counter() - started
    results["seconds"] = total
    print(f"\nbenchmark took {total:.0f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
