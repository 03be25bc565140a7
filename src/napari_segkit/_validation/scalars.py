"""Single options: numbers in a range, integers, flags, one of a set of choices, the random state."""

from __future__ import annotations

import numbers
from typing import Any, Collection, Optional, Tuple

import numpy as np

from .._errors import InputError
from ._text import _describe


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
