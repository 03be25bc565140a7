"""The training run's clock, learning-rate schedule and stopping rule."""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional

__all__ = ["BUDGET_CLOCKS", "LR_SCHEDULES", "TrainingClock", "plateau", "set_rate"]

#: Stopping rule with validation data: stop when the best validation loss has
#: not improved by at least PLATEAU_GAIN (relative) for the last
#: max(PLATEAU_EPOCHS, PLATEAU_FRACTION x epochs so far) epochs.
PLATEAU_EPOCHS = 12
PLATEAU_FRACTION = 0.3
PLATEAU_GAIN = 0.01
#: Learning-rate schedules: "cosine" decays from learning_rate to
#: FINAL_LR_FRACTION x learning_rate along the run (the time budget's, or the
#: epochs'), "constant" keeps it.
LR_SCHEDULES = ("cosine", "constant")
FINAL_LR_FRACTION = 0.05
#: What a time budget counts: "wall" seconds, or "cpu" seconds of this
#: process (all its threads), which a busy machine does not shrink.
BUDGET_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def set_rate(optimiser, learning_rate: float, schedule: str, fraction: float) -> None:
    rate = float(learning_rate)
    if schedule == "cosine":
        low = FINAL_LR_FRACTION * rate
        rate = low + 0.5 * (rate - low) * (1.0 + math.cos(math.pi * min(max(fraction, 0.0), 1.0)))
    for group in optimiser.param_groups:
        group["lr"] = rate


def plateau(history: List[Dict[str, Any]]) -> bool:
    """True when the best validation loss is no longer improving (the rule in the module constants)."""
    losses = [r["val_loss"] for r in history if r["val_loss"] is not None]
    window = max(PLATEAU_EPOCHS, int(math.ceil(PLATEAU_FRACTION * len(losses))))
    if len(losses) <= window:
        return False
    before = min(losses[:-window])
    return min(losses[-window:]) > before * (1.0 - PLATEAU_GAIN)


class TrainingClock:
    """Elapsed time against the budget, and how an epoch is named in messages."""

    def __init__(self, epochs: Optional[int], time_budget: Optional[float], clock: str = "wall") -> None:
        self.now = BUDGET_CLOCKS[clock]
        self.unit = "s" if clock == "wall" else "CPU s"
        self.start = self.now()
        self.epochs = epochs
        self.time_budget = time_budget

    def elapsed(self) -> float:
        """Seconds on the budget's clock since the start."""
        return self.now() - self.start

    def out_of_time(self) -> bool:
        return self.time_budget is not None and self.elapsed() > self.time_budget

    def fraction(self, epoch_progress: float, max_epochs: int) -> float:
        parts = []
        if self.epochs is not None:
            parts.append(epoch_progress / self.epochs)
        if self.time_budget is not None:
            parts.append(self.elapsed() / self.time_budget)
        if not parts:
            parts.append(epoch_progress / max_epochs)
        return min(1.0, max(parts))

    def epoch_label(self, epoch: int) -> str:
        """``epoch 3/10`` when an epoch count rules, ``epoch 3 (42 s of 480 s)`` with a budget."""
        label = f"epoch {epoch}" if self.epochs is None else f"epoch {epoch}/{self.epochs}"
        if self.time_budget is not None:
            label += f" ({self.elapsed():.0f} {self.unit} of {self.time_budget:.0f} {self.unit})"
        return label
