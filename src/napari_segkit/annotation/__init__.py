"""Annotating a dataset: accepted objects, background marks, done regions, and their record.

:class:`AnnotationSet` holds the labels of every image of a dataset and only
grows by objects the user accepts (from any method: a box, clicks, seeds, a
network proposal); delete, merge, split and undo are events too, and the
record of events (prompts, parameters, model versions, times) rebuilds the
labels exactly with :func:`replay`.  :class:`ProposalCorrection` corrects a
network's proposals with clicks and accepts them; :func:`dataset_labels` is
accepted objects over proposals.  :func:`training_inputs` turns the set
into images and sparse labels for :func:`napari_segkit.train_model`.
"""

from __future__ import annotations

from .annotation_set import AnnotationSet, Effort, replay
from .correction import ProposalCorrection, dataset_labels
from .ranking import Ranked, rank_objects, rank_regions
from .edits import split_by_line, split_by_seeds
from .training import IGNORE_LABEL, TrainingInputs, sparse_labels, split_frames, training_inputs

__all__ = [
    "IGNORE_LABEL",
    "AnnotationSet",
    "Effort",
    "ProposalCorrection",
    "Ranked",
    "TrainingInputs",
    "dataset_labels",
    "rank_objects",
    "rank_regions",
    "replay",
    "sparse_labels",
    "split_frames",
    "split_by_line",
    "split_by_seeds",
    "training_inputs",
]
