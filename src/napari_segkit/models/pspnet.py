"""PSPNet (Zhao, Shi, Qi, Wang and Jia, 2017): pyramid pooling and an auxiliary loss.

A dilated ResNet backbone (as in DeepLab, :class:`~.backbones.ResNetBackbone`
with ``output_stride``) feeds the pyramid pooling module
(:class:`PyramidPooling`): for each bin count ``b`` in ``bins`` the features
are averaged over regions ``1/b`` of the context wide, reduced by a 1x1
convolution to ``C / len(bins)`` features and brought back to the feature
grid; they are concatenated with the features themselves, and a 3x3
convolution and a 1x1 classifier give logits, up-sampled bilinearly to the
input size.

Pooling: ``"window"`` (default) averages over a box ``context / b`` pixels wide
around each position - the translation-equivariant form of pooling a
``context``-sized crop into ``b x b`` bins - which keeps the network local so
tiled prediction is exact; ``"global"`` is the paper's adaptive pooling of
the whole input into ``b x b`` bins, up-sampled bilinearly (tiled prediction
then differs from whole-image prediction, see :mod:`.architectures`).

Auxiliary loss: a second classifier on the third stage's features.  In
training mode the network returns ``(main, auxiliary)`` logits and
``train_model`` adds ``aux_weight`` times the auxiliary loss (0.4 in the
paper); in evaluation mode it returns the main logits only, so prediction
and model files are as for every other architecture.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .architectures import window_size
from .backbones import ResNetBackbone, box_mean, crop_to, layers_for, pad_to_multiple, upsample
from .blocks import class_head

__all__ = ["PSPNet", "PyramidPooling"]


class PyramidPooling(nn.Module):
    """The pyramid pooling module: the features plus one pooled, reduced map per bin count."""

    def __init__(self, spatial_dims: int, cin: int, bins: Sequence[int], *, pooling: str = "window",
                 context: int = 128, stride: int = 8) -> None:
        super().__init__()
        conv, _, _ = layers_for(spatial_dims)
        self.bins = tuple(int(b) for b in bins)
        self.pooling = pooling
        self.windows = tuple(window_size(context, stride, b) for b in self.bins)
        reduced = max(1, cin // len(self.bins))
        self.stages = nn.ModuleList(
            [nn.Sequential(conv(cin, reduced, 1), nn.ReLU(inplace=True)) for _ in self.bins]
        )
        self.out_channels = cin + reduced * len(self.bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        size = x.shape[2:]
        for b, window, stage in zip(self.bins, self.windows, self.stages):
            if self.pooling == "global":
                pool = F.adaptive_avg_pool2d if x.dim() == 4 else F.adaptive_avg_pool3d
                outputs.append(upsample(stage(pool(x, b)), size))
            else:
                outputs.append(stage(box_mean(x, window)))
        return torch.cat(outputs, dim=1)


class PSPNet(nn.Module):
    """PSPNet over ``(N, C, [Z,] Y, X)`` tensors returning class logits of the input's size.

    In training mode ``forward`` returns ``(main, auxiliary)`` logits.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    backbone : {"small", "resnet18", "resnet34"}
    width : int
        Stem features of the ``"small"`` backbone.
    output_stride : int
    bins : sequence of int
        Bin counts of the pyramid (1, 2, 3, 6 in the paper).
    pooling : {"window", "global"}
    context : int
        Pixels spanned by bin 1 in ``"window"`` pooling.
    aux_weight : float
        Weight of the auxiliary loss in training (``aux_loss_weight``).
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
        bins: Sequence[int] = (1, 2, 3, 6),
        pooling: str = "window",
        context: int = 128,
        aux_weight: float = 0.4,
    ) -> None:
        super().__init__()
        conv, norm, _ = layers_for(spatial_dims)
        self.backbone = ResNetBackbone(in_channels, spatial_dims, variant=backbone, width=width,
                                       output_stride=output_stride)
        self.multiple = int(output_stride)
        self.aux_loss_weight = float(aux_weight)
        top = self.backbone.channels[-1]
        self.ppm = PyramidPooling(spatial_dims, top, bins, pooling=pooling, context=context,
                                  stride=output_stride)
        hidden = max(top // 2, out_channels)
        self.head = class_head(conv, norm, self.ppm.out_channels, hidden, out_channels, dropout=0.1)
        mid = self.backbone.channels[-2]
        self.aux_head = class_head(conv, norm, mid, mid, out_channels, dropout=0.1)

    def forward(self, x: torch.Tensor):
        x, shape = pad_to_multiple(x, self.multiple)
        features = self.backbone(x)
        size = x.shape[2:]
        main = crop_to(upsample(self.head(self.ppm(features[-1])), size), shape)
        if not self.training:
            return main
        aux = crop_to(upsample(self.aux_head(features[-2]), size), shape)
        return main, aux
