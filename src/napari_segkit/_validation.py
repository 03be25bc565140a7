"""Checks shared by every method: one place that turns user input into arrays.

Each check names the argument and the value received, so a user sees what was
wrong without reading a traceback into numpy, scikit-image or PyMaxflow.
"""

from __future__ import annotations

import numbers
import re
from typing import Any, Collection, Optional, Sequence, Tuple, Union

import numpy as np

from ._errors import InputError

__all__ = [
    "MAX_SPACING_RATIO",
    "as_image_array",
    "check_channel_axis",
    "check_choice",
    "check_finite",
    "check_flag",
    "check_float",
    "check_int",
    "check_int_tuple",
    "check_memory_limit",
    "check_option",
    "validate_options",
    "check_positive_number",
    "check_rng",
    "lazily_finite",
    "parse_byte_count",
    "safe_value_range",
    "check_resampled_size",
    "check_spacing",
    "check_spatial_dims",
    "move_channels_last",
]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_image_array(image: Any, *, name: str = "image", lazy: bool = False) -> np.ndarray:
    """Return ``image`` as a numpy array of a real dtype, never a view to write into.

    Accepts numpy arrays, dask arrays and anything ``np.asarray`` understands.
    With ``lazy=True`` a dask (or other lazy) array is checked from its
    metadata and returned as it is, so a caller can check its size first.
    Rejects complex, object, string and structured dtypes and empty arrays.
    Big-endian and non-contiguous data are accepted (callers convert to
    native float before computing).  The caller's array is never modified.

    Raises
    ------
    InputError
        If the dtype is not real-valued or the array is empty.
    """
    if image is None:
        raise InputError(f"{name} is None; expected an array")
    if hasattr(image, "compute") and hasattr(image, "dtype"):
        dtype = np.dtype(image.dtype)
        _check_dtype(dtype, name)
        _check_not_empty(tuple(image.shape), name)
        if lazy:
            return _lazy_range_check(image, name)
        image = image.compute()
    array = np.asarray(image)
    _check_dtype(array.dtype, name)
    _check_not_empty(array.shape, name)
    return safe_value_range(array, name=name)


#: Float values beyond this magnitude (or finite ones below its inverse) make
#: squared differences, kernels and graph capacities overflow or underflow.
EXTREME_MAGNITUDE = 1e100


def _magnitude(values: np.ndarray) -> float:
    """Largest finite absolute value of ``values`` (0 when none is finite)."""
    with np.errstate(invalid="ignore"):
        low, high = np.nanmin(values), np.nanmax(values)
    if not (np.isfinite(low) and np.isfinite(high)):
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return 0.0
        low, high = finite.min(), finite.max()
    return float(max(abs(float(low)), abs(float(high))))


def safe_value_range(array: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Return ``array`` with float values safe for the methods' arithmetic.

    An image (``name`` starting with "image") whose finite values reach beyond
    :data:`EXTREME_MAGNITUDE` (e.g. -1.7e308..1.7e308, whose range overflows
    float64), or whose largest value is below its inverse, is divided by its
    largest absolute value (float64, a warning says so): every method is
    invariant to that scale except options given in intensity units.
    Other arrays (probabilities, labels) with such values are refused.
    NaN and infinities are left for :func:`check_finite` and the methods.
    """
    if array.dtype.kind != "f" or array.size == 0:
        return array
    top = _magnitude(array)
    if top == 0.0 or (1.0 / EXTREME_MAGNITUDE <= top <= EXTREME_MAGNITUDE):
        return array
    if not name.startswith("image"):
        raise InputError(
            f"{name} has values of magnitude {top:.3g}, outside the range the arithmetic "
            f"handles ({1 / EXTREME_MAGNITUDE:g} to {EXTREME_MAGNITUDE:g})"
        )
    import warnings

    warnings.warn(
        f"{name} values reach {top:.3g}, beyond what the arithmetic handles; "
        f"divided by {top:.3g} before segmenting",
        UserWarning,
        stacklevel=3,
    )
    return array.astype(np.float64) / top


def _extreme_block(block: np.ndarray, name: str) -> np.ndarray:
    block = np.asarray(block)
    if block.dtype.kind == "f" and block.size:
        top = _magnitude(block)
        if top > EXTREME_MAGNITUDE:
            raise InputError(
                f"{name} has values of magnitude {top:.3g} (beyond {EXTREME_MAGNITUDE:g}, where "
                "the arithmetic overflows); rescale the lazy image before segmenting it"
            )
    return block


def _lazy_range_check(image: Any, name: str) -> Any:
    """``image`` with a per-block check that its float values cannot overflow."""
    if np.dtype(image.dtype).kind != "f" or not hasattr(image, "map_blocks"):
        return image
    return image.map_blocks(_extreme_block, name, dtype=image.dtype, meta=np.empty((0,) * image.ndim, image.dtype))


def _finite_block(block: np.ndarray, name: str) -> np.ndarray:
    check_finite(np.asarray(block), name=name)
    return block


def lazily_finite(image: Any, *, name: str = "image") -> Any:
    """A dask array that raises :class:`InputError` when a computed block holds NaN/inf.

    The numpy path's :func:`check_finite`, applied block by block while the
    run computes, so a lazy image with one NaN pixel fails the run with a
    clear error instead of giving NaN results.  Numpy input is checked now.
    """
    if not hasattr(image, "map_blocks"):
        check_finite(np.asarray(image), name=name)
        return image
    if np.dtype(image.dtype).kind != "f":
        return image
    return image.map_blocks(_finite_block, name, dtype=image.dtype, meta=np.empty((0,) * image.ndim, image.dtype))


def _check_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind == "c":
        raise InputError(f"{name} has complex dtype {dtype}: complex input is not supported")
    if dtype.kind not in "biuf":
        raise InputError(
            f"{name} has dtype {dtype}: expected booleans, integers or floats"
        )


def _check_not_empty(shape: Tuple[int, ...], name: str) -> None:
    if 0 in shape:
        raise InputError(f"{name} has shape {shape}: empty")


def check_finite(values: np.ndarray, *, name: str = "image") -> None:
    """Raise if ``values`` holds NaN or infinite entries, giving their count."""
    if values.dtype.kind != "f":
        return
    finite = np.isfinite(values)
    if finite.all():
        return
    n_nan = int(np.isnan(values).sum())
    n_inf = int(finite.size - finite.sum()) - n_nan
    parts = []
    if n_nan:
        parts.append(f"{n_nan} NaN")
    if n_inf:
        parts.append(f"{n_inf} infinite")
    raise InputError(
        f"{name} has {' and '.join(parts)} values (shape {values.shape}); "
        "fill or crop them before segmenting"
    )


def check_channel_axis(
    channel_axis: Optional[int], ndim: int, *, name: str = "image", min_plain_ndim: int = 2
) -> Optional[int]:
    """Return ``channel_axis`` as a non-negative index, or None.

    Raises
    ------
    InputError
        If ``channel_axis`` is not an integer within ``[-ndim, ndim)``, or
        if it leaves fewer than ``min_plain_ndim`` other axes (every method
        needs a 2-D or 3-D image); the message names ``channel_axis`` and
        its value.
    """
    if channel_axis is None:
        return None
    if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(channel_axis, numbers.Integral):
        raise InputError(
            f"channel_axis must be an integer or None, got {_describe(channel_axis)}"
        )
    if not -ndim <= channel_axis < ndim:
        raise InputError(
            f"channel_axis={channel_axis} is out of range for {name} with {ndim} "
            f"dimensions (valid: {-ndim} to {ndim - 1}, or None)"
        )
    if ndim - 1 < min_plain_ndim:
        raise InputError(
            f"channel_axis={channel_axis} leaves {name} (with {ndim} dimensions) only {ndim - 1} "
            f"non-channel dimension(s); a 2-D or 3-D image needs at least {min_plain_ndim} besides "
            "its channel axis (pass channel_axis=None for a grayscale image)"
        )
    return int(channel_axis) % ndim


def move_channels_last(image: np.ndarray, channel_axis: Optional[int]) -> np.ndarray:
    """Return an (..., C) view of ``image``; a grayscale image gets C = 1."""
    if channel_axis is None:
        return image[..., np.newaxis]
    return np.moveaxis(image, channel_axis, -1)


def check_spatial_dims(
    spatial_dims: Optional[int], ndim: int, *, method: str, name: str = "image"
) -> int:
    """Return how many trailing axes are spatial (2 or 3).

    ``ndim`` counts the axes of the image without its channel axis.  Leading
    axes beyond the spatial ones (time, position, ...) are processed frame by
    frame.  By default a 2-D image is 2-D, and anything with 3 or more axes is
    treated as 3-D volumes.
    """
    if ndim < 2 or ndim > 5:
        raise InputError(
            f"{method} accepts 2-D or 3-D images, optionally with leading time axes "
            f"and one channel axis; {name} has {ndim} non-channel dimension(s)"
        )
    if spatial_dims is None:
        return 2 if ndim == 2 else 3
    if spatial_dims not in (2, 3) or isinstance(spatial_dims, bool):
        raise InputError(f"spatial_dims must be 2 or 3, got {_describe(spatial_dims)}")
    if spatial_dims > ndim:
        raise InputError(
            f"spatial_dims={spatial_dims} but {name} has only {ndim} non-channel dimensions"
        )
    if ndim - spatial_dims > 2:
        raise InputError(
            f"{name} has {ndim} non-channel dimensions; with spatial_dims={spatial_dims} "
            f"that leaves {ndim - spatial_dims} leading axes (at most 2 are supported)"
        )
    return int(spatial_dims)


#: Largest ratio between the biggest and smallest pixel size that methods accept.
MAX_SPACING_RATIO = 1e4
_MIN_SPACING, _MAX_SPACING = 1e-12, 1e12


def check_spacing(spacing: Optional[Sequence[float]], ndim: int) -> Tuple[float, ...]:
    """Return ``spacing`` as a tuple of ``ndim`` positive finite floats.

    None means isotropic unit spacing.  A scalar applies to every axis.

    Raises
    ------
    InputError
        If the length is not ``ndim`` or any value is not positive and finite.
    """
    if spacing is None:
        return (1.0,) * ndim
    try:
        values = np.asarray(spacing, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"spacing must be numbers, got {_describe(spacing)}") from None
    if values.ndim == 0:
        values = np.full(ndim, float(values))
    if values.ndim != 1 or values.size != ndim:
        raise InputError(
            f"spacing must give one value per spatial axis ({ndim}), got {_describe(spacing)}"
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(
            f"spacing values must be positive and finite, got {_describe(tuple(values.tolist()))}"
        )
    if np.any(values < _MIN_SPACING) or np.any(values > _MAX_SPACING):
        raise InputError(
            f"spacing values must lie between {_MIN_SPACING:g} and {_MAX_SPACING:g}, got "
            f"{_describe(tuple(values.tolist()))}; give the pixel size in a unit near the pixel "
            "scale (e.g. micrometres)"
        )
    ratio = float(values.max() / values.min())
    if ratio > MAX_SPACING_RATIO:
        raise InputError(
            f"spacing {_describe(tuple(values.tolist()))} is {ratio:.3g}x anisotropic "
            f"(at most {MAX_SPACING_RATIO:g}x is supported); resample the image first"
        )
    return tuple(float(v) for v in values)


def check_positive_number(value: Any, *, name: str, allow_zero: bool = False,
                          high: Optional[float] = None) -> float:
    """Return ``value`` as a float, raising unless it is finite and positive.

    Same acceptance as :func:`check_float` with ``low=0`` (open unless
    ``allow_zero``) and an optional ``high``.
    """
    number = _real(value, name)
    ok = number >= 0 if allow_zero else number > 0
    if not np.isfinite(number) or not ok:
        bound = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be {bound} and finite, got {_describe(value)}")
    return check_float(number, name=name, high=high)


_INT64_MAX = 2**63 - 1


def _type_name(value: Any) -> str:
    return type(value).__name__


def _real(value: Any, name: str, what: str = "a number") -> float:
    """``value`` as a Python float; bools, strings and arrays are refused."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be {what}, got the boolean {bool(value)}")
    if not isinstance(value, numbers.Real):
        raise InputError(
            f"{name} must be {what}, got {_describe(value)} (a {_type_name(value)})"
        )
    try:
        return float(value)
    except OverflowError:  # a Python int beyond float range
        return float("inf") if value > 0 else float("-inf")


def _range_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def check_float(
    value: Any,
    *,
    name: str,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    none_ok: bool = False,
) -> Optional[float]:
    """Return ``value`` as a finite Python float within ``[low, high]``.

    Accepts Python and numpy real scalars (``np.float32(0.5)``, ``np.int64(3)``,
    a 0-d array).  Refuses booleans, strings (``"0.5"``), None (unless
    ``none_ok``), NaN and infinities.  ``low_open``/``high_open`` exclude the
    bound itself.  Every message names ``name`` and the value received.

    Raises
    ------
    InputError
        If ``value`` is not a finite real number in range.
    """
    if value is None and none_ok:
        return None
    number = _real(value, name)
    if not np.isfinite(number):
        raise InputError(f"{name} must be a finite number, got {_describe(value)}")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        raise InputError(
            f"{name} must be {_range_text(low, high, low_open, high_open)}, got {_describe(value)}"
        )
    return number


def check_int(
    value: Any,
    *,
    name: str,
    low: Optional[int] = None,
    high: Optional[int] = None,
    none_ok: bool = False,
) -> Optional[int]:
    """Return ``value`` as a Python int within ``[low, high]``.

    Accepts Python and numpy integers and integral floats (``4.0``,
    ``np.float32(4)``).  Refuses booleans, strings, fractions (``2.5``), NaN,
    infinities, None (unless ``none_ok``) and anything beyond int64.

    Raises
    ------
    InputError
        If ``value`` is not a whole number in range.
    """
    if value is None and none_ok:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        number = int(value)
    else:
        real = _real(value, name, "a whole number")
        if not np.isfinite(real) or real != int(real):
            raise InputError(f"{name} must be a whole number, got {_describe(value)}")
        number = int(real)
    if (low is not None and number < low) or (high is not None and number > high):
        raise InputError(f"{name} must be {_range_text(low, high, False, False)}, got {_describe(value)}")
    if abs(number) > _INT64_MAX:
        raise InputError(f"{name} is too large for a 64-bit integer, got {_describe(value)}")
    return number


def check_int_tuple(
    value: Any,
    *,
    name: str,
    ndim: int,
    low: int = 1,
    high: Optional[int] = None,
    none_ok: bool = False,
) -> Optional[Tuple[int, ...]]:
    """Return ``value`` as a tuple of ``ndim`` ints in ``[low, high]``.

    A single number applies to every axis (``tile_shape=256``,
    ``halo=16``).  Used for shapes, tile and patch sizes and halos.

    Raises
    ------
    InputError
        If the length is wrong or any entry fails :func:`check_int`.
    """
    if value is None and none_ok:
        return None
    if isinstance(value, (str, bytes)) or value is None:
        raise InputError(
            f"{name} must be a whole number or {ndim} whole numbers, got {_describe(value)}"
        )
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if np.ndim(value) == 0:
        return (check_int(value, name=name, low=low, high=high),) * ndim
    items = list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)
    if len(items) != ndim:
        raise InputError(
            f"{name} must give {ndim} value(s), one per spatial axis, got {_describe(value)}"
        )
    return tuple(check_int(v, name=f"{name}[{i}]", low=low, high=high) for i, v in enumerate(items))


def check_flag(value: Any, *, name: str) -> bool:
    """Return ``value`` as a bool; only ``True``/``False`` (or numpy's) pass.

    Strings such as ``"no"`` or numbers such as ``2`` are refused rather than
    read by their truth value.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name} must be True or False, got {_describe(value)}")


def check_choice(value: Any, *, name: str, choices: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``choices`` (strings compared exactly)."""
    try:
        ok = any(value == c and type(value) is type(c) for c in choices)  # noqa: E721
    except (TypeError, ValueError):
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"{name} must be one of {listed}; got {_describe(value)}")
    return value


def check_rng(rng: Any, *, name: str = "rng") -> np.random.Generator:
    """Return a numpy Generator from ``rng``: the package's one meaning of ``rng``.

    ``None`` draws fresh entropy from the operating system (results differ
    between runs); a non-negative integer seeds a new generator (results are
    reproducible); a :class:`numpy.random.Generator` is used as it is (and
    advanced).  Numpy integers and :class:`numpy.random.SeedSequence` are
    accepted; booleans, negative numbers, floats and strings are refused.

    Raises
    ------
    InputError
        If ``rng`` is none of the above.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise InputError(
                f"{name} must be None, a non-negative integer seed or a numpy Generator, got {rng!r}"
            )
        return np.random.default_rng(int(rng))
    raise InputError(
        f"{name} must be None, a non-negative integer seed or a numpy Generator, "
        f"got {_describe(rng)} (a {_type_name(rng)})"
    )


_BYTE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def parse_byte_count(text: str, *, name: str = "memory_limit") -> int:
    """``'512M'``, ``'4G'``, ``'1.5GiB'``, ``'1000000'`` -> bytes (powers of 1024).

    Raises
    ------
    InputError
        If ``text`` is not a positive size with an optional k/M/G/T/P suffix.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(?:i?b)?\s*", str(text), flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise InputError(
            f"{name} must be a positive size such as 4G, 512M or 1000000, got {_describe(text)}"
        )
    count = int(float(match.group(1)) * _BYTE_UNITS[match.group(2).lower()])
    if count < 1:
        raise InputError(f"{name} must be at least one byte, got {_describe(text)}")
    return count


def check_memory_limit(value: Any, *, name: str = "memory_limit") -> Optional[int]:
    """Return a memory limit in bytes, or None for "measure what is available".

    Accepts a positive whole number of bytes (Python or numpy, ``4e9`` too)
    or a string with a binary unit (``"4G"``, ``"512MiB"``).  Refuses NaN,
    infinities, zero, negatives, booleans and other strings.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return parse_byte_count(value, name=name)
    number = _real(value, name, "a number of bytes or a size such as '4G'")
    if not np.isfinite(number) or number < 1:
        raise InputError(
            f"{name} must be a positive, finite number of bytes (or a size such as '4G'), "
            f"got {_describe(value)}"
        )
    return check_int(int(number), name=name, low=1)


# --- options checked by name, once, at every public entry point ------------------------------

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


def check_resampled_size(
    shape: Sequence[int],
    factors: Sequence[float],
    *,
    spacing: Sequence[float],
    voxel_size: Sequence[float],
    n_values: int,
    memory_limit: Optional[int] = None,
) -> Tuple[int, ...]:
    """Refuse resampling an image to a model's voxel size when the result cannot fit.

    ``factors`` zoom ``shape`` (spatial axes) to the model's voxel size; the
    resampled image and its ``n_values`` float32 planes (channels and class
    probabilities) must fit in ``memory_limit`` (default: the memory
    available now).  Returns the resampled shape.

    Raises
    ------
    ResourceLimitError
        With the resampled shape, the bytes needed and the spacing ratio.
    """
    from ._errors import ResourceLimitError

    zoomed = tuple(max(1, int(round(s * f))) for s, f in zip(shape, factors))
    needed = float(np.prod([float(z) for z in zoomed])) * 4.0 * max(1, n_values) * 2
    if memory_limit is None:
        from .graph.memory import available_memory

        memory_limit = available_memory()
    if needed > memory_limit:
        raise ResourceLimitError(
            f"spacing {tuple(spacing)} is {max(factors):.3g}x the model's voxel size "
            f"{tuple(voxel_size)}: resampling the image {tuple(shape)} to {zoomed} needs about "
            f"{needed / 2**30:.3g} GiB, more than the {memory_limit / 2**30:.3g} GiB available; "
            "check the spacing's unit or downsample the image"
        )
    return zoomed
