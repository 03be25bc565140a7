"""`import napari_segkit` must stay light: no GUI, no torch, no max-flow."""

import subprocess
import sys

HEAVY = ["napari", "magicgui", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "torch", "maxflow", "sklearn"]


def test_import_pulls_no_heavy_modules():
    code = (
        "import sys, napari_segkit\n"
        f"heavy = {HEAVY!r}\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_graph_cut_runs_without_gui_modules():
    code = (
        "import sys, numpy as np\n"
        "import napari_segkit as sk\n"
        "img = np.zeros((8, 8)); img[2:6, 2:6] = 1\n"
        "s = np.zeros((8, 8), int); s[3, 3] = 1; s[0, 0] = 2\n"
        "out = sk.graph_cut(img, s)\n"
        "assert (out == 1).sum() == 16, out\n"
        "print(','.join(m for m in ('napari', 'magicgui', 'qtpy', 'torch') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
