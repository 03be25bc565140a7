"""Batch normalisation's running statistics without the bias of their starting values.

A batch-norm layer keeps running estimates of its inputs' mean and variance
for inference, updated after each training batch as
``running = (1 - momentum) * running + momentum * batch`` from the starting
values 0 and 1.  After ``n`` batches the starting values still weigh
``(1 - momentum) ** n`` (0.43 after 8 batches at torch's 0.1): a layer whose
inputs vary far less than 1 (the band-pass levels of a Laplacian pyramid) is
then divided by a variance several times too large at inference, and the
held-out loss of the first epochs is wrong, rising while the training loss
falls.  With :class:`UnbiasedRunningStats` the ``n``-th update uses
``max(momentum, 1 / n)``: the first batches are averaged with equal weights
and the starting values weigh nothing, after which the layer's own momentum
applies.  Fine-tuned layers, which have already seen many batches, are not
affected.
"""

from __future__ import annotations

from typing import List, Tuple

__all__ = ["UnbiasedRunningStats"]


class UnbiasedRunningStats:
    """Set every batch-norm layer's momentum before each training step; :meth:`restore` puts it back.

    Parameters
    ----------
    network : torch.nn.Module
    """

    def __init__(self, network) -> None:
        from torch.nn.modules.batchnorm import _BatchNorm

        self._norms: List[Tuple[object, float]] = [
            (m, m.momentum) for m in network.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats and m.momentum is not None
        ]

    def before_step(self) -> None:
        """Weigh the coming batch ``max(momentum, 1 / n)``, ``n`` counting it."""
        for module, momentum in self._norms:
            module.momentum = max(momentum, 1.0 / (int(module.num_batches_tracked) + 1))

    def restore(self) -> None:
        """The layers' own momentum again (as saved and used for fine-tuning)."""
        for module, momentum in self._norms:
            module.momentum = momentum
