"""Arrays from user input: real dtypes, not empty, values the arithmetic can handle, NaN and infinities."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .._errors import InputError


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
