"""napari-segkit: segment microscopy images by graph cut and more.

The headless API imports neither napari, Qt, torch nor PyMaxflow at import
time: every public name is listed in the registry of methods
(:mod:`napari_segkit._registry`) and its module is imported the first time
the name is used.  ``__all__`` comes from that registry.
"""

from __future__ import annotations

from typing import Any, List

from ._errors import Cancelled, DeviceError, InputError, ResourceLimitError, UnsafeFileError
from ._registry import load_public, public_names, shadowed_names

__version__ = "0.1.0"

__all__ = public_names()

for _name in shadowed_names():
    globals()[_name] = load_public(_name)
del _name


def __getattr__(name: str) -> Any:
    value = load_public(name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
