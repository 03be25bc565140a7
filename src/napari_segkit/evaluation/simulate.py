"""Run the click robot against a segmenter and summarise the effort it took.

A segmenter is any callable ``segment(prompts) -> mask`` taking the prompts
so far (:class:`Prompts`: an optional box, positive and negative clicks) and
returning the current mask of the object.  The run stops once the IoU reaches
the highest threshold asked for, or at the cap.  NoC@t is the number of
interactions (the first box or click included) until IoU >= t, the cap when
it is never reached; NoF@t counts the objects that never reach it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .click_robot import ClickRobot
from .scores import iou

__all__ = ["Prompts", "InteractionRecord", "simulate_interactions", "summarize_sessions"]


@dataclass
class Prompts:
    """The prompts given so far for one object.

    ``box`` is a (2, ndim) ``[min corner, max corner)`` array or None;
    ``positive`` and ``negative`` are lists of click coordinates (pixels).
    """

    box: Optional[np.ndarray] = None
    positive: List[Tuple[int, ...]] = field(default_factory=list)
    negative: List[Tuple[int, ...]] = field(default_factory=list)
    #: the newest click and its sign (True = positive), None before any click
    last_click: Optional[Tuple[Tuple[int, ...], bool]] = None

    @property
    def n_interactions(self) -> int:
        return int(self.box is not None) + len(self.positive) + len(self.negative)


@dataclass
class InteractionRecord:
    """IoU and time after each interaction of one simulated session."""

    ious: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    cap: int = 20

    @property
    def first_iou(self) -> float:
        return self.ious[0] if self.ious else 0.0

    def reached(self, threshold: float) -> bool:
        return any(v >= threshold for v in self.ious)

    def noc(self, threshold: float) -> int:
        """Interactions until IoU >= threshold (the first included); the cap when never."""
        for i, value in enumerate(self.ious):
            if value >= threshold:
                return i + 1
        return self.cap


def simulate_interactions(
    robot: ClickRobot,
    segment: Callable[[Prompts], Any],
    *,
    start: str = "box",
    max_interactions: int = 20,
    stop_at: float = 0.9,
    margin: int = 3,
) -> InteractionRecord:
    """Let ``robot`` segment its object with ``segment``, one interaction at a time.

    Parameters
    ----------
    robot : ClickRobot
    segment : callable
        ``segment(prompts) -> mask`` (non-zero = object), the reference's shape.
    start : {"box", "click"}
        First interaction: the bounding box grown by ``margin``, or a positive
        click at the deepest interior point.
    max_interactions : int
        The cap (20 in the literature).
    stop_at : float
        Stop once the IoU reaches this value.
    """
    if start not in ("box", "click"):
        raise InputError(f"start must be 'box' or 'click', got {start!r}")
    if isinstance(max_interactions, bool) or not isinstance(max_interactions, (int, np.integer)) or max_interactions < 1:
        raise InputError(f"max_interactions must be an integer >= 1, got {max_interactions!r}")
    prompts = Prompts()
    if start == "box":
        prompts.box = robot.first_box(margin)
    else:
        click = robot.first_click()
        prompts.positive.append(click)
        prompts.last_click = (click, True)
    record = InteractionRecord(cap=int(max_interactions))
    while True:
        began = time.perf_counter()
        mask = np.asarray(segment(prompts))
        record.seconds.append(time.perf_counter() - began)
        record.ious.append(iou(mask, robot.reference))
        if record.ious[-1] >= stop_at or len(record.ious) >= max_interactions:
            return record
        step = robot.next_click(mask)
        if step is None:
            return record
        coords, positive = step
        (prompts.positive if positive else prompts.negative).append(coords)
        prompts.last_click = (coords, positive)


def summarize_sessions(
    records: Sequence[InteractionRecord], thresholds: Sequence[float] = (0.85, 0.9)
) -> Dict[str, float]:
    """Mean first IoU, mean NoC and NoF per threshold, median seconds per interaction."""
    if not records:
        return {}
    out: Dict[str, float] = {
        "n_objects": len(records),
        "first_iou": float(np.mean([r.first_iou for r in records])),
        "seconds_per_interaction": float(np.median(np.concatenate([r.seconds for r in records]))),
    }
    for t in thresholds:
        key = f"{round(t * 100):d}"
        out[f"noc{key}"] = float(np.mean([r.noc(t) for r in records]))
        out[f"nof{key}"] = int(sum(not r.reached(t) for r in records))
    return out
