"""Architectures by name: an open registry of network builders.

A model file names its architecture and options; loading looks the name up
here and builds the network from our code (never from the file).  Other
architectures register themselves with :func:`register_architecture`.
Nothing here imports torch until a network is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict

from .._errors import InputError

__all__ = ["ARCHITECTURES", "Architecture", "get_architecture", "register_architecture"]


@dataclass(frozen=True)
class Architecture:
    """How to build one architecture and how far its outputs see.

    Attributes
    ----------
    build : callable
        ``build(in_channels, out_channels, spatial_dims, **options) -> torch.nn.Module``.
    receptive_radius : callable
        ``receptive_radius(**options) -> int``: an upper bound, in pixels, on
        how far from an output pixel the inputs that affect it lie.
    align : callable
        ``align(**options) -> int``: tiles must start on multiples of this
        (the total down-sampling factor) for tiled output to equal whole-image
        output.
    defaults : dict
        Default options (JSON-serialisable).
    """

    build: Callable[..., Any]
    receptive_radius: Callable[..., int]
    align: Callable[..., int]
    defaults: Dict[str, Any] = field(default_factory=dict)


def _build_unet(in_channels: int, out_channels: int, spatial_dims: int, **options: Any):
    from .unet import UNet

    return UNet(in_channels, out_channels, spatial_dims=spatial_dims, **options)


def _unet_radius(depth: int = 3, **_: Any) -> int:
    return sum(6 * 2**level for level in range(depth)) + 2 * 2**depth


ARCHITECTURES: Dict[str, Architecture] = {
    "unet": Architecture(
        build=_build_unet,
        receptive_radius=_unet_radius,
        align=lambda depth=3, **_: 2**depth,
        defaults={"depth": 3, "width": 16},
    ),
}


def register_architecture(name: str, architecture: Architecture, *, replace: bool = False) -> None:
    """Add an architecture under ``name`` (lower case)."""
    key = str(name).lower()
    if key in ARCHITECTURES and not replace:
        raise ValueError(f"architecture {name!r} is already registered")
    ARCHITECTURES[key] = architecture


def get_architecture(name: Any) -> Architecture:
    """The registered architecture called ``name``.

    Raises
    ------
    InputError
        If no architecture has that name; the message lists those that exist.
    """
    key = str(name).lower() if isinstance(name, str) else None
    if key not in ARCHITECTURES:
        raise InputError(
            f"architecture {name!r} is not known; available: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[key]

