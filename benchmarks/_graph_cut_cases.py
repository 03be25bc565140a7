"""Benchmark inputs and the raw PyMaxflow baseline, shared by the benchmark scripts.

The baseline gets the energies ready-made (contrast weights per neighbour
offset, already scaled by the smoothness, and the terminal capacities with the
seeds as hard constraints) and only does what any PyMaxflow user has to do:
build the grid graph with ``add_grid_edges`` / ``add_grid_tedges``, run
``maxflow()`` and read the segments.  The energies are computed here with the
package's own building blocks in their plain form, so both sides solve the
same problem and must return the same labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from napari_segkit.graph.neighbourhood import neighbour_offsets, resolve_connectivity
from napari_segkit.graph.pairwise import contrast_weights
from napari_segkit.graph.unary import HistogramModel, normalise_features
from napari_segkit.samples import nuclei_2d, nuclei_3d

SMOOTHNESS = 2.0  # graph_cut's default


@dataclass
class Case:
    """One benchmark input: what ``graph_cut`` is called with."""

    name: str
    image: np.ndarray
    seeds: np.ndarray
    spacing: Tuple[float, ...]

    @property
    def n_labels(self) -> int:
        return int(np.count_nonzero(np.unique(self.seeds)))

    def kwargs(self) -> dict:
        # seed values kept (no background -> 0), so the labels compare with raw PyMaxflow's
        return {"spacing": self.spacing, "background": None}


# name -> (generator, arguments); the two-label sizes are those of the benchmark issue
CASES = {
    "2d": (nuclei_2d, {"shape": (1024, 1024), "n_nuclei": 300}),
    "3d": (nuclei_3d, {"shape": (64, 256, 256), "n_nuclei": 40}),
}
# five seed values (alpha-expansion), for information: smaller, as each of its
# up to 25 moves (and the reruns that keep regions connected) is a full max-flow
MULTI_LABEL_CASES = {
    "2d-5labels": (nuclei_2d, {"shape": (512, 512), "n_nuclei": 75}),
}


def make_case(name: str) -> Case:
    """Generate a benchmark input (a few seconds each; deterministic)."""
    if name in MULTI_LABEL_CASES:
        generator, kwargs = MULTI_LABEL_CASES[name]
        sample = generator(**kwargs)
        case = Case(name, sample.image, sample.seeds, tuple(sample.spacing))
        return five_label_case(case, name)
    generator, kwargs = CASES[name]
    sample = generator(**kwargs)
    return Case(name, sample.image, sample.seeds, tuple(sample.spacing))


def five_label_case(case: Case, name: Optional[str] = None) -> Case:
    """The same image with 5 seed values: nuclei split in 3 by x, background in 2 by y."""
    seeds = case.seeds.copy()
    x = np.arange(seeds.shape[-1])
    y = np.arange(seeds.shape[-2])[:, np.newaxis]
    nuclei = case.seeds == 1
    background = case.seeds == 2
    width = seeds.shape[-1]
    seeds[nuclei & (x >= width // 3)] = 3
    seeds[nuclei & (x >= 2 * width // 3)] = 4
    seeds[background & (y >= seeds.shape[-2] // 2)] = 5
    return Case(name or case.name + "-5labels", case.image, seeds, case.spacing)


def save_case(case: Case, directory: str) -> str:
    path = os.path.join(directory, f"{case.name}.npz")
    np.savez(path, image=case.image, seeds=case.seeds, spacing=np.asarray(case.spacing))
    return path


def load_case(path: str) -> Case:
    with np.load(path) as data:
        name = os.path.splitext(os.path.basename(path))[0]
        return Case(name, data["image"], data["seeds"], tuple(float(s) for s in data["spacing"]))


@dataclass
class Energies:
    """A two-label cut, ready for PyMaxflow."""

    shape: Tuple[int, ...]
    edges: List[Tuple[Tuple[int, ...], np.ndarray]]  # (offset, float64 weights)
    source: np.ndarray  # float64 capacity of the source link (cost of label 1)
    sink: np.ndarray  # float64 capacity of the sink link (cost of label 0)
    values: np.ndarray  # the two seed values


def reference_energies(case: Case, *, smoothness: float = SMOOTHNESS, connectivity: int = 1) -> Energies:
    """The energies ``graph_cut`` minimises for a two-label, single-frame case.

    Histogram data term learned from the seeds, Boykov-Jolly contrast weights
    scaled by ``smoothness``, seeds as hard constraints, terminal capacities
    shifted so the smaller one is 0 (as in Boykov and Jolly).
    """
    values = np.unique(case.seeds)
    values = values[values != 0]
    if values.size != 2:
        raise ValueError("the PyMaxflow baseline is a two-label cut")
    ndim = case.seeds.ndim
    offsets = neighbour_offsets(ndim, resolve_connectivity(connectivity, ndim))
    features = normalise_features(case.image[..., np.newaxis])
    model = HistogramModel(1).fit(features, case.seeds, values)
    unary = model.unary(features)
    edges = contrast_weights(features, offsets, case.spacing)
    for _, weights in edges:
        weights *= smoothness
    hard = float(unary.max()) + 2.0 * len(offsets) * smoothness + 1.0
    for k, value in enumerate(values):
        unary[k][case.seeds != 0] = hard
        unary[k][case.seeds == value] = 0.0
    low = np.minimum(unary[0], unary[1])
    return Energies(case.seeds.shape, edges, unary[1] - low, unary[0] - low, values)


def _structure(offset) -> np.ndarray:
    structure = np.zeros((3,) * len(offset))
    structure[tuple(o + 1 for o in offset)] = 1.0
    return structure


def raw_maxflow(energies: Energies) -> np.ndarray:
    """The baseline: grid graph, max-flow, segments (True = label 1)."""
    import maxflow

    n_nodes = int(np.prod(energies.shape))
    graph = maxflow.Graph[float](n_nodes, n_nodes * len(energies.edges))
    nodes = graph.add_grid_nodes(energies.shape)
    for offset, weights in energies.edges:
        graph.add_grid_edges(nodes, weights=weights, structure=_structure(offset), symmetric=True)
    graph.add_grid_tedges(nodes, energies.source, energies.sink)
    graph.maxflow()
    return graph.get_grid_segments(nodes)


def baseline_labels(energies: Energies, segments: np.ndarray, dtype: Optional[np.dtype] = None) -> np.ndarray:
    """Segments as the seed values ``graph_cut`` returns."""
    labels = np.where(segments, energies.values[1], energies.values[0])
    return labels.astype(dtype) if dtype is not None else labels
