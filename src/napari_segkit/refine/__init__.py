"""Refinement of probability maps: dense CRF and graph cut with scribbles.

Probabilities carry the class axis LAST (class 0 = background), as
:func:`napari_segkit.predict_probabilities` returns them, so
``crf_refine(image, predict_probabilities(image, model))`` chains as written.

- :mod:`.crf`: :func:`crf_refine`, the fully connected CRF of Krahenbuhl and
  Koltun with mean-field inference on the permutohedral lattice.
- :mod:`.graph_cut_refine`: :func:`graph_cut_refine`, a max-flow cut of the
  probability map with contrast-sensitive smoothness and scribbles as hard
  constraints; labels 0 = background, class ``k`` = ``k``.
- :mod:`.instances`: :func:`refine_instances`, either refinement applied to an
  instance segmentation, keeping its object ids.
- :mod:`.lattice`: the permutohedral lattice (fast high-dimensional Gaussian
  filtering).
- :mod:`.reference`: the exact ``O(N^2)`` dense CRF, for checks on small images.
"""

from .crf import crf_refine, estimate_crf_memory

__all__ = ["crf_refine", "estimate_crf_memory"]
from .graph_cut_refine import estimate_graph_cut_refine_memory, graph_cut_refine

__all__ += ["estimate_graph_cut_refine_memory", "graph_cut_refine"]
from .instances import refine_instances

__all__ += ["refine_instances"]
