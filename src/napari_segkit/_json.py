"""JSON read with a nesting limit, for every file the package parses.

Python's ``json`` recurses once per nesting level, so a file nested a few
thousand levels deep (a model config, zarr metadata, a sidecar, a GeoJSON box
file) raises RecursionError deep inside the parser.  :func:`loads` measures
the nesting first, without recursion, and refuses such files with a message
naming the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._errors import InputError

__all__ = ["MAX_JSON_DEPTH", "json_depth", "load", "loads"]

#: Deepest nesting of arrays/objects accepted; real metadata stays below 20.
MAX_JSON_DEPTH = 100

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(text: Union[str, bytes]) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (strings ignored); linear, no recursion."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    stripped = _STRING.sub("", text).encode("ascii", errors="replace")
    codes = np.frombuffer(stripped, dtype=np.uint8)
    if codes.size == 0:
        return 0
    step = (np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
            - np.isin(codes, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(step).max(initial=0))


def loads(text: Union[str, bytes], *, where: str = "JSON", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth``.

    Raises
    ------
    InputError
        If ``text`` is not valid JSON or nests too deep; the message names ``where``.
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise InputError(
            f"{where} nests {depth} levels deep (at most {max_depth} are accepted); "
            "refusing to parse it"
        )
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise InputError(f"{where} nests too deep to parse") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{where} is not valid JSON: {exc}") from None


def load(path: Union[str, Path], *, where: str = "", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse the JSON file ``path`` with :func:`loads`."""
    path = Path(path)
    return loads(path.read_bytes(), where=where or repr(str(path)), max_depth=max_depth)
