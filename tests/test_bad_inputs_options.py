"""Every numeric option of every public function, against every class of bad value.

The cases are generated (``_option_matrix``), not written one by one: the
options come from each function's signature, the values from classes
(non-finite, wrong type, bool for a number, negative, zero, huge).  Each call
must return, or raise InputError/TypeError/ValueError naming the option;
values that are never valid (NaN, strings, bools, lists) must be refused.
A watchdog turns a hang into a failure.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import napari_segkit as ns
from _option_matrix import (
    BASE_CALLS,
    VALUE_CLASSES,
    axis_values,
    call_with,
    flag_options,
    numeric_options,
    numpy_scalar_of,
    outcome,
)
from napari_segkit._validation import check_option

#: a value of a valid type that the image's shape makes wrong may fail on
#: something else it implies (``grabcut(rgb, channel_axis=0)`` is a valid
#: 24x3 image that the box misses); the axis cases below check the names
SHAPE_DEPENDENT = {"channel_axis", "class_axis"}

CASES = [
    (function, option, cls)
    for function in sorted(BASE_CALLS)
    for option in numeric_options(function)
    for cls in VALUE_CLASSES
    if not (option == "rng" and cls in ("zero", "huge_int"))
]


def test_every_public_function_is_covered():
    public = {name for name in ns.__all__ if inspect.isfunction(getattr(ns, name))}
    # a path or a record only: covered by the file and annotation tests
    without_options = {"load_model", "read_boxes", "export_labels", "write_measurements", "replay"}
    assert public - without_options == set(BASE_CALLS)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("function, option, cls", CASES, ids=["-".join(c) for c in CASES])
def test_bad_option_value(function, option, cls):
    value, always_bad = VALUE_CLASSES[cls]
    got = outcome(function, option, value)
    if option in SHAPE_DEPENDENT and got.startswith("unnamed InputError"):
        return
    if got == "ok":
        accepted_size = cls == "size_string" and option == "memory_limit"
        assert not always_bad or accepted_size, f"{function}({option}={value!r}) was accepted"
    else:
        assert got == "named", f"{function}({option}={value!r}): {got}"


SCALARS = [(f, o) for f in sorted(BASE_CALLS) for o in numeric_options(f) if numpy_scalar_of(f, o) is not None]


@pytest.mark.parametrize("function, option", SCALARS, ids=["-".join(c) for c in SCALARS])
def test_numpy_scalar_accepted_like_python_number(function, option):
    """``np.float32(0.5)`` passes wherever ``0.5`` does, as the same Python value."""
    param = inspect.signature(getattr(ns, function)).parameters[option]
    scalar = numpy_scalar_of(function, option)
    python = check_option(option, param.default, annotation=param.annotation, default=param.default)
    converted = check_option(option, scalar, annotation=param.annotation, default=param.default)
    assert converted == pytest.approx(python) and type(converted) in (int, float)


FLAGS = [(f, o, v) for f in sorted(BASE_CALLS) for o in flag_options(f) for v in ("no", 2, "False")]


@pytest.mark.parametrize("function, option, value", FLAGS, ids=[f"{f}-{o}-{v}" for f, o, v in FLAGS])
def test_flag_refuses_strings_and_numbers(function, option, value):
    """``kmeans(rgb="no")`` must not be read as True."""
    assert outcome(function, option, value) == "named"


def test_numpy_scalars_run_end_to_end():
    """A valid ``threshold=np.float32(0.5)`` and friends run, not only pass the check."""
    image = np.zeros((24, 24), np.float32)
    image[6:18, 6:18] = 1
    labels = ns.slic(image, np.int64(4), compactness=np.float32(10.0))
    assert labels.max() >= 1
    clusters = ns.kmeans(image, np.int32(2), rng=np.int64(0), spatial_weight=np.float64(0.0))
    assert set(np.unique(clusters)) == {1, 2}


AXES = [(f, o, v) for f in sorted(BASE_CALLS) for o, v in axis_values(f)]


def test_axis_cases_cover_every_function_with_axis_arguments():
    takes = {f for f in BASE_CALLS for o in ("channel_axis", "spatial_dims")
             if o in inspect.signature(getattr(ns, f)).parameters}
    assert takes == {f for f, _, _ in AXES} and len(takes) >= 15


@pytest.mark.parametrize("function, option, value", AXES, ids=[f"{f}-{o}={v}" for f, o, v in AXES])
def test_axis_argument_the_image_cannot_take_is_named(function, option, value):
    """``channel_axis=0`` on a 2-D image, or out of range, names the argument and its value."""
    with pytest.raises(ns.InputError) as info:
        call_with(function, option, value)
    message = str(info.value)
    assert f"{option}={value}" in message or (option in message and f"got {value}" in message), message
