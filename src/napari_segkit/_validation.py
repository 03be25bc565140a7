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
    "check_positive_number",
    "check_rng",
    "parse_byte_count",
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
            return image
        image = image.compute()
    array = np.asarray(image)
    _check_dtype(array.dtype, name)
    _check_not_empty(array.shape, name)
    return array


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


def check_channel_axis(channel_axis: Optional[int], ndim: int, *, name: str = "image") -> Optional[int]:
    """Return ``channel_axis`` as a non-negative index, or None.

    Raises
    ------
    InputError
        If ``channel_axis`` is not an integer within ``[-ndim, ndim)``.
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
