"""``python -m napari_segkit``: the command line (see :mod:`napari_segkit.cli`)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
