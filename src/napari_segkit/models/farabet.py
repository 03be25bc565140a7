"""Farabet et al. 2013's multi-scale convolutional network, for 2-D and 3-D microscopy.

*Learning Hierarchical Features for Scene Labeling* (Farabet, Couprie, Najman,
LeCun; IEEE TPAMI 2013): the image is turned into a pyramid of ``scales``
levels, each half the size of the one before; **one** convolutional stack,
with the same weights at every level, extracts features from each level; the
features of all levels are up-sampled to the input's size and concatenated,
so every pixel is described by a context that grows with the level (a few
pixels at level 0, 2**(scales-1) times more at the last); a per-pixel
classifier (two 1x1 convolutions, the paper's two-layer perceptron) gives the
class logits.  The paper then averages the class scores over superpixels for
the final labels: see :func:`~napari_segkit.models.superpixel_vote.vote_over_superpixels`
and ``predict_labels(..., superpixel_voting=True)``.

Pyramid.  Level ``k + 1`` is level ``k`` blurred by a binomial 3-tap kernel
(per axis) and sub-sampled by two: a Gaussian pyramid.  With
``pyramid="laplacian"`` (the paper's choice) every level but the last is
replaced by its difference with the up-sampled next level, so each level
carries one band of frequencies and the last the coarse intensities.

The stack is the paper's three stages, scaled down for a CPU: two 3x3
convolutions with batch normalisation and ReLU, 2x max pooling, two more
convolutions at twice the width, pooling, and a last convolution at four
times the width (the paper: 7x7 filters, 16-64-256 maps, tanh).  The
convolution weights are shared by all levels; batch normalisation is per
level (the paper normalises each level's contrast locally instead): with
shared running statistics a Laplacian pyramid trained to the same loss but
predicted a foreground IoU of 0.50 instead of 0.92 on held-out synthetic
nuclei.  Their momentum is 0.3 (see ``BN_MOMENTUM``).

Tiling.  Every operation is local, and the input is replicate-padded at its
far end to a multiple of ``align = 2**(scales - 1) * 4``, so a tile that
starts on a multiple of ``align`` sees the same grid as the whole image and,
with a halo of :func:`farabet_receptive_radius`, tiled output equals
whole-image output (tested).
"""

from __future__ import annotations

from functools import partial
from typing import List

import torch
from torch import nn
from torch.nn import functional as F

from .backbones import crop_to, layers_for, pad_to_multiple, upsample
from .blocks import class_head

__all__ = ["Farabet"]

STACK_POOLINGS = 2
#: Batch-norm momentum: the running statistics follow the last few batches
#: (torch's 0.1 follows about ten), because the shared weights change every
#: level's statistics at once and lagging statistics made the held-out loss of
#: the first epochs rise while the training loss fell (REAL kc167 half:
#: 1.20, 1.72, 2.42, 2.68 with 0.1; 0.97, 0.86, 0.82, 0.77 with 0.3 and
#: unbiased starting statistics, see running_stats.py).
BN_MOMENTUM = 0.3


def _binomial_kernel(channels: int, spatial_dims: int, dtype, device) -> torch.Tensor:
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=dtype, device=device) / 4.0
    kernel = taps
    for _ in range(spatial_dims - 1):
        kernel = kernel[..., None] * taps
    return kernel.expand((channels, 1) + (3,) * spatial_dims).contiguous()


def blur_down(x: torch.Tensor) -> torch.Tensor:
    """Binomial blur (1-2-1 per axis) and sub-sampling by two; output ``j`` is centred on input ``2 j``."""
    spatial_dims = x.dim() - 2
    kernel = _binomial_kernel(x.shape[1], spatial_dims, x.dtype, x.device)
    padded = F.pad(x, [1, 1] * spatial_dims, mode="replicate")
    conv = F.conv2d if spatial_dims == 2 else F.conv3d
    return conv(padded, kernel, stride=2, groups=x.shape[1])


def pyramid_levels(x: torch.Tensor, scales: int, kind: str) -> List[torch.Tensor]:
    """The ``scales`` levels of a Gaussian or Laplacian pyramid of ``x`` (sides multiples of 2**(scales-1))."""
    gaussian = [x]
    for _ in range(scales - 1):
        gaussian.append(blur_down(gaussian[-1]))
    if kind == "gaussian":
        return gaussian
    levels = [g - upsample(g_next, g.shape[2:]) for g, g_next in zip(gaussian[:-1], gaussian[1:])]
    return levels + [gaussian[-1]]


class _Stack(nn.Module):
    """The shared feature extractor: conv-conv-pool, conv-conv-pool, conv.

    The convolutions are shared by every pyramid level; each level has its
    own batch normalisation, because the levels' statistics differ (a
    Laplacian level is a zero-mean band, the last level the coarse image) and
    one set of running statistics for all would not match any of them at
    inference.
    """

    PLAN = ((1, 1), (1, 2), "pool", (2, 2), (2, 2), "pool", (2, 4))  # (in, out) in units of width

    def __init__(self, spatial_dims: int, cin: int, width: int, levels: int) -> None:
        super().__init__()
        conv, norm, pool = layers_for(spatial_dims)
        convs = []
        for step in self.PLAN:
            if step != "pool":
                a, b = step
                convs.append(conv(cin if not convs else a * width, b * width, 3, padding=1, bias=False))
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(
            [nn.ModuleList([norm(c.out_channels, momentum=BN_MOMENTUM) for c in convs]) for _ in range(levels)]
        )
        self.pool = pool(2)

    def forward(self, x: torch.Tensor, level: int) -> torch.Tensor:
        index = 0
        for step in self.PLAN:
            if step == "pool":
                x = self.pool(x)
                continue
            x = F.relu(self.norms[level][index](self.convs[index](x)), inplace=True)
            index += 1
        return x


class Farabet(nn.Module):
    """Multi-scale network over ``(N, C, [Z,] Y, X)`` tensors returning class logits.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    scales : int
        Pyramid levels (1-5); level ``k`` is ``2**k`` times smaller.
    width : int
        Feature maps of the stack's first stage (then 2x and 4x).
    pyramid : {"laplacian", "gaussian"}
    hidden : int
        Units of the per-pixel classifier's hidden layer.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        *,
        spatial_dims: int = 2,
        scales: int = 3,
        width: int = 16,
        pyramid: str = "laplacian",
        hidden: int = 64,
    ) -> None:
        super().__init__()
        conv, norm, _ = layers_for(spatial_dims)
        self.spatial_dims = spatial_dims
        self.scales = int(scales)
        self.pyramid = pyramid
        self.stack = _Stack(spatial_dims, in_channels, width, self.scales)
        features = 4 * width * self.scales
        self.classifier = class_head(conv, partial(norm, momentum=BN_MOMENTUM), features, hidden, out_channels,
                                     kernel=1)

    @property
    def multiple(self) -> int:
        return 2 ** (self.scales - 1) * 2**STACK_POOLINGS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, shape = pad_to_multiple(x, self.multiple)
        size = x.shape[2:]
        levels = pyramid_levels(x, self.scales, self.pyramid)
        features = [upsample(self.stack(level, k), size) for k, level in enumerate(levels)]
        return crop_to(self.classifier(torch.cat(features, dim=1)), shape)
