"""FCN, SegNet, DeepLabv3, PSPNet and Farabet's multi-scale network in the architecture registry, described without torch.

This module registers the four architectures (importing it imports no torch)
and holds what the registry needs without building a network: each one's
default options, their checks, its receptive radius and its down-sampling
factor (``align``), computed layer by layer with :class:`Reach` from the same
description the networks are built from (:mod:`.backbones`, :mod:`.fcn`,
:mod:`.segnet`, :mod:`.deeplab`, :mod:`.pspnet`).

Options are scalars because model files store them in JSON: lists are
comma-separated strings (``aspp_rates="2,4,6"``, ``bins="1,2,3,6"``).

Pretrained backbones: ``backbone_weights`` names a local torchvision-format
ResNet ``state_dict`` that initialises the backbone before training
(:func:`~.backbones.load_backbone_weights`; nothing is downloaded).  The path
is kept in the model's options, and loading a saved model rebuilds the
network from them, so the file is read again there (then replaced by the
model's own weights) and must still exist.

Global pooling and tiling
-------------------------
DeepLabv3's image-pooling branch and PSPNet's bin-1 pooling average over the
whole input, so their output at a pixel depends on every pixel of the image:
a tile's output would differ from the whole image's.  Both therefore offer
``"window"`` pooling (the default): the same averages taken over a box of
``context`` pixels (per bin: ``context / bin``) centred on each position.
That is the translation-equivariant form of the paper's pooling over a
``context``-sized training crop (the papers, too, predict large images crop
by crop), it is local, and tiled prediction equals whole-image prediction.
``"global"`` is the papers' adaptive pooling; its ``receptive_radius`` counts
only the local part, so tiled prediction is *not* exact: use it when images
are predicted whole (the default whenever the activations fit in memory).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

from .._errors import InputError
from .registry import Architecture, register_architecture

__all__ = [
    "BACKBONES",
    "DEFAULTS",
    "Reach",
    "align",
    "backbone_reach",
    "check_options",
    "check_output_stride",
    "fcn_skip_stages",
    "parse_ints",
    "receptive_radius",
    "stage_plan",
    "variant_spec",
    "window_size",
]


# ----------------------------------------------------------------------------- backbones


@dataclass(frozen=True)
class BackboneSpec:
    """A ResNet layout: stem, and per stage its block count and stride."""

    stem_kernel: int
    stem_stride: int
    stem_pool: bool
    widths: Tuple[int, ...]  # empty: (w, 2w, 4w, 8w) from the ``width`` option
    blocks: Tuple[int, ...]
    strides: Tuple[int, ...]

    @property
    def stem_total(self) -> int:
        return self.stem_stride * (2 if self.stem_pool else 1)

    @property
    def feature_strides(self) -> List[int]:
        """Nominal strides of the stem's and each stage's output."""
        out = [self.stem_total]
        for s in self.strides:
            out.append(out[-1] * s)
        return out

    @property
    def nominal_stride(self) -> int:
        return self.feature_strides[-1]


BACKBONES: Dict[str, BackboneSpec] = {
    # sized for microscopy, trainable from scratch on a CPU: full-resolution 3x3 stem, strides 2-16
    "small": BackboneSpec(3, 1, False, (), (1, 1, 1, 2), (2, 2, 2, 2)),
    # torchvision's layouts, for users with torchvision-format weights on disk
    "resnet18": BackboneSpec(7, 2, True, (64, 128, 256, 512), (2, 2, 2, 2), (1, 2, 2, 2)),
    "resnet34": BackboneSpec(7, 2, True, (64, 128, 256, 512), (3, 4, 6, 3), (1, 2, 2, 2)),
}


def variant_spec(name: Any) -> BackboneSpec:
    if not isinstance(name, str) or name.lower() not in BACKBONES:
        raise InputError(f"backbone {name!r} is not known; available: {', '.join(BACKBONES)}")
    return BACKBONES[name.lower()]


def check_output_stride(output_stride: Any, spec: BackboneSpec) -> int:
    allowed = sorted(set(s for s in spec.feature_strides if s >= spec.stem_total))
    if isinstance(output_stride, bool) or output_stride not in allowed:
        raise InputError(f"output_stride must be one of {allowed} for this backbone, got {output_stride!r}")
    return int(output_stride)


def stage_plan(spec: BackboneSpec, output_stride: int, multi_grid: Sequence[int]) -> List[Tuple[int, List[int]]]:
    """Per stage ``(stride, [dilation of each block])``: strides beyond ``output_stride`` become dilation."""
    stride = spec.stem_total
    dilation = 1
    plan = []
    for index, (s, n) in enumerate(zip(spec.strides, spec.blocks)):
        if s > 1 and stride * s > output_stride:
            dilation *= s
            s = 1
        stride *= s
        dilations = [dilation] * n
        if index == len(spec.blocks) - 1:
            dilations = [dilation * int(multi_grid[i % len(multi_grid)]) for i in range(n)]
        plan.append((s, dilations))
    return plan


def parse_ints(value: Any, name: str, *, minimum: int = 1) -> Tuple[int, ...]:
    """``"6,12,18"`` -> ``(6, 12, 18)`` (model files store options as scalars, so lists are strings)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise InputError(
            f"{name} must be a string of comma-separated integers like '1,2,4' "
            f"(model files store options as scalars), got {value!r}"
        )
    parts = [p.strip() for p in value.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError(f"{name} must be comma-separated integers like '1,2,4', got {value!r}") from None
    if not values or any(v < minimum for v in values):
        raise InputError(f"{name} must be integers >= {minimum}, got {value!r}")
    return values


# ----------------------------------------------------------------------------- receptive radius


class Reach:
    """Receptive radius and stride of a network, accumulated layer by layer.

    The *anchor* of a feature at stride ``S`` and index ``j`` is input pixel
    ``j S``.  :attr:`radius` bounds the distance from a feature's anchor to
    any input pixel that affects it: a ``k``-wide convolution with dilation
    ``d`` on features at stride ``S`` adds ``(k // 2) d S`` (its own stride
    adds nothing: output ``j`` is anchored where input ``j s`` is); a 2x2 or
    3x3 max pooling adds ``S``; a box average ``w`` wide adds ``(w // 2) S``;
    up-sampling from stride ``S`` adds ``1.5 S``: linear interpolation with
    ``align_corners=False`` centres feature ``j`` on pixel ``j S + (S - 1) / 2``
    and mixes the two features nearest a pixel, and a transposed convolution
    of kernel ``2 s``, stride ``s`` and padding ``s / 2`` reaches inputs
    ``j`` with ``-1.5 s < j s - i <= 0.5 s``.  Two paths merge with the
    larger radius.
    """

    def __init__(self, radius: float = 0.0, stride: int = 1) -> None:
        self.radius = float(radius)
        self.stride = int(stride)

    def copy(self) -> "Reach":
        return Reach(self.radius, self.stride)

    def conv(self, kernel: int, *, dilation: int = 1, stride: int = 1) -> "Reach":
        self.radius += (int(kernel) // 2) * int(dilation) * self.stride
        self.stride *= int(stride)
        return self

    def pool(self, stride: int = 2) -> "Reach":
        self.radius += self.stride
        self.stride *= int(stride)
        return self

    def window(self, size: int) -> "Reach":
        self.radius += (int(size) // 2) * self.stride
        return self

    def upsample(self, factor: int) -> "Reach":
        self.radius += 1.5 * self.stride
        self.stride //= int(factor)
        return self

    def merge(self, other: "Reach") -> "Reach":
        self.radius = max(self.radius, other.radius)
        return self

    def total(self) -> int:
        return int(-(-self.radius // 1))


def backbone_reach(variant: str = "small", output_stride: int | None = None,
                   multi_grid: Sequence[int] = (1,)) -> List[Reach]:
    """The :class:`Reach` after the stem and after each stage of a :class:`~.backbones.ResNetBackbone`."""
    spec = variant_spec(variant)
    output_stride = spec.nominal_stride if output_stride is None else output_stride
    reach = Reach().conv(spec.stem_kernel, stride=spec.stem_stride)
    if spec.stem_pool:
        reach.pool(2)
    out = [reach.copy()]
    for s, dilations in stage_plan(spec, output_stride, tuple(multi_grid)):
        for i, d in enumerate(dilations):
            reach.conv(3, dilation=d, stride=s if i == 0 else 1).conv(3, dilation=d)
        out.append(reach.copy())
    return out


def fcn_skip_stages(variant: str) -> List[int]:
    """Feature indices (0 = stem) fused by FCN, coarse to fine: each at half the previous stride."""
    strides = variant_spec(variant).feature_strides
    out = []
    current = strides[-1]
    for index in range(len(strides) - 2, -1, -1):
        if strides[index] * 2 == current:
            out.append(index)
            current = strides[index]
    return out


def farabet_reach(scales: int, pyramid: str) -> Reach:
    """The :class:`Reach` of Farabet's network (:mod:`.farabet`): the widest of its pyramid levels."""
    total = Reach()
    for level in range(scales):
        reach = Reach()
        for _ in range(level):
            reach.conv(3, stride=2)  # binomial blur, sub-sampled
        if pyramid == "laplacian" and level < scales - 1:
            reach.merge(reach.copy().conv(3, stride=2).upsample(2))
        reach.conv(3).conv(3).pool(2).conv(3).conv(3).pool(2).conv(3)
        reach.upsample(reach.stride)
        total.merge(reach)
    return total


def window_size(context: int, stride: int, bins: int = 1) -> int:
    """Odd box width, in features at ``stride``, covering about ``context / bins`` pixels."""
    cells = int(context) // (int(stride) * int(bins))
    return 2 * (cells // 2) + 1


# ----------------------------------------------------------------------------- options

DEFAULTS: Dict[str, Dict[str, Any]] = {
    "fcn": {"backbone": "small", "width": 16, "skips": 3, "upsampling": "learned", "backbone_weights": ""},
    "segnet": {"depth": 3, "width": 16, "convs": 2},
    "deeplabv3": {
        "backbone": "small", "width": 16, "output_stride": 8, "multi_grid": "1,2", "aspp_rates": "2,4,6",
        "image_pooling": "window", "context": 128, "backbone_weights": "",
    },
    "pspnet": {
        "backbone": "small", "width": 16, "output_stride": 8, "bins": "1,2,3,6", "pooling": "window",
        "context": 128, "aux_weight": 0.4, "backbone_weights": "",
    },
    "farabet": {"scales": 3, "width": 16, "pyramid": "laplacian", "hidden": 64},
}


def _int(options, key, low, high=None):
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise InputError(f"option {key} must be an integer {bound}, got {value!r}")
    return int(value)


def _choice(options, key, choices):
    value = options[key]
    if not isinstance(value, str) or value.lower() not in choices:
        raise InputError(f"option {key} must be one of {list(choices)}, got {value!r}")
    return value.lower()


def check_options(name: str, options: Dict[str, Any]) -> Dict[str, Any]:
    """Defaults filled in, every value checked and parsed (lists become tuples).

    Raises
    ------
    InputError
        Naming the option and the value received.
    """
    defaults = DEFAULTS[name]
    unknown = set(options) - set(defaults)
    if unknown:
        raise InputError(f"options {sorted(unknown)} are not known for architecture {name!r} "
                         f"(known: {sorted(defaults)})")
    o = dict(defaults)
    o.update(options)
    out: Dict[str, Any] = {}
    if name == "segnet":
        out["depth"] = _int(o, "depth", 1, 6)
        out["width"] = _int(o, "width", 1, 512)
        out["convs"] = _int(o, "convs", 1, 4)
        return out
    if name == "farabet":
        out["scales"] = _int(o, "scales", 1, 5)
        out["width"] = _int(o, "width", 1, 256)
        out["pyramid"] = _choice(o, "pyramid", ("laplacian", "gaussian"))
        out["hidden"] = _int(o, "hidden", 1, 1024)
        return out
    spec = variant_spec(o["backbone"])
    out["backbone"] = o["backbone"].lower()
    out["width"] = _int(o, "width", 1, 512)
    if not isinstance(o["backbone_weights"], str):
        raise InputError(f"option backbone_weights must be a path (a string), got {o['backbone_weights']!r}")
    out["backbone_weights"] = o["backbone_weights"]
    if name == "fcn":
        most = len(fcn_skip_stages(out["backbone"]))
        out["skips"] = _int(o, "skips", 0, most)
        out["upsampling"] = _choice(o, "upsampling", ("learned", "bilinear"))
        return out
    out["output_stride"] = check_output_stride(o["output_stride"], spec)
    out["context"] = _int(o, "context", 1)
    if name == "deeplabv3":
        out["multi_grid"] = parse_ints(o["multi_grid"], "multi_grid")
        out["aspp_rates"] = parse_ints(o["aspp_rates"], "aspp_rates")
        out["image_pooling"] = _choice(o, "image_pooling", ("window", "global", "none"))
    else:
        out["bins"] = parse_ints(o["bins"], "bins")
        out["pooling"] = _choice(o, "pooling", ("window", "global"))
        weight = o["aux_weight"]
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0 <= weight <= 10:
            raise InputError(f"option aux_weight must be a number in [0, 10], got {weight!r}")
        out["aux_weight"] = float(weight)
    return out


def align(name: str, **options: Any) -> int:
    """Total down-sampling factor: tiles start on its multiples."""
    o = check_options(name, options)
    if name == "segnet":
        return 2 ** o["depth"]
    if name == "farabet":
        return 2 ** (o["scales"] - 1) * 4  # the pyramid, then the stack's two poolings
    if name == "fcn":
        return variant_spec(o["backbone"]).nominal_stride
    return o["output_stride"]


def receptive_radius(name: str, **options: Any) -> int:
    """An upper bound, in pixels, on how far the inputs affecting an output pixel lie.

    For ``"global"`` pooling only the local part counts (see the module notes).
    """
    o = check_options(name, options)
    if name == "segnet":
        reach = Reach()
        for _ in range(o["depth"]):
            for _ in range(o["convs"]):
                reach.conv(3)
            reach.pool(2)
        for _ in range(o["depth"]):
            reach.upsample(2)
            for _ in range(o["convs"]):
                reach.conv(3)
        return reach.total()
    if name == "farabet":
        return farabet_reach(o["scales"], o["pyramid"]).total()
    if name == "fcn":
        features = backbone_reach(o["backbone"])
        head = features[-1].copy().conv(3).conv(1)
        for index in fcn_skip_stages(o["backbone"])[: o["skips"]]:
            head.upsample(2).merge(features[index])
        if head.stride > 1:
            head.upsample(head.stride)
        return head.total()
    grid = o["multi_grid"] if name == "deeplabv3" else (1,)
    last = backbone_reach(o["backbone"], o["output_stride"], grid)[-1]
    head = last.copy()
    if name == "deeplabv3":
        for rate in o["aspp_rates"]:
            head.merge(last.copy().conv(3, dilation=rate))
        if o["image_pooling"] == "window":
            head.merge(last.copy().window(window_size(o["context"], last.stride)))
        head.conv(1)  # projection
    elif o["pooling"] == "window":
        head.merge(last.copy().window(window_size(o["context"], last.stride, min(o["bins"]))))
    head.conv(3).conv(1).upsample(head.stride)
    return head.total()


# ----------------------------------------------------------------------------- registration


def _builder(name: str):
    def build(in_channels: int, out_channels: int, spatial_dims: int, **options: Any):
        o = check_options(name, options)
        if name == "segnet":
            from .segnet import SegNet

            return SegNet(in_channels, out_channels, spatial_dims=spatial_dims, **o)
        if name == "farabet":
            from .farabet import Farabet

            return Farabet(in_channels, out_channels, spatial_dims=spatial_dims, **o)
        weights = o.pop("backbone_weights")
        if name == "fcn":
            from .fcn import FCN as network_class
        elif name == "deeplabv3":
            from .deeplab import DeepLabV3 as network_class
        else:
            from .pspnet import PSPNet as network_class
        network = network_class(in_channels, out_channels, spatial_dims=spatial_dims, **o)
        if weights:
            from .backbones import load_backbone_weights

            load_backbone_weights(network.backbone, weights)
        return network

    build.__name__ = f"build_{name}"
    return build


def _bound(function, name: str):
    def call(**options: Any) -> int:
        return function(name, **options)

    call.__name__ = f"{function.__name__}_{name}"
    return call


for _name in ("fcn", "segnet", "deeplabv3", "pspnet", "farabet"):
    register_architecture(
        _name,
        Architecture(
            build=_builder(_name),
            receptive_radius=_bound(receptive_radius, _name),
            align=_bound(align, _name),
            defaults=dict(DEFAULTS[_name]),
        ),
        replace=True,
    )
