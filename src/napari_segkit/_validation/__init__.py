"""Checks shared by every method: one place that turns user input into arrays.

Each check names the argument and the value received, so a user sees what was
wrong without reading a traceback into numpy, scikit-image or PyMaxflow.  One
module per kind of input:

- :mod:`.arrays`: images and other arrays (dtype, emptiness, value range, NaN);
- :mod:`.axes`: the channel axis, the spatial axes, the spacing;
- :mod:`.scalars`: numbers, integers, flags, choices, the random state;
- :mod:`.memory`: byte counts and memory limits;
- :mod:`.options`: the rules per option name and :func:`validate_options`.
"""

from __future__ import annotations

from .arrays import as_image_array, check_finite, lazily_finite, safe_value_range
from .axes import MAX_SPACING_RATIO, check_channel_axis, check_spacing, check_spatial_dims, move_channels_last
from .memory import check_memory_limit, check_resampled_size, parse_byte_count
from .options import check_option, validate_options
from .scalars import (
    check_choice,
    check_flag,
    check_float,
    check_int,
    check_int_tuple,
    check_positive_number,
    check_rng,
)

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
