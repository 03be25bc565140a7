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

import torch
from torch import nn

from .backbones import crop_to, layers_for, pad_to_multiple
from .blocks import conv_norm_relu

__all__ = ["UNet", "unet_receptive_radius"]


def unet_receptive_radius(depth: int) -> int:
    """An upper bound (in pixels) on how far a U-Net output pixel sees.

    Each level ``l`` adds two 3x3 convolutions on the way down and two on the
    way up (one pixel each at scale ``2**l``), plus one pixel at that scale
    for the pooling and one for the up-convolution; the bottom level adds two
    convolutions at scale ``2**depth``.
    """
    return sum(6 * 2**level for level in range(depth)) + 2 * 2**depth


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
        conv, norm, pool = layers_for(spatial_dims)
        up = nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
        self.spatial_dims = spatial_dims
        self.depth = depth
        widths = [width * 2**level for level in range(depth + 1)]
        self.encoders = nn.ModuleList(
            [conv_norm_relu(conv, norm, in_channels if level == 0 else widths[level - 1], [widths[level]] * 2)
             for level in range(depth + 1)]
        )
        self.pool = pool(2)
        self.upsamplers = nn.ModuleList(
            [up(widths[level + 1], widths[level], 2, stride=2) for level in range(depth)]
        )
        self.decoders = nn.ModuleList(
            [conv_norm_relu(conv, norm, 2 * widths[level], [widths[level]] * 2) for level in range(depth)]
        )
        self.head = conv(widths[0], out_channels, 1)

    @property
    def multiple(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, shape = pad_to_multiple(x, self.multiple)
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            if level < self.depth:
                skips.append(x)
                x = self.pool(x)
        for level in reversed(range(self.depth)):
            x = self.upsamplers[level](x)
            x = self.decoders[level](torch.cat([skips[level], x], dim=1))
        return crop_to(self.head(x), shape)
