"""Shared building blocks of the FCN, DeepLab and PSPNet architectures.

* :class:`ResNetBackbone`: a ResNet encoder (basic blocks) with torchvision's
  parameter names.  ``variant="small"`` (the default) is sized for microscopy
  and trains from scratch on a CPU: a 3x3 stem at full resolution, four
  stages of ``width, 2 width, 4 width, 8 width`` features at strides 2, 4, 8
  and 16.  ``"resnet18"`` and ``"resnet34"`` follow torchvision's layout
  (7x7 stride-2 stem, max pooling, 64-512 features, strides 4-32), so a user
  who has torchvision-format weights *on disk* can start from them
  (:func:`load_backbone_weights`; nothing is ever downloaded).  Stages whose
  stride would exceed ``output_stride`` use dilated (atrous) convolutions
  instead of striding, as in DeepLab.
* :func:`box_mean`: a translation-equivariant local average over a window,
  used for the "window" form of global pooling (see :mod:`.architectures`).
* :func:`pad_to_multiple` / :func:`crop_to`: far-end replicate padding so any
  size goes in while tiles starting on multiples of the
  down-sampling factor stay aligned with the whole image.

Works in 2-D and 3-D (``spatial_dims``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .._errors import InputError
from .architectures import check_output_stride, stage_plan, variant_spec

__all__ = [
    "ResNetBackbone",
    "box_mean",
    "crop_to",
    "layers_for",
    "load_backbone_weights",
    "pad_to_multiple",
    "upsample",
]


# ----------------------------------------------------------------------------- torch modules


def layers_for(spatial_dims: int):
    """``(conv, batch_norm, max_pool)`` classes for 2-D or 3-D."""
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    if spatial_dims == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d
    return nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d


def pad_to_multiple(x: torch.Tensor, multiple: int) -> Tuple[torch.Tensor, Tuple[int, ...]]:
    """Replicate-pad the far end of each spatial axis to a multiple; returns (x, original shape)."""
    shape = tuple(x.shape[2:])
    pads: List[int] = []
    for size in reversed(shape):
        pads += [0, (-size) % multiple]
    if any(pads):
        x = F.pad(x, pads, mode="replicate")
    return x, shape


def crop_to(x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    if tuple(x.shape[2:]) == tuple(shape):
        return x
    return x[(Ellipsis,) + tuple(slice(0, s) for s in shape)]


def upsample(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear (2-D) / trilinear (3-D) resize, ``align_corners=False``."""
    mode = "bilinear" if x.dim() == 4 else "trilinear"
    return F.interpolate(x, size=tuple(size), mode=mode, align_corners=False)


def box_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a ``size``-wide (odd) box centred on each position, clipped at the edges.

    Separable (the intersection of a box with the array is a product of
    intervals), exact at the edges (``count_include_pad=False``), and the same
    wherever the array is cut, so it is local and translation-equivariant.
    """
    size = int(size)
    if size <= 1:
        return x
    spatial = x.dim() - 2
    for axis in range(2, 2 + spatial):
        moved = x.movedim(axis, -1)
        lead = moved.shape[:-1]
        flat = moved.reshape(-1, 1, moved.shape[-1])
        pooled = F.avg_pool1d(flat, size, stride=1, padding=size // 2, count_include_pad=False)
        x = pooled.reshape(*lead, moved.shape[-1]).movedim(-1, axis)
    return x


class BasicBlock(nn.Module):
    """torchvision's basic residual block (two 3x3 convolutions), with dilation."""

    def __init__(self, conv, norm, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = conv(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = norm(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv(cout, cout, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = norm(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv(cin, cout, 1, stride=stride, bias=False), norm(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetBackbone(nn.Module):
    """ResNet encoder returning the stem's and each stage's features.

    Parameters
    ----------
    in_channels : int
    spatial_dims : {2, 3}
    variant : {"small", "resnet18", "resnet34"}
    width : int
        Stem features of the ``"small"`` variant (stages: 1, 2, 4, 8 times it).
        The torchvision variants have their fixed widths.
    output_stride : int, optional
        Largest down-sampling; later stages dilate instead.  Default: none
        (16 for ``"small"``, 32 for the others).
    multi_grid : sequence of int
        Dilation multipliers of the last stage's blocks (DeepLabv3), cycled.

    Attributes
    ----------
    channels : list of int
        Features of the stem and of each stage.
    strides : list of int
        Their strides.
    dilations : list of list of int
        Dilation of each block of each stage.
    """

    def __init__(
        self,
        in_channels: int,
        spatial_dims: int = 2,
        *,
        variant: str = "small",
        width: int = 16,
        output_stride: Optional[int] = None,
        multi_grid: Sequence[int] = (1,),
    ) -> None:
        super().__init__()
        v = variant_spec(variant)
        conv, norm, pool = layers_for(spatial_dims)
        widths = v.widths or tuple(int(width) * 2**i for i in range(4))
        output_stride = v.nominal_stride if output_stride is None else check_output_stride(output_stride, v)
        self.variant = variant.lower()
        self.spatial_dims = spatial_dims
        self.output_stride = output_stride
        self.conv1 = conv(in_channels, widths[0], v.stem_kernel, stride=v.stem_stride,
                          padding=v.stem_kernel // 2, bias=False)
        self.bn1 = norm(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = pool(3, stride=2, padding=1) if v.stem_pool else None
        stride = v.stem_stride * (2 if v.stem_pool else 1)
        self.channels = [widths[0]]
        self.strides = [stride]
        self.dilations: List[List[int]] = []
        cin = widths[0]
        for index, (s, dilations) in enumerate(stage_plan(v, output_stride, tuple(multi_grid))):
            blocks = []
            for i, d in enumerate(dilations):
                blocks.append(BasicBlock(conv, norm, cin, widths[index], stride=s if i == 0 else 1, dilation=d))
                cin = widths[index]
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
            stride *= s
            self.channels.append(widths[index])
            self.strides.append(stride)
            self.dilations.append(list(dilations))

    @property
    def stages(self) -> List[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(len(self.dilations))]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        features = [x]
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


# ----------------------------------------------------------------------------- pretrained weights

_IGNORED_KEYS = ("fc.weight", "fc.bias")


def load_backbone_weights(backbone: ResNetBackbone, path: Any) -> None:
    """Put torchvision-format ResNet weights from a local file into ``backbone``.

    The file is a ``state_dict`` of ``torchvision.models.resnet18/34`` (``.pth``
    / ``.pt`` read with ``torch.load(weights_only=True)``, or
    ``.safetensors``); keys may carry a ``"module."`` or ``"backbone."``
    prefix.  Every backbone parameter must be present with its shape; the
    classifier (``fc.*``) is ignored; any other key is an error.  The stem's
    RGB filters are summed for one input channel (same response to a grey
    image shown as RGB) and averaged, scaled by ``3 / C``, for ``C != 3``.
    Nothing is downloaded; no code from the file is run.

    Raises
    ------
    InputError
        If the file is missing, corrupt, or its keys or shapes do not fit.
    UnsafeFileError
        If it holds pickled code or objects other than tensors.
    """
    from .checkpoint import _read_safetensors, _read_torch, describe_key_mismatch

    if path is None or str(path) == "":
        raise InputError("backbone_weights is empty; give the path of a torchvision ResNet state_dict")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"backbone_weights {str(path)!r} does not exist or is not a file")
    state = _read_safetensors(path) if path.suffix == ".safetensors" else _read_torch(path)
    for prefix in ("module.", "backbone."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    expected = backbone.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected and k not in _IGNORED_KEYS]
    if missing or unexpected:
        raise InputError(
            f"backbone_weights {str(path)!r} do not fit the {backbone.variant!r} backbone "
            f"(torchvision ResNet keys expected): " + describe_key_mismatch(missing, unexpected)
        )
    new = {}
    for key, want in expected.items():
        if key not in state:
            new[key] = want
            continue
        value = state[key].to(dtype=want.dtype) if want.is_floating_point() else state[key].to(want.dtype)
        if key == "conv1.weight" and value.dim() == want.dim() and value.shape[1] != want.shape[1] \
                and value.shape[2:] == want.shape[2:] and value.shape[0] == want.shape[0]:
            c = want.shape[1]
            if c == 1:
                value = value.sum(dim=1, keepdim=True)
            else:
                value = value.mean(dim=1, keepdim=True).repeat(1, c, *([1] * (value.dim() - 2))) * (3.0 / c)
        if tuple(value.shape) != tuple(want.shape):
            raise InputError(
                f"backbone_weights {str(path)!r}: {key} has shape {tuple(value.shape)}, the "
                f"{backbone.spatial_dims}-D {backbone.variant!r} backbone needs {tuple(want.shape)}"
            )
        new[key] = value
    backbone.load_state_dict(new, strict=True)
