"""SegNet (Badrinarayanan, Kendall and Cipolla, 2017): unpooling with the encoder's indices.

The encoder is VGG-like: at each level ``convs`` 3x3 convolutions with batch
normalisation and ReLU, then a 2x2 max pooling that also returns *where* each
maximum was.  The decoder mirrors it: each level starts with a max
*unpooling* that puts every value back at the position its encoder level
recorded (zeros elsewhere; ``max_unpool``), followed by convolutions that
densify the sparse map.  No encoder features are copied to the decoder (that
is U-Net's way); only the indices travel.  A 1x1 convolution gives the class
logits.

Any input size goes in: sides are padded at their far end to a multiple of
``2**depth`` and the output is cropped back.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .backbones import crop_to, layers_for, pad_to_multiple
from .blocks import conv_norm_relu

__all__ = ["SegNet"]


class SegNet(nn.Module):
    """SegNet over ``(N, C, [Z,] Y, X)`` tensors returning class logits.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    depth : int
        Number of poolings (and unpoolings).
    width : int
        Features at the top level, doubled at each level down.
    convs : int
        Convolutions per level, in the encoder and in the decoder.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        *,
        spatial_dims: int = 2,
        depth: int = 3,
        width: int = 16,
        convs: int = 2,
    ) -> None:
        super().__init__()
        conv, norm, _ = layers_for(spatial_dims)
        self.spatial_dims = spatial_dims
        self.depth = int(depth)
        self.multiple = 2**self.depth
        widths = [int(width) * 2**level for level in range(self.depth)]
        self.encoders = nn.ModuleList(
            [conv_norm_relu(conv, norm, in_channels if level == 0 else widths[level - 1], [widths[level]] * convs)
             for level in range(self.depth)]
        )
        # decoder level l takes widths[l] features and hands widths[l - 1] to the level above
        self.decoders = nn.ModuleList(
            [conv_norm_relu(conv, norm, widths[level], [widths[level]] * (convs - 1) + [widths[max(level - 1, 0)]])
             for level in range(self.depth)]
        )
        self.head = conv(widths[0], out_channels, 1)

    def _pool(self, x: torch.Tensor):
        if self.spatial_dims == 2:
            return F.max_pool2d(x, 2, stride=2, return_indices=True)
        return F.max_pool3d(x, 2, stride=2, return_indices=True)

    def _unpool(self, x: torch.Tensor, indices: torch.Tensor, size) -> torch.Tensor:
        if self.spatial_dims == 2:
            return F.max_unpool2d(x, indices, 2, stride=2, output_size=size)
        return F.max_unpool3d(x, indices, 2, stride=2, output_size=size)

    def encode(self, x: torch.Tensor):
        """Encoder: the coarsest features and, per level, ``(indices, size)`` of its pooling."""
        pooled = []
        for encoder in self.encoders:
            x = encoder(x)
            size = x.shape[2:]
            x, indices = self._pool(x)
            pooled.append((indices, size))
        return x, pooled

    def decode(self, x: torch.Tensor, pooled) -> torch.Tensor:
        for level in reversed(range(self.depth)):
            indices, size = pooled[level]
            x = self.decoders[level](self._unpool(x, indices, size))
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, shape = pad_to_multiple(x, self.multiple)
        return crop_to(self.decode(*self.encode(x)), shape)
