"""DeepLabv3 (Chen, Papandreou, Schroff and Adam, 2017): atrous convolution and ASPP.

The ResNet backbone (:class:`~.backbones.ResNetBackbone`) keeps its
resolution after ``output_stride``: later stages use atrous (dilated)
convolutions instead of striding, and the last stage's blocks multiply their
rate by ``multi_grid``.  Atrous spatial pyramid pooling (:class:`ASPP`) then
looks at the features through parallel branches - a 1x1 convolution, one 3x3
convolution per rate in ``aspp_rates``, and image-level pooling - whose
outputs are concatenated and projected by a 1x1 convolution.  A 3x3
convolution and a 1x1 classifier give the logits, up-sampled bilinearly to the
input size.

Image pooling: ``"window"`` (default) averages over a ``context``-pixel box
around each position, which keeps the network local so tiled prediction is
exact; ``"global"`` is the paper's average over the whole input (tiled
prediction then differs from whole-image prediction, see
:mod:`.architectures`); ``"none"`` drops the branch.  The pooled branch has a
biased 1x1 convolution and ReLU (no batch normalisation, which would need
more than one value per channel in training).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .architectures import window_size
from .backbones import ResNetBackbone, box_mean, crop_to, layers_for, pad_to_multiple, upsample
from .blocks import class_head, conv_norm_relu

__all__ = ["ASPP", "DeepLabV3"]


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling.

    Attributes
    ----------
    branches : ModuleList
        ``branches[0]`` the 1x1 convolution, then one dilated 3x3 convolution
        per rate (``branches[i][0].dilation``).
    pooling : Module or None
        The image-level branch.
    rates : tuple of int
    """

    def __init__(self, spatial_dims: int, cin: int, cout: int, rates: Sequence[int], *,
                 image_pooling: str = "window", window: int = 1) -> None:
        super().__init__()
        conv, norm, _ = layers_for(spatial_dims)
        self.rates = tuple(int(r) for r in rates)
        self.image_pooling = image_pooling
        self.window = int(window)
        branches = [nn.Sequential(conv(cin, cout, 1, bias=False), norm(cout), nn.ReLU(inplace=True))]
        for rate in self.rates:
            branches.append(nn.Sequential(
                conv(cin, cout, 3, padding=rate, dilation=rate, bias=False), norm(cout), nn.ReLU(inplace=True)))
        self.branches = nn.ModuleList(branches)
        self.pooling = None
        if image_pooling != "none":
            self.pooling = nn.Sequential(conv(cin, cout, 1), nn.ReLU(inplace=True))
        n = len(branches) + (self.pooling is not None)
        self.project = conv_norm_relu(conv, norm, n * cout, [cout], kernel=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.branches]
        if self.pooling is not None:
            if self.image_pooling == "global":
                pooled = self.pooling(x.mean(dim=tuple(range(2, x.dim())), keepdim=True))
                outputs.append(pooled.expand(-1, -1, *x.shape[2:]))
            else:
                outputs.append(self.pooling(box_mean(x, self.window)))
        return self.project(torch.cat(outputs, dim=1))


class DeepLabV3(nn.Module):
    """DeepLabv3 over ``(N, C, [Z,] Y, X)`` tensors returning class logits of the input's size.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    backbone : {"small", "resnet18", "resnet34"}
    width : int
        Stem features of the ``"small"`` backbone; the ASPP has ``4 * width``
        (at most 256) features per branch.
    output_stride : int
        Down-sampling of the backbone's output (the rest is atrous).
    multi_grid : sequence of int
        Rate multipliers of the last stage's blocks.
    aspp_rates : sequence of int
        Dilation rates of the ASPP's 3x3 branches.
    image_pooling : {"window", "global", "none"}
    context : int
        Box width in pixels of ``"window"`` image pooling.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        *,
        spatial_dims: int = 2,
        backbone: str = "small",
        width: int = 16,
        output_stride: int = 8,
        multi_grid: Sequence[int] = (1, 2),
        aspp_rates: Sequence[int] = (2, 4, 6),
        image_pooling: str = "window",
        context: int = 128,
    ) -> None:
        super().__init__()
        conv, norm, _ = layers_for(spatial_dims)
        self.backbone = ResNetBackbone(in_channels, spatial_dims, variant=backbone, width=width,
                                       output_stride=output_stride, multi_grid=multi_grid)
        self.multiple = int(output_stride)
        features = min(4 * int(width), 256) if backbone == "small" else 256
        self.aspp = ASPP(spatial_dims, self.backbone.channels[-1], features, aspp_rates,
                         image_pooling=image_pooling, window=window_size(context, output_stride))
        self.head = class_head(conv, norm, features, features, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, shape = pad_to_multiple(x, self.multiple)
        logits = self.head(self.aspp(self.backbone(x)[-1]))
        return crop_to(upsample(logits, x.shape[2:]), shape)
