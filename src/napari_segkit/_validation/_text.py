"""How a check shows the value it refuses."""

from __future__ import annotations

from typing import Any


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
