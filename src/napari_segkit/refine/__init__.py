"""Refinement of probability maps: dense CRF and graph cut with scribbles.

- :mod:`.crf`: :func:`crf_refine`, the fully connected CRF of Krahenbuhl and
  Koltun with mean-field inference on the permutohedral lattice.
- :mod:`.graph_cut_refine`: :func:`graph_cut_refine`, a max-flow cut of the
  probability map with contrast-sensitive smoothness and scribbles as hard
  constraints.
- :mod:`.lattice`: the permutohedral lattice (fast high-dimensional Gaussian
  filtering).
- :mod:`.reference`: the exact ``O(N^2)`` dense CRF, for checks on small images.
"""

from .crf import crf_refine, estimate_crf_memory

__all__ = ["crf_refine", "estimate_crf_memory"]
from .graph_cut_refine import estimate_graph_cut_refine_memory, graph_cut_refine

__all__ += ["estimate_graph_cut_refine_memory", "graph_cut_refine"]
