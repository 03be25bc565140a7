"""A 2-D / 3-D U-Net (Ronneberger et al. 2015) with configurable depth and width.

Convolutions are padded ("same"), so the output has the input's size; inputs
whose sides are not multiples of ``2**depth`` (or are smaller than that) are padded at their far end by edge replication and the output
is cropped back.  Padding only at the far end keeps a tile that starts on a
multiple of ``2**depth`` aligned with the whole image, which is what makes
tiled inference equal to whole-image inference.  Normalisation is batch
normalisation, which acts per pixel at inference, so a tile's output never
depends on the tile's statistics.
"""

from __future__ import annotations

from typing import List

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["UNet", "unet_receptive_radius"]


def unet_receptive_radius(depth: int) -> int:
    """An upper bound (in pixels) on how far a U-Net output pixel sees.

    Each level ``l`` adds two 3x3 convolutions on the way down and two on the
    way up (one pixel each at scale ``2**l``), plus one pixel at that scale
    for the pooling and one for the up-convolution; the bottom level adds two
    convolutions at scale ``2**depth``.
    """
    return sum(6 * 2**level for level in range(depth)) + 2 * 2**depth


class _DoubleConv(nn.Sequential):
    def __init__(self, conv, norm, cin: int, cout: int) -> None:
        super().__init__(
            conv(cin, cout, 3, padding=1, bias=False),
            norm(cout),
            nn.ReLU(inplace=True),
            conv(cout, cout, 3, padding=1, bias=False),
            norm(cout),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """U-Net over ``(N, C, [Z,] Y, X)`` tensors returning class logits.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    depth : int
        Number of poolings (1-6).
    width : int
        Feature maps at the top level; doubled at each level down.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        *,
        spatial_dims: int = 2,
        depth: int = 3,
        width: int = 16,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
        up = nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
        pool = nn.MaxPool2d if spatial_dims == 2 else nn.MaxPool3d
        self.spatial_dims = spatial_dims
        self.depth = depth
        widths = [width * 2**level for level in range(depth + 1)]
        self.encoders = nn.ModuleList(
            [_DoubleConv(conv, norm, in_channels if level == 0 else widths[level - 1], widths[level])
             for level in range(depth + 1)]
        )
        self.pool = pool(2)
        self.upsamplers = nn.ModuleList(
            [up(widths[level + 1], widths[level], 2, stride=2) for level in range(depth)]
        )
        self.decoders = nn.ModuleList(
            [_DoubleConv(conv, norm, 2 * widths[level], widths[level]) for level in range(depth)]
        )
        self.head = conv(widths[0], out_channels, 1)

    @property
    def multiple(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[2:]
        pads: List[int] = []
        for size in reversed(shape):  # F.pad lists the last axis first
            pads += [0, (-size) % self.multiple]
        if any(pads):
            x = F.pad(x, pads, mode="replicate")
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            if level < self.depth:
                skips.append(x)
                x = self.pool(x)
        for level in reversed(range(self.depth)):
            x = self.upsamplers[level](x)
            x = self.decoders[level](torch.cat([skips[level], x], dim=1))
        x = self.head(x)
        if any(pads):
            x = x[(Ellipsis,) + tuple(slice(0, s) for s in shape)]
        return x
