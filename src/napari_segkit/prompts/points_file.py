"""Read clicks from a CSV file: one row per click, in the order clicked.

Coordinate columns: ``z, y, x`` / ``y, x`` or ``axis-0, axis-1, ...`` (napari's
Points layer CSV export; an ``index`` column is ignored), in pixels.  An
optional ``positive`` column (also ``sign`` or ``label``) holds 1/0,
true/false, yes/no, positive/negative or +/-; without it every click is
positive.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Tuple

import numpy as np

from .._errors import InputError

__all__ = ["read_points"]

_TRUE = {"1", "true", "yes", "positive", "pos", "+", "object", "fg"}
_FALSE = {"0", "false", "no", "negative", "neg", "-", "background", "bg", "2"}
_SIGN_COLUMNS = ("positive", "sign", "label", "polarity")


def read_points(path) -> Tuple[np.ndarray, np.ndarray]:
    """``(points (K, d) float64, positive (K,) bool)`` from a CSV file.

    Raises
    ------
    InputError
        Missing file, no coordinate columns, non-numeric coordinates or an
        unknown sign value; the message names the file, row and column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"points file {str(path)!r} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise InputError(f"points file {str(path)!r} is empty: expected a header row")
        names = [n.strip() for n in reader.fieldnames]
        lower = {n.lower(): n for n in names}
        axis_columns = sorted((n for n in names if n.lower().startswith("axis-")), key=lambda n: int(n.split("-")[1]))
        if not axis_columns:
            axis_columns = [lower[a] for a in ("t", "z", "y", "x") if a in lower]
        if len(axis_columns) < 2:
            raise InputError(
                f"points file {str(path)!r} has columns {names}: expected coordinate columns "
                "'y, x' / 'z, y, x' or napari's 'axis-0, axis-1, ...'"
            )
        sign_column = next((lower[c] for c in _SIGN_COLUMNS if c in lower), None)
        points, signs = [], []
        for row_number, row in enumerate(reader, start=2):
            row = {k.strip(): v for k, v in row.items() if k is not None}
            try:
                points.append([float(row[c]) for c in axis_columns])
            except (TypeError, ValueError):
                raise InputError(
                    f"points file {str(path)!r} row {row_number}: coordinates {[row.get(c) for c in axis_columns]} "
                    "are not numbers"
                ) from None
            if sign_column is None:
                signs.append(True)
                continue
            value = str(row.get(sign_column, "")).strip().lower()
            if value in _TRUE:
                signs.append(True)
            elif value in _FALSE:
                signs.append(False)
            else:
                raise InputError(
                    f"points file {str(path)!r} row {row_number}: {sign_column}={value!r}; use 1/0, true/false "
                    "or positive/negative"
                )
    if not points:
        raise InputError(f"points file {str(path)!r} holds no points")
    return np.asarray(points, dtype=np.float64), np.asarray(signs, dtype=bool)
