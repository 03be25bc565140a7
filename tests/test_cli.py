"""The ``napari-segkit`` command line: verbs, outputs, exit codes."""

from __future__ import annotations

import errno
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tifffile

import napari_segkit
from napari_segkit import Cancelled, graphcut
from napari_segkit.cli import main
from napari_segkit.io import _tiff, read_image, write_labels

SQUARE = (slice(5, 15), slice(5, 15))


def _expected() -> np.ndarray:
    labels = np.zeros((20, 20), np.int32)  # the background seed value (2) is written as 0
    labels[SQUARE] = 1
    return labels


@pytest.fixture
def inputs(tmp_path):
    """A bright square on a dark background, one seed inside and one outside."""
    image = np.full((20, 20), 10, np.uint8)
    image[SQUARE] = 200
    seeds = np.zeros((20, 20), np.uint8)
    seeds[10, 10] = 1
    seeds[0, 0] = 2
    tifffile.imwrite(tmp_path / "image.tif", image)
    np.save(tmp_path / "seeds.npy", seeds)
    return tmp_path / "image.tif", tmp_path / "seeds.npy"


def _leftovers(directory: Path) -> list:
    return sorted(p.name for p in directory.iterdir() if ".partial-" in p.name or ".lock" in p.name)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("napari-segkit: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_help_lists_every_verb(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "graph-cut" in out and "demo" in out and "exit codes" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"napari-segkit {napari_segkit.__version__}"


def test_graph_cut_writes_exact_labels_and_metadata(inputs, tmp_path, capsys):
    image, seeds = inputs
    out = tmp_path / "labels.zarr"
    code = main(["graph-cut", str(image), str(seeds), "-o", str(out), "--spacing", "0.5", "0.5"])
    assert code == 0
    result = read_image(out)
    np.testing.assert_array_equal(result.array, _expected())
    assert result.spacing == (0.5, 0.5)
    assert result.axes == "YX"
    assert result.metadata == {
        "command": "graph-cut",
        "version": napari_segkit.__version__,
        "parameters": {
            "image": str(image.resolve()),
            "seeds": str(seeds.resolve()),
            "series": 0,
            "level": 0,
            "smoothness": 2.0,
            "connectivity": 1,
            "background": "auto",
            "instances": False,
            "channel_axis": None,
            "spatial_dims": 2,
            "spacing": [0.5, 0.5],
        },
        "spacing": [0.5, 0.5],
        "spacing_source": "command line",
        "warnings": [],
    }
    err = capsys.readouterr().err
    assert "100% frame 1/1 done" in err
    assert _leftovers(tmp_path) == []


def test_spacing_from_file_metadata(tmp_path, inputs):
    image = np.full((20, 20), 10, np.uint8)
    image[SQUARE] = 200
    calibrated = tmp_path / "calibrated.tif"
    tifffile.imwrite(calibrated, image, imagej=True, resolution=(1 / 0.2, 1 / 0.4),
                     metadata={"unit": "um", "axes": "YX"})
    out = tmp_path / "labels.tif"
    assert main(["graph-cut", str(calibrated), str(inputs[1]), "-o", str(out), "-q"]) == 0
    result = read_image(out)
    np.testing.assert_array_equal(result.array, _expected())
    assert result.spacing == pytest.approx((0.4, 0.2))
    assert result.unit == "um"
    assert result.metadata["spacing_source"] == "file"
    assert result.metadata["spacing"] == pytest.approx([0.4, 0.2])


def test_missing_spacing_defaults_to_one_with_a_recorded_warning(inputs, tmp_path, capsys):
    out = tmp_path / "labels.npy"
    assert main(["graph-cut", *map(str, inputs), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "napari-segkit: warning: IMAGE" in err and "using spacing 1.0" in err
    assert "%" not in err  # --quiet: no progress
    result = read_image(out)
    assert result.spacing == (1.0, 1.0)
    assert result.metadata["spacing_source"] == "default"
    assert len(result.metadata["warnings"]) == 1
    assert "has no physical pixel size" in result.metadata["warnings"][0]


# --------------------------------------------------------------------------- exit code 2


def test_missing_image_exits_2(inputs, tmp_path, capsys):
    code = main(["graph-cut", str(tmp_path / "nope.tif"), str(inputs[1]), "-o", str(tmp_path / "o.tif")])
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "IMAGE" in line and "nope.tif' does not exist" in line
    assert not (tmp_path / "o.tif").exists()


def test_existing_output_exits_2_and_is_untouched(inputs, tmp_path, capsys):
    out = tmp_path / "o.tif"
    out.write_bytes(b"the user's file")
    assert main(["graph-cut", *map(str, inputs), "-o", str(out)]) == 2
    assert "already exists" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b"the user's file"
    assert main(["graph-cut", *map(str, inputs), "-o", str(out), "--overwrite", "-q"]) == 0
    np.testing.assert_array_equal(read_image(out).array, _expected())


def test_output_equal_to_input_exits_2(inputs, capsys):
    image, seeds = inputs
    before = image.read_bytes()
    assert main(["graph-cut", str(image), str(seeds), "-o", str(image), "--overwrite"]) == 2
    assert "is the input" in _one_error_line(capsys.readouterr().err)
    assert image.read_bytes() == before


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--spacing", "0", "1"], "expected a positive finite number, got '0'"),
        (["--spatial-dims", "4"], "invalid choice"),
        (["--memory-limit", "lots"], "expected a positive size"),
    ],
)
def test_usage_errors_exit_2(inputs, tmp_path, capsys, extra, message):
    assert main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.tif"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_output_option_exits_2(inputs, capsys):
    assert main(["graph-cut", *map(str, inputs)]) == 2
    assert "-o/--output" in capsys.readouterr().err


def test_spacing_count_mismatch_exits_2(inputs, tmp_path, capsys):
    code = main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.tif"), "--spacing", "1", "1", "1"])
    assert code == 2
    assert "--spacing got 3 value(s)" in _one_error_line(capsys.readouterr().err)


# --------------------------------------------------------------------------- exit codes 3, 4, 5


def test_memory_limit_exits_3_before_reading(inputs, tmp_path, capsys):
    code = main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.tif"), "--memory-limit", "100"])
    assert code == 3
    assert "more than the 100 B of memory allowed" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o.tif").exists()
    assert _leftovers(tmp_path) == []


def test_unwritable_output_directory_exits_4_before_compute(inputs, tmp_path, monkeypatch, capsys):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    def must_not_run(*args, **kwargs):
        raise AssertionError("graph_cut ran before the output was checked")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    monkeypatch.setattr(graphcut, "graph_cut", must_not_run)
    assert main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.tif")]) == 4
    assert "is not writable: Permission denied" in _one_error_line(capsys.readouterr().err)


def test_disk_full_while_writing_exits_4_and_keeps_previous_output(inputs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "o.tif"
    write_labels(out, np.full((20, 20), 7, np.int32))
    before = out.read_bytes()

    def full(fh, *args, **kwargs):
        fh.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_tiff, "write_tiff", full)
    assert main(["graph-cut", *map(str, inputs), "-o", str(out), "--overwrite", "-q"]) == 4
    assert "No space left on device" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_unsafe_zarr_exits_5(inputs, tmp_path, capsys):
    store = tmp_path / "evil.zarr"
    store.mkdir()
    (store / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [20, 20], "chunks": [20, 20], "dtype": "|O",
        "compressor": None, "filters": [{"id": "pickle"}], "fill_value": 0, "order": "C",
    }))
    assert main(["graph-cut", str(store), str(inputs[1]), "-o", str(tmp_path / "o.tif")]) == 5
    assert "object dtype" in _one_error_line(capsys.readouterr().err)


# --------------------------------------------------------------------------- 130 and 1


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Cancelled])
def test_cancel_exits_130_and_leaves_nothing(inputs, tmp_path, monkeypatch, capsys, stop):
    def cancelled(*args, progress=None, **kwargs):
        raise stop()

    monkeypatch.setattr(graphcut, "graph_cut", cancelled)
    assert main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.zarr")]) == 130
    assert "cancelled" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o.zarr").exists()
    assert _leftovers(tmp_path) == []


def test_interrupt_during_write_exits_130_and_cleans_temp(inputs, tmp_path, monkeypatch):
    from napari_segkit.io import _zarr

    real = _zarr.write_zarr

    def interrupted(directory, labels, **kwargs):
        real(directory, labels, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(_zarr, "write_zarr", interrupted)
    assert main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.zarr"), "-q"]) == 130
    assert not (tmp_path / "o.zarr").exists()
    assert _leftovers(tmp_path) == []


def test_internal_error_exits_1_with_a_hint(inputs, tmp_path, monkeypatch, capsys):
    def bug(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(graphcut, "graph_cut", bug)
    assert main(["graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.tif")]) == 1
    err = capsys.readouterr().err
    assert "napari-segkit: error: internal error: RuntimeError: boom" in err
    assert "--debug" in err and "Traceback" not in err
    assert main(["--debug", "graph-cut", *map(str, inputs), "-o", str(tmp_path / "o.tif")]) == 1
    assert "Traceback" in capsys.readouterr().err


# --------------------------------------------------------------------------- demo


@pytest.mark.parametrize("extra, headless", [([], None), (["--headless"], True)])
def test_demo_calls_the_demo_module(monkeypatch, tmp_path, extra, headless):
    calls = []

    def fake_main(*, output_dir="segkit-demo", headless=None):
        calls.append((output_dir, headless))
        return 0

    module = types.ModuleType("napari_segkit.demo")
    module.main = fake_main
    monkeypatch.setitem(sys.modules, "napari_segkit.demo", module)
    monkeypatch.setattr(napari_segkit, "demo", module, raising=False)
    assert main(["demo", "--output-dir", str(tmp_path / "d"), *extra]) == 0
    assert calls == [(str(tmp_path / "d"), headless)]


# --------------------------------------------------------------------------- real process


def test_python_m_runs_graph_cut(inputs, tmp_path):
    image, seeds = inputs
    seeds_tif = tmp_path / "seeds.tif"
    tifffile.imwrite(seeds_tif, np.load(seeds))
    out = tmp_path / "result dir"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "napari_segkit", "graph-cut", str(image), str(seeds_tif),
         "-o", str(out / "labels.tif"), "--spacing", "1", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "100%" in result.stderr
    labels = read_image(out / "labels.tif")
    np.testing.assert_array_equal(labels.array, _expected())
    assert labels.metadata["parameters"]["spacing"] == [1.0, 1.0]
    assert sorted(p.name for p in out.iterdir()) == ["labels.tif"]


def test_grabcut_verb_segments_each_box(tmp_path):
    import tifffile

    from napari_segkit.samples import nuclei_2d

    sample = nuclei_2d((96, 96), n_nuclei=4, rng=1)
    image_path = tmp_path / "nuclei.tif"
    tifffile.imwrite(image_path, sample.image)
    boxes = []
    for index in range(1, sample.labels.max() + 1):
        where = np.argwhere(sample.labels == index)
        boxes.append([where.min(0) - 2, where.max(0) + 3])
    boxes_path = tmp_path / "boxes.npy"
    np.save(boxes_path, np.array(boxes, dtype=float))
    out = tmp_path / "labels.tif"
    assert main(["grabcut", str(image_path), "--boxes", str(boxes_path), "-o", str(out), "-q"]) == 0
    labels = tifffile.imread(out)
    for index in range(1, sample.labels.max() + 1):
        mine, truth = labels == index, sample.labels == index
        assert (mine & truth).sum() / (mine | truth).sum() > 0.75  # the verb wiring; accuracy is tested in tests/grabcut


def test_grabcut_verb_needs_boxes_or_seeds(tmp_path):
    image_path = tmp_path / "img.npy"
    np.save(image_path, np.zeros((8, 8)))
    assert main(["grabcut", str(image_path), "-o", str(tmp_path / "o.tif")]) == 2


@pytest.mark.parametrize(
    "verb, options",
    [("kmeans", ["-k", "2"]), ("mean-shift", []), ("slic", ["-n", "4", "--compactness", "1"])],
)
def test_clustering_verbs(tmp_path, verb, options):
    image = np.zeros((32, 32), np.uint16)
    image[:, 16:] = 1000
    image += np.random.default_rng(0).integers(0, 50, image.shape, dtype=np.uint16)
    path = tmp_path / "img.npy"
    np.save(path, image)
    out = tmp_path / "labels.tif"
    assert main([verb, str(path), "-o", str(out), "-q", *options]) == 0
    labels = tifffile.imread(out)
    assert labels.shape == image.shape and labels.min() >= 1
    # no label straddles the intensity step
    for value in np.unique(labels):
        sides = np.unique((np.arange(32) >= 16)[np.nonzero(labels == value)[1]])
        assert len(sides) == 1, value
    if verb != "slic":
        np.testing.assert_array_equal(labels[:, :16], 1)
        np.testing.assert_array_equal(labels[:, 16:], 2)


def test_train_then_predict(tmp_path):
    """Train a small U-Net from the CLI, then predict with the saved model."""
    from napari_segkit.samples import nuclei_2d

    train = nuclei_2d((64, 64), n_nuclei=5, rng=4)
    test = nuclei_2d((64, 64), n_nuclei=5, rng=5)
    for name, array in [("img", train.image), ("lab", train.labels), ("test", test.image)]:
        np.save(tmp_path / f"{name}.npy", array)
    model = tmp_path / "model"
    code = main(["train", "--image", str(tmp_path / "img.npy"), "--labels", str(tmp_path / "lab.npy"),
                 "-o", str(model), "--option", "depth=2", "--option", "width=8",
                 "--epochs", "2", "-q"])
    assert code == 0
    assert json.loads((model / "config.json").read_text())["architecture"] == "unet"
    out = tmp_path / "pred.tif"
    assert main(["predict", str(model), str(tmp_path / "test.npy"), "-o", str(out), "-q"]) == 0
    labels = tifffile.imread(out)
    assert labels.shape == test.image.shape and labels.min() == 0
    if importlib.util.find_spec("distributed") is not None:
        # the same model on a local dask.distributed cluster, in 32-pixel blocks: same labels
        spread = tmp_path / "pred-cluster.tif"
        assert main(["predict", str(model), str(tmp_path / "test.npy"), "-o", str(spread),
                     "--workers", "2", "--block", "32", "-q"]) == 0
        np.testing.assert_array_equal(tifffile.imread(spread), labels)
    # refusing to overwrite the model without --overwrite, and the model stays intact
    before = sorted(p.name for p in model.iterdir())
    assert main(["train", "--image", str(tmp_path / "img.npy"), "--labels", str(tmp_path / "lab.npy"),
                 "-o", str(model), "--epochs", "1", "-q"]) == 2
    assert sorted(p.name for p in model.iterdir()) == before


def test_train_prints_device_and_epoch_lines_once_then_fine_tunes(tmp_path, capsys):
    from napari_segkit.samples import nuclei_2d

    train = nuclei_2d((48, 48), n_nuclei=4, rng=4)
    np.save(tmp_path / "img.npy", train.image)
    np.save(tmp_path / "lab.npy", train.labels.astype(np.float32))  # as Fiji saves them
    model = tmp_path / "model"
    pair = ["--image", str(tmp_path / "img.npy"), "--labels", str(tmp_path / "lab.npy")]
    assert main(["train", *pair, "-o", str(model), "--option", "depth=1", "--option", "width=4",
                 "--epochs", "2"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sum("cpu" in line.lower() and "epoch" not in line for line in err) == 1, err
    for epoch in (1, 2):
        assert sum(f"epoch {epoch}/2:" in line for line in err) == 1, err
    assert main(["train", *pair, "-o", str(tmp_path / "tuned"), "--init-model", str(model),
                 "--epochs", "1", "-q"]) == 0
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["training"]["resumed_from"]["source"] == str(model)
    assert config["options"] == {"depth": 1, "width": 4}


def test_train_needs_matching_pairs(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((16, 16)))
    assert main(["train", "--image", str(tmp_path / "img.npy"), "--image", str(tmp_path / "img.npy"),
                 "--labels", str(tmp_path / "img.npy"), "-o", str(tmp_path / "m")]) == 2


@pytest.mark.parametrize("verb, options", [("normalized-cut", ["-n", "2"]), ("spectral", ["-k", "2"])])
def test_spectral_verbs(tmp_path, verb, options):
    image = np.zeros((24, 24), np.uint8)
    image[:, 12:] = 200
    path = tmp_path / "img.npy"
    np.save(path, image)
    out = tmp_path / "labels.tif"
    assert main([verb, str(path), "-o", str(out), "-q", "--superpixels", "pixels", *options]) == 0
    labels = tifffile.imread(out)
    assert len(np.unique(labels[:, :12])) == 1 and len(np.unique(labels[:, 12:])) == 1
    assert labels[0, 0] != labels[0, -1]
    # --spatial-dims 2: a (T, Y, X) series cut frame by frame, ids unique over the result
    np.save(path, np.stack([image, image[:, ::-1]]))
    assert main([verb, str(path), "-o", str(out), "-q", "--overwrite", "--superpixels", "pixels",
                 "--spatial-dims", "2", *options]) == 0
    series = tifffile.imread(out)
    np.testing.assert_array_equal(series[0], np.where(image > 0, 2, 1))
    np.testing.assert_array_equal(series[1], np.where(image[:, ::-1] > 0, 3, 4))
