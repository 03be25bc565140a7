"""Options checked by name before any work: the rule per option name, and the decorator of every method."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InputError
from ._text import _describe
from .memory import check_memory_limit
from .scalars import _real, check_flag, check_float, check_int, check_int_tuple, check_rng


_BIG = 2**31 - 1
#: Largest magnitude accepted for a float option: beyond it the arithmetic of
#: the methods (squared distances, capacities, kernels) overflows.
MAX_FLOAT_OPTION = 1e12

#: option name -> how it is checked: ("int", low, high), ("float", low, high,
#: low_open, high_open) or a special kind.  A bound of None is left to the
#: method, whose own check gives the method-specific message (most methods
#: check their lower bounds themselves); the bounds here are the ones no
#: method checked, and the upper limits beyond which a library would hang,
#: allocate terabytes or overflow.  Bounds that depend on the image (an axis
#: index, a tile against the image shape) stay with each method.
OPTION_RULES = {
    "batch_size": ("int", None, 65536),
    "n_clusters": ("int", None, _BIG),
    "n_segments": ("int", None, _BIG),
    "n_superpixels": ("int", None, _BIG),
    "n_init": ("int", None, 10_000),
    "n_iter": ("int", None, 100_000),
    "max_iter": ("int", None, 1_000_000),
    "max_num_iter": ("int", None, 1_000_000),
    "max_cycles": ("int", None, 10_000),
    "max_samples": ("int", None, _BIG),
    "min_bin_freq": ("int", None, _BIG),
    "n_components": ("int", None, 1_000),
    "n_labels": ("int", 2, 65_536),
    "n_channels": ("int", 1, 65_536),
    "connectivity": ("int", None, 26),  # 1..ndim or a neighbour count (4, 8, 6, 18, 26)
    "epochs": ("int", None, 1_000_000),
    "steps_per_epoch": ("int", None, 10_000_000),
    "class_axis": ("int", None, None),
    "channel_axis": ("int", None, None),
    "spatial_dims": ("int", None, None),
    "ignore_label": ("int", None, None),
    "halo": ("shape", 0, 65_536),
    "tile_shape": ("shape", None, _BIG),
    "patch_shape": ("shape", None, _BIG),
    "block_shape": ("shape", None, _BIG),
    "overlap": ("float", None, None, False, False),
    "quantile": ("float", None, None, False, False),
    "validation_fraction": ("float", None, None, False, False),
    "learning_rate": ("float", None, 1e3, False, False),
    "time_budget": ("float", None, MAX_FLOAT_OPTION, False, False),
    # below ~1e-150 scikit-image's SLIC squares it to zero and corrupts memory:
    # ("tiny", floor, high) refuses 0 < value < floor, the method refuses <= 0
    "compactness": ("tiny", 1e-6, MAX_FLOAT_OPTION),
    # kernel widths and size factors: beyond these a kernel or a label table
    # would need terabytes; no image is that large in pixels
    "sigma": ("float", None, 1e4, False, False),
    "smoothing": ("float", None, 1e4, False, False),
    "texture_sigma": ("float", None, 1e4, False, False),
    "theta_alpha": ("tiny", 1e-6, 1e6),
    "theta_gamma": ("tiny", 1e-6, 1e6),
    "theta_beta": ("tiny", 1e-12, MAX_FLOAT_OPTION),
    "max_size_factor": ("float", None, 1e4, False, False),
    "min_size_factor": ("float", None, 1e4, False, False),
    # Ncut values lie in [0, 2]; a larger threshold would split down to single pixels
    "threshold": ("float", None, 2.0, False, False),
    "memory_limit": ("memory",),
    "chunks": ("chunks",),
    "rng": ("rng",),
    "spacing": ("spacing",),
}


def _check_spacing_values(value: Any, name: str) -> Any:
    """Type check of ``spacing`` before its length is known (see :func:`check_spacing`)."""
    items = [value] if isinstance(value, (str, bytes)) or np.ndim(value) == 0 else value
    try:
        items = list(np.asarray(items, dtype=object).ravel())
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers, got {_describe(value)}") from None
    for item in items:
        number = _real(item, name, "numbers")
        if not (np.isfinite(number) and number > 0):
            raise InputError(f"{name} values must be positive and finite, got {_describe(value)}")
    return value


def check_option(name: str, value: Any, *, annotation: str = "", default: Any = None) -> Any:
    """Check one option by its name (see :data:`OPTION_RULES`) or annotation.

    Returns the value to use: ints as ``int``, floats as ``float``, sizes in
    bytes for ``memory_limit``; ``rng`` and ``spacing`` are checked and
    returned unchanged (each method turns them into a Generator or a tuple).
    None passes when it is the option's default.
    """
    if value is None and default is None:
        return None
    rule = OPTION_RULES.get(name)
    if rule is None:
        text = str(annotation)
        if "bool" in text:
            return check_flag(value, name=name)
        if "Callable" in text or "str" in text or "Any" in text or "Dict" in text:
            return value
        if "float" in text:
            rule = ("float", None, MAX_FLOAT_OPTION, False, False)
        elif "int" in text:
            rule = ("int", None, None)
        else:
            return value
    kind = rule[0]
    if kind == "int":
        return check_int(value, name=name, low=rule[1], high=rule[2])
    if kind == "float":
        low = -MAX_FLOAT_OPTION if rule[1] is None else rule[1]
        high = MAX_FLOAT_OPTION if rule[2] is None else rule[2]
        return check_float(value, name=name, low=low, high=high, low_open=rule[3], high_open=rule[4])
    if kind == "tiny":
        number = check_float(value, name=name, low=-rule[2], high=rule[2])
        if 0 < abs(number) < rule[1]:
            raise InputError(f"{name} must be 0 or at least {rule[1]:g} in size, got {_describe(value)}")
        return number
    if kind == "chunks":  # None, "auto", a block side, one per axis, or dask's tuple of tuples
        if isinstance(value, str) and value == "auto":
            return value
        if isinstance(value, (list, tuple)) and any(isinstance(v, (list, tuple)) for v in value):
            return value
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise InputError(
                f"{name} must be None, 'auto', a block side or one per axis, got {_describe(value)}"
            )
        rule = ("shape", None, _BIG)  # the method names sizes below 1 itself
        kind = "shape"
    if kind == "shape":
        if np.ndim(value) == 0 and not isinstance(value, (str, bytes, list, tuple)):
            return check_int(value, name=name, low=rule[1], high=rule[2])
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) == 0:
            raise InputError(f"{name} must be a whole number or one per spatial axis, got {_describe(value)}")
        return check_int_tuple(value, name=name, ndim=len(value), low=rule[1], high=rule[2])
    if kind == "memory":
        return check_memory_limit(value, name=name)
    if kind == "rng":
        if not isinstance(value, np.random.Generator):
            check_rng(value, name=name)
        return value
    if kind == "spacing":
        return _check_spacing_values(value, name)
    raise AssertionError(kind)  # pragma: no cover


def validate_options(function):
    """Decorate a public function so its options are checked before any work.

    Every keyword argument with a rule in :data:`OPTION_RULES`, or annotated
    as a number or a flag, is checked by :func:`check_option`; the function
    receives the normalised values.  The signature (and docs) are unchanged.
    """
    import functools
    import inspect

    signature = inspect.signature(function)
    params = [p for p in signature.parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][1:]  # the image comes first

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for p in params:
            if p.name in bound.arguments:
                bound.arguments[p.name] = check_option(
                    p.name, bound.arguments[p.name], annotation=p.annotation,
                    default=None if p.default is p.empty else p.default)
        return function(*bound.args, **bound.kwargs)

    return wrapper
