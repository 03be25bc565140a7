"""Zarr metadata read as plain JSON and vetted before zarr decodes anything.

Works for zarr v2 (``.zarray``/``.zgroup``/``.zattrs``) and v3
(``zarr.json``) stores, whichever zarr-python is installed.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Tuple

import numpy as np

from .. import _json as safe_json
from .._errors import InputError, UnsafeFileError

__all__ = [
    "COMPLETE_KEY",
    "SAFE_CODECS",
    "SAFE_V3_CODECS",
    "check_complete",
    "node_metadata",
    "store_subpath",
    "vet_array_metadata",
]

COMPLETE_KEY = "seg_complete"
_MAX_METADATA_BYTES = 16 * 2**20

#: numcodecs ids (zarr v2 ``compressor``/``filters``) that decode numbers only
SAFE_CODECS = frozenset({
    "adler32", "astype", "bitround", "blosc", "bz2", "crc32", "crc32c", "delta",
    "fixedscaleoffset", "fletcher32", "gzip", "jenkins_lookup3", "lz4", "lzma",
    "packbits", "quantize", "shuffle", "zlib", "zstd",
})
#: zarr v3 codec names that decode numbers only
SAFE_V3_CODECS = frozenset(
    {"bytes", "endian", "transpose", "gzip", "blosc", "zstd", "crc32c", "sharding_indexed"}
    | {f"numcodecs.{c}" for c in SAFE_CODECS}
)
_CODE_RUNNING = frozenset({"pickle", "numcodecs.pickle"})
_V3_NUMERIC = frozenset({
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
})


def _load_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > _MAX_METADATA_BYTES:
        raise UnsafeFileError(
            f"zarr metadata '{path}' is {size:,} bytes; refusing metadata over "
            f"{_MAX_METADATA_BYTES:,} bytes"
        )
    try:
        return safe_json.loads(path.read_bytes(), where=f"zarr metadata '{path}'")
    except InputError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"zarr metadata '{path}' is not valid JSON: {exc}") from None


def node_metadata(path: Path) -> Tuple[str, Dict[str, Any], Dict[str, Any]]:
    """Return ``(node_type, attributes, array_metadata)`` of the zarr node at ``path``.

    Reads ``zarr.json`` (zarr v3) or ``.zarray``/``.zgroup`` + ``.zattrs``
    (zarr v2) as plain JSON.

    Raises
    ------
    InputError
        If ``path`` holds no zarr metadata.
    """
    v3 = path / "zarr.json"
    if v3.is_file():
        meta = _load_json(v3)
        if not isinstance(meta, dict) or meta.get("node_type") not in ("array", "group"):
            raise InputError(f"zarr metadata '{v3}' has no valid 'node_type' ('array' or 'group')")
        attrs = meta.get("attributes") or {}
        return meta["node_type"], attrs if isinstance(attrs, dict) else {}, meta
    attrs_path = path / ".zattrs"
    attrs = _load_json(attrs_path) if attrs_path.is_file() else {}
    attrs = attrs if isinstance(attrs, dict) else {}
    if (path / ".zarray").is_file():
        meta = _load_json(path / ".zarray")
        if not isinstance(meta, dict):
            raise InputError(f"zarr metadata '{path / '.zarray'}' is not a JSON object")
        return "array", attrs, meta
    if (path / ".zgroup").is_file():
        return "group", attrs, {}
    raise InputError(
        f"'{path}' has no zarr metadata (no 'zarr.json', '.zarray' or '.zgroup'); "
        "it is not a zarr store or the write that made it did not finish"
    )


def check_complete(path: Path, attrs: Dict[str, Any]) -> None:
    if attrs.get(COMPLETE_KEY) is False:
        raise InputError(
            f"zarr store '{path}' is incomplete: its attribute '{COMPLETE_KEY}' is false, "
            "so the write that made it was interrupted; run that step again"
        )


def _refuse_codec(path: Path, name: Any) -> None:
    if name in _CODE_RUNNING:
        raise UnsafeFileError(
            f"zarr array '{path}' uses the '{name}' codec, which can run code when "
            "decoded; refusing to read it"
        )
    raise UnsafeFileError(
        f"zarr array '{path}' uses the codec {name!r}, which napari-segkit does not "
        f"decode; allowed: {', '.join(sorted(SAFE_CODECS))}"
    )


def _vet_v3_codecs(path: Path, codecs: Any) -> None:
    if not isinstance(codecs, list):
        raise InputError(f"zarr metadata of '{path}': 'codecs' must be a list, got {codecs!r}")
    for codec in codecs:
        name = codec if isinstance(codec, str) else (codec or {}).get("name")
        if name not in SAFE_V3_CODECS:
            _refuse_codec(path, name)
        if name == "sharding_indexed":
            config = codec.get("configuration") or {}
            _vet_v3_codecs(path, config.get("codecs", []))
            _vet_v3_codecs(path, config.get("index_codecs", []))


def _v2_dtype(path: Path, spec: Any) -> np.dtype:
    try:
        dtype = np.dtype(spec if isinstance(spec, str) else [tuple(f) for f in spec])
    except (TypeError, ValueError):
        raise InputError(f"zarr array '{path}' has unknown dtype {spec!r}") from None
    if dtype.hasobject:
        raise UnsafeFileError(
            f"zarr array '{path}' has object dtype {spec!r}; object arrays are decoded "
            "by running Python code (pickle, msgpack), so napari-segkit refuses them"
        )
    if dtype.kind not in "biufc" or dtype.fields:
        raise InputError(f"zarr array '{path}' has dtype {spec!r}; expected numbers")
    return dtype


def vet_array_metadata(path: Path, meta: Dict[str, Any]) -> Tuple[Tuple[int, ...], np.dtype, Tuple[int, ...]]:
    """Check a zarr array's raw metadata; return ``(shape, dtype, chunk_shape)``.

    Every codec (compressor, filters, nested sharding codecs) must be on the
    allow-list and the data type must be numeric.

    Raises
    ------
    UnsafeFileError
        Object dtype, the ``pickle`` codec, or any codec not on the allow-list.
    InputError
        Metadata missing a required key, or a non-numeric dtype.
    """
    for key in ("shape",):
        if key not in meta:
            raise InputError(f"zarr array metadata of '{path}' has no '{key}' key")
    shape = tuple(int(s) for s in meta["shape"])
    if meta.get("zarr_format") == 3:
        dtype_spec = meta.get("data_type")
        name = dtype_spec if isinstance(dtype_spec, str) else (dtype_spec or {}).get("name")
        if name not in _V3_NUMERIC:
            raise UnsafeFileError(
                f"zarr array '{path}' has data type {dtype_spec!r}; napari-segkit decodes "
                f"only {', '.join(sorted(_V3_NUMERIC))}"
            )
        dtype = np.dtype(name)
        _vet_v3_codecs(path, meta.get("codecs", []))
        if meta.get("storage_transformers"):
            raise UnsafeFileError(
                f"zarr array '{path}' uses storage transformers "
                f"{meta['storage_transformers']!r}, which napari-segkit does not decode"
            )
        grid = (meta.get("chunk_grid") or {}).get("configuration") or {}
        chunks = tuple(int(c) for c in grid.get("chunk_shape", shape))
    else:
        if "dtype" not in meta:
            raise InputError(f"zarr array metadata of '{path}' has no 'dtype' key")
        dtype = _v2_dtype(path, meta["dtype"])
        codecs = list(meta.get("filters") or [])
        if meta.get("compressor") is not None:
            codecs.append(meta["compressor"])
        for codec in codecs:
            codec_id = codec.get("id") if isinstance(codec, dict) else codec
            if codec_id not in SAFE_CODECS:
                _refuse_codec(path, codec_id)
        chunks = tuple(int(c) for c in meta.get("chunks", shape))
    return shape, dtype, chunks


def store_subpath(store: Path, relative: Any) -> Path:
    """``store / relative``, refusing paths that leave the store."""
    if not isinstance(relative, str) or not relative:
        raise InputError(f"OME-Zarr '{store}': dataset 'path' must be a non-empty string, got {relative!r}")
    parts = PurePosixPath(relative).parts
    if (
        relative.startswith(("/", "\\"))
        or "\\" in relative
        or ":" in relative
        or any(p in ("..", ".") for p in parts)
    ):
        raise UnsafeFileError(
            f"OME-Zarr '{store}' names dataset path {relative!r}, which leaves the store"
        )
    target = store.joinpath(*parts)
    if store.resolve() not in target.resolve().parents:
        raise UnsafeFileError(
            f"OME-Zarr '{store}': dataset path {relative!r} resolves outside the store"
        )
    return target


