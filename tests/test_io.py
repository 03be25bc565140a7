"""Reading images and writing labels: formats, refusals, atomic output."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from napari_segkit import InputError, ResourceLimitError, UnsafeFileError
from napari_segkit.io import (
    OutputExistsError,
    OutputLockedError,
    preflight_output,
    read_image,
    write_labels,
)
from napari_segkit.io import _npy, _tiff, _zarr, writers

SPACING_3D = (2.0, 0.3, 0.25)


def _labels_3d() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 7, size=(3, 5, 6)).astype(np.int32)


def _leftovers(directory: Path) -> list:
    return sorted(p.name for p in directory.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def _touch_marker(path):  # what a malicious pickle would run
    Path(path).write_text("payload ran")
    return 0


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (_touch_marker, (self.marker,))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", ["tif", "tiff", "zarr", "npy"])
def test_round_trip_keeps_values_spacing_axes_metadata(tmp_path, ext):
    labels = _labels_3d()
    meta = {"command": "test", "parameters": {"smoothness": 2.0}, "version": "x"}
    out = write_labels(tmp_path / f"labels.{ext}", labels, spacing=SPACING_3D, metadata=meta, unit="micron")
    assert out == tmp_path / f"labels.{ext}"
    image = read_image(out)
    np.testing.assert_array_equal(np.asarray(image.array), labels)
    assert image.spacing == SPACING_3D
    assert image.axes == "ZYX"
    assert image.unit == "micron"
    assert image.metadata == meta
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / f"labels.{ext}.lock").exists()


def test_tiff_is_imagej_when_ids_fit_uint16(tmp_path):
    out = write_labels(tmp_path / "l.tif", _labels_3d(), spacing=SPACING_3D)
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej
        assert tif.imagej_metadata["spacing"] == 2.0
        x_num, x_den = tif.pages[0].tags["XResolution"].value
        assert x_num / x_den == pytest.approx(4.0)  # 1 / 0.25
        assert tif.series[0].dtype == np.uint16


def test_tiff_keeps_dtype_when_ids_exceed_uint16(tmp_path):
    labels = np.zeros((4, 5), np.int32)
    labels[1, 1] = 70000
    labels[2, 3] = 3
    out = write_labels(tmp_path / "big.tif", labels, spacing=(0.5, 0.25))
    image = read_image(out)
    assert image.array.dtype == np.int32
    np.testing.assert_array_equal(image.array, labels)
    assert image.spacing == (0.5, 0.25)
    assert image.axes == "YX"


def test_zarr_output_is_marked_complete_and_every_chunk_stored(tmp_path):
    labels = np.zeros((300, 300), np.int32)  # all background: zarr would skip empty chunks
    out = write_labels(tmp_path / "l.zarr", labels, spacing=(1.0, 2.0))
    array = zarr.open_array(str(out), mode="r")
    assert array.attrs["seg_complete"] is True
    assert array.attrs["spacing"] == [1.0, 2.0]
    assert array.nchunks_initialized == array.nchunks


def test_npy_sidecar_holds_metadata(tmp_path):
    out = write_labels(tmp_path / "l.npy", _labels_3d(), spacing=SPACING_3D, metadata={"a": 1})
    document = json.loads((tmp_path / "l.npy.json").read_text())
    assert document == {"napari_segkit": {"a": 1}, "spacing": list(SPACING_3D), "axes": "ZYX", "unit": None}
    assert read_image(out).array.flags.writeable is False  # read-only memory map


def test_paths_with_spaces_and_non_ascii(tmp_path):
    folder = tmp_path / "données brutes"
    folder.mkdir()
    labels = np.arange(12, dtype=np.int32).reshape(3, 4)
    for ext in ("tif", "zarr", "npy"):
        out = write_labels(folder / f"étiquettes µ.{ext}", labels)
        np.testing.assert_array_equal(np.asarray(read_image(out).array), labels)


# --------------------------------------------------------------------------- TIFF metadata


def test_imagej_calibration_gives_spacing(tmp_path):
    path = tmp_path / "ij.tif"
    data = np.zeros((4, 8, 10), np.uint16)
    # tifffile's resolution is (X, Y) in pixels per unit
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.25, 1 / 0.5),
                     metadata={"spacing": 3.0, "unit": "um", "axes": "ZYX"})
    image = read_image(path)
    assert image.spacing == pytest.approx((3.0, 0.5, 0.25))
    assert image.axes == "ZYX"
    assert image.unit == "um"
    assert image.metadata == {}


def test_plain_tiff_has_no_spacing(tmp_path):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, np.ones((8, 8), np.uint8))
    image = read_image(path)
    assert image.spacing is None
    np.testing.assert_array_equal(image.array, np.ones((8, 8), np.uint8))


def test_ome_tiff_series_levels_and_physical_sizes(tmp_path, caplog):
    path = tmp_path / "multi.ome.tif"
    base = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(base, subifds=1, metadata={"axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.25})
        tw.write(base[::2, ::2], subfiletype=1)
        tw.write(np.full((3, 8, 8), 7, np.uint8), metadata={
            "axes": "ZYX", "PhysicalSizeX": 1.0, "PhysicalSizeY": 1.0,
            "PhysicalSizeZ": 3.0, "PhysicalSizeZUnit": "nm",
        })
    with caplog.at_level(logging.INFO, logger="napari_segkit"):
        first = read_image(path)
    np.testing.assert_array_equal(first.array, base)
    assert first.spacing == (0.25, 0.5)
    assert "2 series" in caplog.text and "reading series 0 level 0" in caplog.text
    level1 = read_image(path, level=1)
    np.testing.assert_array_equal(level1.array, base[::2, ::2])
    assert level1.spacing == (0.5, 1.0)
    second = read_image(path, series=1)
    assert second.array.shape == (3, 8, 8) and int(second.array.max()) == 7
    assert second.spacing == pytest.approx((0.003, 1.0, 1.0))  # nm converted to µm
    assert second.unit == "µm"
    with pytest.raises(InputError, match=r"series=2 is out of range: .* has 2 series"):
        read_image(path, series=2)
    with pytest.raises(InputError, match=r"level=5 is out of range"):
        read_image(path, level=5)


# --------------------------------------------------------------------------- OME-Zarr


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_multiscales_level_and_scale(tmp_path, zarr_format):
    path = tmp_path / "image.ome.zarr"
    base = np.arange(4 * 8 * 8, dtype=np.uint16).reshape(4, 8, 8)
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    group.create_array("0", data=base, chunks=(2, 4, 4))
    group.create_array("1", data=base[:, ::2, ::2], chunks=(2, 4, 4))
    multiscales = [{
        "version": "0.4",
        "axes": [
            {"name": "z", "type": "space", "unit": "micrometer"},
            {"name": "y", "type": "space", "unit": "micrometer"},
            {"name": "x", "type": "space", "unit": "micrometer"},
        ],
        "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [2.0, 0.5, 0.5]}]},
            {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [2.0, 1.0, 1.0]}]},
        ],
    }]
    if zarr_format == 3:
        group.attrs["ome"] = {"version": "0.5", "multiscales": multiscales}
    else:
        group.attrs["multiscales"] = multiscales
    image = read_image(path)
    np.testing.assert_array_equal(image.array, base)
    assert image.spacing == (2.0, 0.5, 0.5)
    assert image.axes == "ZYX"
    assert image.unit == "micrometer"
    low = read_image(path, level=1)
    np.testing.assert_array_equal(low.array, base[:, ::2, ::2])
    assert low.spacing == (2.0, 1.0, 1.0)
    with pytest.raises(InputError, match=r"level=2 is out of range: .* has 2 level"):
        read_image(path, level=2)


def test_zarr_group_without_multiscales_is_refused(tmp_path):
    path = tmp_path / "group.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_array("raw", shape=(4, 4), dtype="u1")
    with pytest.raises(InputError, match=r"has no 'multiscales' attribute.*raw"):
        read_image(path)


def test_ome_zarr_dataset_path_may_not_leave_the_store(tmp_path):
    path = tmp_path / "evil.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.attrs["multiscales"] = [{"datasets": [{"path": "../outside"}]}]
    with pytest.raises(UnsafeFileError, match="leaves the store"):
        read_image(path)


def test_directory_without_zarr_metadata_is_refused(tmp_path):
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match=r"no zarr metadata"):
        read_image(tmp_path / "empty.zarr")


# --------------------------------------------------------------------------- refusals


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nope.tif"
    with pytest.raises(InputError, match=r"image '.*nope\.tif' does not exist \(format tiff"):
        read_image(missing)


def test_directory_where_a_file_is_expected(tmp_path):
    (tmp_path / "folder.tif").mkdir()
    with pytest.raises(InputError, match=r"is a directory; expected a tiff file"):
        read_image(tmp_path / "folder.tif")
    (tmp_path / "file.zarr").write_bytes(b"x")
    with pytest.raises(InputError, match=r"is a file, but a \.zarr store is a directory"):
        read_image(tmp_path / "file.zarr")


def test_unknown_extension_lists_supported_ones(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match=r"'\.png'; supported formats: \.npy, \.tif, \.tiff, \.zarr"):
        read_image(path)


def test_urls_are_refused():
    with pytest.raises(InputError, match="is a URL; only local paths"):
        read_image("s3://bucket/image.zarr")


def test_not_a_tiff(tmp_path):
    path = tmp_path / "fake.tif"
    path.write_bytes(b"this is not a tiff file at all")
    with pytest.raises(InputError, match="is not a readable TIFF file"):
        read_image(path)


def _write_v2_metadata(path: Path, dtype: str, filters, compressor=None) -> None:
    path.mkdir()
    (path / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [2], "chunks": [2], "dtype": dtype,
        "compressor": compressor, "filters": filters, "fill_value": 0, "order": "C",
    }))


def test_object_dtype_zarr_is_refused(tmp_path):
    path = tmp_path / "obj.zarr"
    _write_v2_metadata(path, "|O", [{"id": "pickle"}])
    with pytest.raises(UnsafeFileError, match=r"object dtype '\|O'"):
        read_image(path)


def test_pickle_codec_is_found_in_any_position(tmp_path):
    path = tmp_path / "pickle.zarr"
    _write_v2_metadata(path, "<i4", [{"id": "delta", "dtype": "<i4"}, {"id": "pickle"}],
                       compressor={"id": "zlib", "level": 1})
    with pytest.raises(UnsafeFileError, match="'pickle' codec, which can run code"):
        read_image(path)


def test_unknown_v3_codec_inside_sharding_is_refused(tmp_path):
    path = tmp_path / "shard.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2], "codecs": [{"name": "bytes"}, {"name": "numcodecs.pickle"}],
            "index_codecs": [{"name": "bytes"}]}}],
        "fill_value": 0, "attributes": {},
    }))
    with pytest.raises(UnsafeFileError, match="numcodecs.pickle"):
        read_image(path)


def test_object_npy_is_refused_without_running_the_payload(tmp_path):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([_Payload(str(marker))], dtype=object), allow_pickle=True)
    assert not marker.exists()
    with pytest.raises(UnsafeFileError, match="object array"):
        read_image(path)
    assert not marker.exists()


@pytest.mark.parametrize("ext", ["tif", "zarr", "npy"])
def test_declared_size_over_the_memory_limit(tmp_path, ext):
    out = write_labels(tmp_path / f"l.{ext}", np.ones((20, 30), np.int32))
    with pytest.raises(ResourceLimitError, match=r"declares image shape \(20, 30\)"):
        read_image(out, memory_limit=100)


def test_tiff_bomb_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.tif"
    # a header declaring one terabyte of pixels over a payload of a few bytes
    tifffile.imwrite(path, shape=(1_000_000, 1_000_000), dtype="uint8", bigtiff=True)
    os.truncate(path, 512)
    with pytest.raises(ResourceLimitError, match=r"\(1000000, 1000000\).*1\.00 TB"):
        read_image(path)


def test_zarr_chunk_bomb_is_refused(tmp_path):
    path = tmp_path / "chunks.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [4, 4], "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1_000_000, 1_000_000]}},
        "chunk_key_encoding": {"name": "default"},
        "codecs": [{"name": "bytes"}], "fill_value": 0, "attributes": {},
    }))
    with pytest.raises(ResourceLimitError, match="declares chunk shape"):
        read_image(path)


def test_interrupted_zarr_write_is_refused(tmp_path):
    path = tmp_path / "half.zarr"
    array = zarr.create_array(store=str(path), shape=(4, 4), dtype="i4")
    array.attrs["seg_complete"] = False
    with pytest.raises(InputError, match=r"incomplete: its attribute 'seg_complete' is false"):
        read_image(path)


def test_truncated_imagej_stack(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.ones((4, 64, 64), np.uint16), imagej=True, metadata={"axes": "ZYX"})
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(InputError, match="truncated"):
        read_image(path)


def test_truncated_compressed_tiff(tmp_path):
    path = tmp_path / "tiles.tif"
    rng = np.random.default_rng(1)
    tifffile.imwrite(path, rng.integers(0, 4000, (2, 64, 64), dtype=np.uint16),
                     compression="zlib", tile=(32, 32))
    os.truncate(path, int(path.stat().st_size * 0.7))
    with pytest.raises(InputError, match=r"truncated: a data segment ends at byte [0-9,]+ but the file"):
        read_image(path)


def test_truncated_single_page_tiff(tmp_path):
    path = tmp_path / "page.tif"
    tifffile.imwrite(path, np.ones((64, 64), np.uint16))
    os.truncate(path, path.stat().st_size - 100)
    with pytest.raises(InputError, match=r"truncated: its image data ends at byte [0-9,]+ but the file has"):
        read_image(path)


def test_truncated_npy(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.ones((50, 50), np.float32))
    os.truncate(path, 1000)
    with pytest.raises(InputError, match=r"truncated: its header declares shape \(50, 50\)"):
        read_image(path)


def test_missing_chunk_in_our_store_is_damage(tmp_path):
    out = write_labels(tmp_path / "l.zarr", np.ones((300, 300), np.int32))
    chunk = next(p for p in (out / "c").rglob("*") if p.is_file())
    chunk.unlink()
    with pytest.raises(InputError, match=r"1 of \d+ chunks .* are not stored.*damaged"):
        read_image(out)


def test_missing_chunk_in_foreign_store_is_reported(tmp_path, caplog):
    path = tmp_path / "foreign.zarr"
    array = zarr.create_array(store=str(path), shape=(4, 4), chunks=(2, 2), dtype="i4")
    array[:2, :2] = 5  # the other chunks hold only the fill value and are not stored
    with caplog.at_level(logging.WARNING, logger="napari_segkit"):
        image = read_image(path)
    assert "3 of 4 chunks" in caplog.text and "fill value 0" in caplog.text
    assert int(image.array.sum()) == 20


def test_corrupt_zarr_chunk(tmp_path):
    out = write_labels(tmp_path / "l.zarr", np.ones((30, 30), np.int32))
    chunk = next(p for p in (out / "c").rglob("*") if p.is_file())
    chunk.write_bytes(b"garbage")
    with pytest.raises(InputError, match="a chunk is corrupt"):
        read_image(out)


# --------------------------------------------------------------------------- atomic output


@pytest.mark.parametrize("ext", ["tif", "zarr", "npy"])
def test_existing_output_is_untouched_without_overwrite(tmp_path, ext):
    out = write_labels(tmp_path / f"l.{ext}", np.full((4, 4), 3, np.int32))
    with pytest.raises(OutputExistsError, match="already exists; pass overwrite=True") as info:
        write_labels(out, np.full((4, 4), 9, np.int32))
    assert isinstance(info.value, FileExistsError)
    np.testing.assert_array_equal(np.asarray(read_image(out).array), np.full((4, 4), 3))
    write_labels(out, np.full((4, 4), 9, np.int32), overwrite=True)
    np.testing.assert_array_equal(np.asarray(read_image(out).array), np.full((4, 4), 9))
    assert _leftovers(tmp_path) == []


def test_disk_full_mid_tiff_write_leaves_previous_output(tmp_path, monkeypatch):
    out = write_labels(tmp_path / "l.tif", np.full((4, 4), 3, np.int32))
    before = out.read_bytes()

    def fail(fh, *args, **kwargs):
        fh.write(b"partial data")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_tiff, "write_tiff", fail)
    with pytest.raises(OSError, match="No space left"):
        write_labels(out, np.full((4, 4), 9, np.int32), overwrite=True)
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "l.tif.lock").exists()


def test_interrupt_mid_zarr_write_leaves_previous_store(tmp_path, monkeypatch):
    out = write_labels(tmp_path / "l.zarr", np.full((4, 4), 3, np.int32))
    real = _zarr.write_zarr

    def interrupted(directory, labels, **kwargs):
        real(directory, labels, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(_zarr, "write_zarr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_labels(out, np.full((4, 4), 9, np.int32), overwrite=True)
    np.testing.assert_array_equal(read_image(out).array, np.full((4, 4), 3))
    assert _leftovers(tmp_path) == []


def test_failed_zarr_swap_restores_previous_store(tmp_path, monkeypatch):
    out = write_labels(tmp_path / "l.zarr", np.full((4, 4), 3, np.int32))

    def no_rename(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(writers.os, "rename", no_rename)
    with pytest.raises(OSError, match="I/O error"):
        write_labels(out, np.full((4, 4), 9, np.int32), overwrite=True)
    monkeypatch.undo()
    np.testing.assert_array_equal(read_image(out).array, np.full((4, 4), 3))
    assert _leftovers(tmp_path) == []


def test_failed_npy_write_restores_sidecar(tmp_path, monkeypatch):
    out = write_labels(tmp_path / "l.npy", np.full((4, 4), 3, np.int32), spacing=(1.0, 2.0))
    side_before = (tmp_path / "l.npy.json").read_bytes()

    def fail(fh, labels):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_npy, "write_npy", fail)
    with pytest.raises(OSError):
        write_labels(out, np.full((4, 4), 9, np.int32), spacing=(5.0, 5.0), overwrite=True)
    assert (tmp_path / "l.npy.json").read_bytes() == side_before
    image = read_image(out)
    np.testing.assert_array_equal(image.array, np.full((4, 4), 3))
    assert image.spacing == (1.0, 2.0)
    assert _leftovers(tmp_path) == []


def test_bad_labels_spacing_and_metadata(tmp_path):
    with pytest.raises(InputError, match="integer or bool dtype, got float64"):
        write_labels(tmp_path / "a.tif", np.zeros((3, 3)))
    with pytest.raises(InputError, match="one value per spatial axis"):
        write_labels(tmp_path / "a.tif", np.zeros((3, 3, 3), int), spacing=(1.0, 2.0, 3.0, 4.0))
    with pytest.raises(InputError, match="JSON-serialisable"):
        write_labels(tmp_path / "a.tif", np.zeros((3, 3), int), metadata={"f": object()})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- preflight


def test_output_equal_to_input_is_refused(tmp_path):
    image = tmp_path / "image.tif"
    tifffile.imwrite(image, np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match="is the input"):
        preflight_output(image, overwrite=True, inputs=[image])
    link = tmp_path / "link.tif"
    link.symlink_to(image)
    with pytest.raises(InputError, match="is the input"):
        preflight_output(link, overwrite=True, inputs=[image])


def test_output_inside_input_store_and_the_reverse(tmp_path):
    store = write_labels(tmp_path / "in.zarr", np.zeros((4, 4), np.int32))
    with pytest.raises(InputError, match="lies inside the input store"):
        preflight_output(store / "labels.zarr", overwrite=False, inputs=[store])
    with pytest.raises(InputError, match="lies inside the output"):
        preflight_output(tmp_path / "in.zarr", overwrite=True, inputs=[store / "0"])


def test_missing_output_directory(tmp_path):
    with pytest.raises(InputError, match="output directory .*missing' does not exist"):
        preflight_output(tmp_path / "missing" / "out.tif", overwrite=False)


def test_unwritable_directory_is_refused_by_preflight(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError, match=r"output directory '.*' is not writable: Permission denied"):
        preflight_output(tmp_path / "out.tif", overwrite=False)


def test_read_only_directory_really_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing")
        with pytest.raises(PermissionError, match="is not writable"):
            preflight_output(folder / "out.tif", overwrite=False)
        with pytest.raises(PermissionError):
            write_labels(folder / "out.tif", np.zeros((4, 4), np.int32))
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_not_enough_disk(tmp_path, monkeypatch):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(ResourceLimitError, match=r"needs about 1\.20 kB .* only 1\.00 kB is free"):
        preflight_output(tmp_path / "out.tif", overwrite=False, estimated_bytes=1000)
    with pytest.raises(ResourceLimitError):
        write_labels(tmp_path / "out.tif", np.zeros((100, 100), np.int32))
    assert list(tmp_path.iterdir()) == []


def test_overwrite_refuses_to_replace_a_non_zarr_directory(tmp_path):
    folder = tmp_path / "mine.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a zarr store; refusing to replace it"):
        write_labels(folder, np.zeros((4, 4), np.int32), overwrite=True)
    assert (folder / "notes.txt").read_text() == "keep me"


# --------------------------------------------------------------------------- lock


def test_lock_held_by_a_live_process_refuses(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "out.tif.lock").write_text(f"napari-segkit-lock {child.pid} 1\n")
        with pytest.raises(OutputLockedError, match=f"being written by process {child.pid}"):
            write_labels(tmp_path / "out.tif", np.zeros((4, 4), np.int32))
        assert not (tmp_path / "out.tif").exists()
    finally:
        child.kill()
        child.wait()


def test_stale_lock_is_removed(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid is no longer running
    (tmp_path / "out.tif.lock").write_text(f"napari-segkit-lock {child.pid} 1\n")
    write_labels(tmp_path / "out.tif", np.ones((4, 4), np.int32))
    assert not (tmp_path / "out.tif.lock").exists()
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif").array, np.ones((4, 4)))


def test_foreign_lock_file_is_left_alone(tmp_path):
    lock = tmp_path / "out.tif.lock"
    lock.write_text("the user's own file")
    with pytest.raises(OutputLockedError, match="was not made by napari-segkit"):
        write_labels(tmp_path / "out.tif", np.zeros((4, 4), np.int32))
    assert lock.read_text() == "the user's own file"


def test_io_import_is_light():
    code = (
        "import sys, napari_segkit.io; "
        "print(sorted(m for m in ('zarr', 'tifffile', 'dask', 'napari') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
