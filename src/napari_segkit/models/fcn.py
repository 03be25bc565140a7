"""Fully convolutional network, FCN-8s style (Long, Shelhamer and Darrell, 2015).

A ResNet encoder (:class:`~.backbones.ResNetBackbone`) ends in a small
convolutional head and a 1x1 *score* layer giving class scores at the
coarsest stride.  Coarse scores are up-sampled by two and added to the scores
of the next finer stage (each skip is a 1x1 score layer on that stage's
features, zero-initialised as in the paper), coarse to fine, ``skips`` times;
the fused scores are then up-sampled to the input size.  Up-sampling is
learned (transposed convolutions initialised to bilinear interpolation, as
in the paper) or fixed bilinear.  ``skips=0`` is the FCN-32s analogue; with
the ``"small"`` backbone (stride 16) ``skips=2`` fuses strides 16, 8 and 4 as
FCN-8s fuses 32, 16 and 8; the default, 3, also fuses stride 2, which the
thin boundaries between touching cells need.

Any input size goes in: sides are padded at their far end to a multiple of
the backbone's stride and the output is cropped back.
"""

from __future__ import annotations

import torch
from torch import nn

from .architectures import fcn_skip_stages
from .backbones import ResNetBackbone, crop_to, layers_for, pad_to_multiple, upsample
from .blocks import class_head

__all__ = ["FCN", "bilinear_kernel"]


def bilinear_kernel(channels: int, kernel: int, spatial_dims: int) -> torch.Tensor:
    """Transposed-convolution weights that up-sample each channel bilinearly."""
    factor = (kernel + 1) // 2
    centre = factor - 1 if kernel % 2 == 1 else factor - 0.5
    grid = torch.arange(kernel, dtype=torch.float32)
    line = 1 - (grid - centre).abs() / factor
    filt = line
    for _ in range(spatial_dims - 1):
        filt = filt.unsqueeze(-1) * line
    weight = torch.zeros((channels, channels) + (kernel,) * spatial_dims)
    for c in range(channels):
        weight[c, c] = filt
    return weight


class _Upsample(nn.Module):
    """Up-sampling by ``factor``: learned (bilinear-initialised transposed conv) or bilinear."""

    def __init__(self, channels: int, factor: int, spatial_dims: int, learned: bool) -> None:
        super().__init__()
        self.factor = int(factor)
        self.deconv = None
        if learned:
            kernel = 2 * self.factor
            transposed = nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
            self.deconv = transposed(channels, channels, kernel, stride=self.factor,
                                     padding=self.factor // 2, bias=False)
            with torch.no_grad():
                self.deconv.weight.copy_(bilinear_kernel(channels, kernel, spatial_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deconv is not None:
            return self.deconv(x)
        return upsample(x, [s * self.factor for s in x.shape[2:]])


class FCN(nn.Module):
    """FCN over ``(N, C, [Z,] Y, X)`` tensors returning class logits of the input's size.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    backbone : {"small", "resnet18", "resnet34"}
    width : int
        Stem features of the ``"small"`` backbone.
    skips : int
        Number of coarse-to-fine fusions (0 to the number of finer stages).
    upsampling : {"learned", "bilinear"}
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        *,
        spatial_dims: int = 2,
        backbone: str = "small",
        width: int = 16,
        skips: int = 3,
        upsampling: str = "learned",
    ) -> None:
        super().__init__()
        conv, norm, _ = layers_for(spatial_dims)
        self.backbone = ResNetBackbone(in_channels, spatial_dims, variant=backbone, width=width)
        learned = upsampling == "learned"
        self.skip_stages = fcn_skip_stages(backbone)[: int(skips)]
        self.multiple = self.backbone.strides[-1]
        top = self.backbone.channels[-1]
        self.head = class_head(conv, norm, top, top, out_channels)
        self.skip_scores = nn.ModuleList()
        self.skip_upsamplers = nn.ModuleList()
        for index in self.skip_stages:
            score = conv(self.backbone.channels[index], out_channels, 1)
            nn.init.zeros_(score.weight)
            nn.init.zeros_(score.bias)
            self.skip_scores.append(score)
            self.skip_upsamplers.append(_Upsample(out_channels, 2, spatial_dims, learned))
        final = self.backbone.strides[self.skip_stages[-1]] if self.skip_stages else self.multiple
        self.final_upsampler = _Upsample(out_channels, final, spatial_dims, learned) if final > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, shape = pad_to_multiple(x, self.multiple)
        features = self.backbone(x)
        scores = self.head(features[-1])
        for index, score, up in zip(self.skip_stages, self.skip_scores, self.skip_upsamplers):
            scores = up(scores) + score(features[index])
        if self.final_upsampler is not None:
            scores = self.final_upsampler(scores)
        return crop_to(scores, shape)
