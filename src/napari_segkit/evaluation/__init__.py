"""Scores and a simulated user, to measure segmentation quality and effort.

``scores`` compares masks and instance labels (IoU, Dice, instance matching
and F1 at an IoU threshold); ``click_robot`` is the standard simulated user of
interactive segmentation (a first box or click, then each click at the deepest
point of the larger error), and ``simulate`` runs it against any segmenter.
"""

from __future__ import annotations

from .click_robot import ClickRobot, click_seed
from .scores import InstanceMatch, dice, foreground_dice, instance_f1, iou, match_instances
from .simulate import InteractionRecord, Prompts, summarize_sessions, simulate_interactions

__all__ = [
    "ClickRobot",
    "InstanceMatch",
    "InteractionRecord",
    "Prompts",
    "click_seed",
    "dice",
    "foreground_dice",
    "instance_f1",
    "iou",
    "match_instances",
    "simulate_interactions",
    "summarize_sessions",
]
