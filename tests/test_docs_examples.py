"""Every code block in README.md and docs/*.md runs as written, on small data.

How a page is run (new pages under docs/ are picked up automatically):

- The page's blocks run in order, like a notebook, in one namespace and in a
  fresh working folder.  Before the first block the folder holds small
  generated images (``cells.tif``, ``cells_seeds.tif``, ``stack.tif``,
  ``stack_seeds.tif``, ``timelapse.tif``, ``boxes.csv``) and the namespace
  holds ``np``, ``sk`` (``napari_segkit``) and a 2-D nuclei sample as
  ``image``, ``seeds`` (1 = nuclei, 2 = background), ``labels`` (the true
  nuclei) and ``boxes`` (their boxes, ``(N, 2, 2)``); ``volume``, a 3-D
  nuclei stack (voxels 4 x 1 x 1); ``rgb`` and ``rgb_image``, a small colour
  image (Y, X, 3).  This is the *prelude* (:func:`_prelude`).
- A page adds its own set-up, invisible on the rendered page, in an HTML
  comment: ``<!-- doc-test: setup`` + Python lines + ``-->``; it runs where it
  stands.
- ```` ```python ```` blocks run as they are (``>>>`` prompts are stripped).
  ```` ```bash ```` / ``sh`` / ``shell`` / ``console`` blocks: every line
  starting with ``napari-segkit`` runs (in process, exit code 0 expected);
  other commands (pip, napari, tools/*.sh) are not run here.
- A block whose first line is ``# doc-test: skip (reason)`` is skipped with
  that reason: for blocks that open a window, install packages or train for
  long.  Keep these rare.
- Training is capped at a few seconds (``train_model``'s ``time_budget``,
  one epoch of two steps; a default U-Net is made small): the examples must run, not
  converge.  Pages run without a
  display (``DISPLAY`` unset), so ``napari-segkit demo`` runs headless.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON = {"python", "py", "python3"}
SHELL = {"bash", "sh", "shell", "console"}
SKIP = re.compile(r"^\s*#\s*doc-test:\s*skip\b\s*(.*)$")
TRAINING_SECONDS = 4.0

#: blocks known to fail today: (page, a line of the block) -> why.  Marked xfail (not strict:
#: the pages change in parallel); remove an entry once its block runs, and fix rather than add.
KNOWN_FAILURES: Dict[tuple, str] = {
}


def _known_failure(page: str, code: str) -> Optional[str]:
    text = code + "\n"
    return next((why for (name, line), why in KNOWN_FAILURES.items() if name == page and line in text), None)


@dataclass
class Block:
    page: str
    line: int
    kind: str  # "python", "shell" or "setup"
    code: str

    @property
    def first(self) -> str:
        return next((s.strip() for s in self.code.splitlines() if s.strip()), "")

    @property
    def skip_reason(self) -> Optional[str]:
        match = SKIP.match(self.first)
        return (match.group(1).strip(" ()") or "marked skip") if match else None


_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)[^\n]*$")


def parse(path: Path) -> List[Block]:
    """The runnable blocks and set-up comments of a Markdown page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        text = lines[i]
        if text.strip().startswith("<!-- doc-test: setup"):
            start = i
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("-->"):
                body.append(lines[i])
                i += 1
            blocks.append(Block(path.name, start + 1, "setup", "\n".join(body)))
        else:
            match = _FENCE.match(text)
            if match:
                indent, fence, lang = match.group(1), match.group(2), match.group(3).lower()
                start = i
                body = []
                i += 1
                while i < len(lines) and not lines[i].strip().startswith(fence):
                    line = lines[i]
                    body.append(line[len(indent):] if line.startswith(indent) else line)
                    i += 1
                kind = "python" if lang in PYTHON else "shell" if lang in SHELL else None
                if kind:
                    blocks.append(Block(path.name, start + 1, kind, "\n".join(body)))
        i += 1
    return blocks


def _python_source(code: str) -> str:
    lines = code.splitlines()
    if any(line.lstrip().startswith(">>> ") for line in lines):
        kept = []
        for line in lines:
            stripped = line.lstrip()
            if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
                kept.append(stripped[4:])
        return "\n".join(kept)
    return code


def _shell_commands(code: str) -> List[List[str]]:
    """The ``napari-segkit`` command lines of a shell block, continuations joined."""
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        words = shlex.split(line, comments=True)
        if words and words[0] == "napari-segkit":
            commands.append(words[1:])
    return commands


def _prelude(folder: Path) -> dict:
    """The names and files every page starts with (see the module docstring)."""
    import tifffile

    import napari_segkit as sk
    from napari_segkit import samples
    from napari_segkit.io import write_labels

    s2 = samples.nuclei_2d((128, 128), n_nuclei=8, rng=0)
    s3 = samples.nuclei_3d((16, 80, 80), n_nuclei=4, rng=0)
    st = samples.nuclei_time_series(3, (80, 80), n_nuclei=4, rng=0)
    tifffile.imwrite(folder / "cells.tif", s2.image, imagej=True, resolution=(2.0, 2.0),
                     metadata={"unit": "um"})
    write_labels(folder / "cells_seeds.tif", s2.seeds)
    tifffile.imwrite(folder / "stack.tif", s3.image, imagej=True, resolution=(1.0, 1.0),
                     metadata={"axes": "ZYX", "spacing": 4.0, "unit": "um"})
    write_labels(folder / "stack_seeds.tif", s3.seeds)
    tifffile.imwrite(folder / "timelapse.tif", st.image, imagej=True, metadata={"axes": "TYX"})
    from scipy import ndimage

    boxes = np.array([[[s.start for s in box], [s.stop for s in box]]
                      for box in ndimage.find_objects(s2.labels) if box is not None], dtype=float)
    with open(folder / "boxes.csv", "w") as fh:
        fh.write("min_y,min_x,max_y,max_x\n")
        for (y0, x0), (y1, x1) in boxes:
            fh.write(f"{y0:g},{x0:g},{y1:g},{x1:g}\n")
    rgb = samples.voronoi_rgb((96, 96), n_regions=4, rng=0).image
    return {"__name__": "__doc_example__", "np": np, "sk": sk, "image": s2.image,
            "seeds": s2.seeds, "labels": s2.labels, "boxes": boxes,
            "volume": s3.image, "rgb": rgb, "rgb_image": rgb}


@contextlib.contextmanager
def _short_training():
    """``train_model`` capped at a few seconds wherever a page reaches it; no display."""
    import napari_segkit
    import napari_segkit.models as models
    from napari_segkit.models import training

    real = training.train_model

    def capped(*args, **kwargs):
        budget = kwargs.get("time_budget")
        kwargs["time_budget"] = min(budget, TRAINING_SECONDS) if budget else TRAINING_SECONDS
        kwargs["epochs"] = min(int(kwargs.get("epochs") or 1), 1)
        kwargs["steps_per_epoch"] = min(int(kwargs.get("steps_per_epoch") or 2), 2)
        if kwargs.get("architecture", "unet") == "unet" and not kwargs.get("options"):
            kwargs["options"] = {"width": 8, "depth": 2}  # a small U-Net: prediction stays fast too
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module in (napari_segkit, models, training):
            if getattr(module, "train_model", None) is real:
                patch.setattr(module, "train_model", capped)
        # no display: what would open a window runs headless (the demo writes its files)
        patch.delenv("DISPLAY", raising=False)
        patch.delenv("WAYLAND_DISPLAY", raising=False)
        yield


def _run_block(block: Block, namespace: dict) -> Optional[str]:
    """Run one block; return None when it ran, else the error text."""
    try:
        if block.kind in ("python", "setup"):
            code = compile(_python_source(block.code), f"{block.page}:{block.line}", "exec")
            exec(code, namespace)  # noqa: S102 (the documentation's own examples)
        else:
            from napari_segkit.cli import main

            for words in _shell_commands(block.code):
                rc = main(words)
                if rc != 0:
                    return f"`napari-segkit {' '.join(words)}` exited with {rc}"
    except BaseException as exc:  # noqa: BLE001 (reported as the block's failure)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "".join(traceback.format_exception_only(type(exc), exc)).strip() + "\n" + \
            "".join(traceback.format_tb(exc.__traceback__)[-3:])
    return None


_RESULTS: Dict[str, Dict[int, Optional[str]]] = {}


def _page_results(page: Path, tmp_path_factory) -> Dict[int, Optional[str]]:
    """Run a whole page once (blocks in order); the error (or None) of each block by line."""
    if page.name in _RESULTS:
        return _RESULTS[page.name]
    folder = tmp_path_factory.mktemp(page.stem.replace(".", "_"))
    results: Dict[int, Optional[str]] = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
    except ImportError:
        pass
    try:
        namespace = _prelude(folder)
        with _short_training():
            for block in parse(page):
                if block.skip_reason is not None:
                    continue
                results[block.line] = _run_block(block, namespace)
    finally:
        os.chdir(cwd)
    _RESULTS[page.name] = results
    return results


def _cases():
    for page in PAGES:
        if not page.is_file():
            continue
        for block in parse(page):
            if block.kind == "setup":
                continue
            marks = []
            reason = _known_failure(page.name, block.code)
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=False))
            yield pytest.param(page, block, id=f"{page.name}:{block.line}", marks=marks)


@pytest.mark.parametrize("page, block", list(_cases()))
def test_code_block_runs(page, block, tmp_path_factory):
    if block.skip_reason is not None:
        pytest.skip(f"{block.page}:{block.line}: {block.skip_reason}")
    if block.kind == "shell" and not _shell_commands(block.code):
        pytest.skip(f"{block.page}:{block.line}: no napari-segkit command to run")
    error = _page_results(page, tmp_path_factory)[block.line]
    assert error is None, f"{block.page}:{block.line} failed:\n{block.code}\n---\n{error}"


def test_parser_finds_blocks_setup_and_skip_marks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n<!-- doc-test: setup\nx = 1\n-->\n```python\ny = x + 1\n```\n"
        "```bash\n# doc-test: skip (opens a window)\nnapari\n```\n"
        "```bash\nnapari-segkit --version  # a comment\npip install foo\n```\n"
        "```text\nnot code\n```\n"
    )
    blocks = parse(page)
    assert [(b.kind, b.line) for b in blocks] == [("setup", 2), ("python", 5), ("shell", 8), ("shell", 12)]
    assert blocks[2].skip_reason == "opens a window"
    assert _shell_commands(blocks[3].code) == [["--version"]]
    namespace: dict = {}
    assert _run_block(blocks[0], namespace) is None and _run_block(blocks[1], namespace) is None
    assert namespace["y"] == 2
    assert "NameError" in _run_block(Block("p", 1, "python", "undefined_name"), {})
