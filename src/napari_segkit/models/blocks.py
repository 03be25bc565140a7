"""Layer sequences shared by the architectures: convolution + batch norm + ReLU runs, and class heads.

Both return plain ``nn.Sequential`` layouts (convolution, norm, ReLU, ...),
so the parameter names of saved models (``head.0.weight``, ``head.1.running_mean``,
...) are the same as when each architecture wrote them out itself.
"""

from __future__ import annotations

from typing import List, Sequence

from torch import nn

__all__ = ["class_head", "conv_norm_relu"]


def conv_norm_relu(conv, norm, cin: int, widths: Sequence[int], kernel: int = 3) -> nn.Sequential:
    """``kernel``-sized convolutions (padded, no bias) to each of ``widths`` in turn, each + norm + ReLU."""
    layers: List[nn.Module] = []
    for cout in widths:
        layers += [conv(cin, cout, kernel, padding=kernel // 2, bias=False), norm(cout), nn.ReLU(inplace=True)]
        cin = cout
    return nn.Sequential(*layers)


def class_head(conv, norm, cin: int, hidden: int, classes: int, *, kernel: int = 3,
               dropout: float = 0.0) -> nn.Sequential:
    """Per-pixel classifier: convolution to ``hidden`` + norm + ReLU (+ dropout), then a 1x1 convolution."""
    layers = list(conv_norm_relu(conv, norm, cin, [hidden], kernel))
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(conv(hidden, classes, 1))
    return nn.Sequential(*layers)
