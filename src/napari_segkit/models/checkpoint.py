"""Model files: a directory with the weights and a JSON config.

Layout::

    my-model/
        config.json          architecture, options, channels, classes,
                             normalisation, voxel size, training history
        model.safetensors    the state_dict (when the safetensors package is installed)
        weights.pt           or: the state_dict saved by torch.save

Loading never runs code from the file: the config is JSON, the network is
built by our code from the architecture's name (see :mod:`.registry`) and the
weights are read as tensors only - ``safetensors`` or
``torch.load(weights_only=True, map_location="cpu")`` with no fallback - and
put in with ``load_state_dict(strict=True)``.  Every error names the path.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import shutil
import stat
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from .. import _json as safe_json
from .._errors import InputError, UnsafeFileError
from .registry import get_architecture

__all__ = [
    "CONFIG_NAME",
    "FORMAT",
    "FORMAT_VERSION",
    "SAFETENSORS_NAME",
    "TORCH_NAME",
    "build_network",
    "load_checkpoint",
    "save_checkpoint",
    "safetensors_available",
]

FORMAT = "napari-segkit-model"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
TORCH_NAME = "weights.pt"
MAX_CONFIG_BYTES = 16 * 2**20
MAX_SAFETENSORS_HEADER = 100_000_000  # the safetensors library's own cap
MIN_TORCH_FOR_PT = (2, 10)  # CVE-2025-32434 (< 2.6) and CVE-2026-24747 (< 2.10)


def safetensors_available() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def _fingerprint(path: Path) -> str:
    try:
        size = path.stat().st_size
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(2**20), b""):
                digest.update(block)
        return f"size {size} bytes, sha256 {digest.hexdigest()[:16]}..."
    except OSError as exc:
        return f"unreadable: {exc}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- saving


def save_checkpoint(
    path: Any,
    state_dict: Dict[str, Any],
    config: Dict[str, Any],
    *,
    overwrite: bool = False,
    use_safetensors: Optional[bool] = None,
) -> Path:
    """Write a model directory atomically: a temporary sibling, then a rename.

    Raises
    ------
    InputError
        If ``path`` exists and ``overwrite`` is False, or exists and is not a
        model directory.
    """
    import torch

    path = Path(path)
    if path.exists():
        if not overwrite:
            raise InputError(f"model path {str(path)!r} already exists; pass overwrite=True to replace it")
        if not (path.is_dir() and (path / CONFIG_NAME).is_file()):
            raise InputError(
                f"model path {str(path)!r} exists and is not a model directory; refusing to replace it"
            )
    if use_safetensors is None:
        use_safetensors = safetensors_available()
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"model path {str(path)!r}: folder {str(parent)!r} does not exist")
    tmp = parent / f".{path.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
        if use_safetensors:
            from safetensors.torch import save_file

            weights_name = SAFETENSORS_NAME
            save_file(tensors, str(tmp / weights_name), metadata={"format": FORMAT})
        else:
            weights_name = TORCH_NAME
            torch.save(tensors, tmp / weights_name)
        config = dict(config)
        config["weights"] = weights_name
        config["weights_sha256"] = file_sha256(tmp / weights_name)
        with open(tmp / CONFIG_NAME, "w", encoding="utf-8") as handle:
            json.dump(_json_safe(config), handle, indent=2, sort_keys=True, allow_nan=False)
            handle.flush()
            os.fsync(handle.fileno())
        # the weights get the mode a plain new file gets (config.json's: umask respected), not
        # the owner-only mode of the writer's temporary file, so lab mates can read the model
        mode = stat.S_IMODE(os.stat(tmp / CONFIG_NAME).st_mode)
        os.chmod(tmp / weights_name, mode)
        os.chmod(tmp, mode | ((mode & 0o444) >> 2))  # a folder: search where read is allowed
        if path.exists():
            old = parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _json_safe(value: Any) -> Any:
    """Standard JSON only: NaN and infinities become null, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


# ----------------------------------------------------------------------------- loading


def _resolve_model_dir(path: Any) -> Path:
    if path is None:
        raise InputError("model path is None; expected a model directory")
    path = Path(path)
    if not path.exists():
        raise InputError(f"model path {str(path)!r} does not exist")
    if path.is_file():
        if path.name in (CONFIG_NAME, SAFETENSORS_NAME, TORCH_NAME) and (path.parent / CONFIG_NAME).is_file():
            return path.parent
        raise InputError(
            f"model path {str(path)!r} is a file; a model is a directory holding "
            f"{CONFIG_NAME} and {SAFETENSORS_NAME} or {TORCH_NAME}"
        )
    if not (path / CONFIG_NAME).is_file():
        raise InputError(f"model directory {str(path)!r} has no {CONFIG_NAME}; it is not a model")
    return path


def _read_config(directory: Path) -> Dict[str, Any]:
    config_path = directory / CONFIG_NAME
    size = config_path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise UnsafeFileError(f"model config {str(config_path)!r} is {size} bytes; refusing to read it")
    try:
        with open(config_path, "rb") as handle:
            config = safe_json.loads(handle.read(), where=f"model config {str(config_path)!r}")
    except InputError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"model config {str(config_path)!r} is not valid JSON: {exc}") from None
    return check_config(config, where=str(config_path))


def check_config(config: Any, *, where: str = "config") -> Dict[str, Any]:
    """Check the types and values of a model config; return it.

    Raises
    ------
    InputError
        Naming the field and the value found.
    """
    if not isinstance(config, dict):
        raise InputError(f"model config {where!r} is not a JSON object")
    if config.get("format") != FORMAT:
        raise InputError(f"model config {where!r}: format is {config.get('format')!r}, expected {FORMAT!r}")
    version = config.get("format_version")
    if not isinstance(version, int) or version < 1 or version > FORMAT_VERSION:
        raise InputError(
            f"model config {where!r}: format_version {version!r} is not supported "
            f"(this version reads 1 to {FORMAT_VERSION})"
        )
    architecture = get_architecture(config.get("architecture"))
    options = config.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float, str, bool)) for k, v in options.items()
    ):
        raise InputError(f"model config {where!r}: options must map names to numbers, got {options!r}")
    unknown = set(options) - set(architecture.defaults)
    if unknown:
        raise InputError(
            f"model config {where!r}: options {sorted(unknown)} are not known for "
            f"architecture {config.get('architecture')!r} (known: {sorted(architecture.defaults)})"
        )
    spatial_dims = config.get("spatial_dims")
    if spatial_dims not in (2, 3) or isinstance(spatial_dims, bool):
        raise InputError(f"model config {where!r}: spatial_dims must be 2 or 3, got {spatial_dims!r}")
    in_channels = config.get("in_channels")
    if not isinstance(in_channels, int) or isinstance(in_channels, bool) or not 1 <= in_channels <= 1024:
        raise InputError(f"model config {where!r}: in_channels must be a positive integer, got {in_channels!r}")
    classes = config.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise InputError(f"model config {where!r}: classes must be a list of at least two names, got {classes!r}")
    voxel = config.get("voxel_size")
    if (
        not isinstance(voxel, list)
        or len(voxel) != spatial_dims
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in voxel)
    ):
        raise InputError(
            f"model config {where!r}: voxel_size must be {spatial_dims} positive numbers, got {voxel!r}"
        )
    weights = config.get("weights")
    if weights not in (SAFETENSORS_NAME, TORCH_NAME):
        raise InputError(
            f"model config {where!r}: weights must be {SAFETENSORS_NAME!r} or {TORCH_NAME!r}, got {weights!r}"
        )
    normalisation = config.get("normalisation")
    if not isinstance(normalisation, dict) or normalisation.get("method") != "percentile":
        raise InputError(f"model config {where!r}: normalisation {normalisation!r} is not supported")
    return config


def _read_safetensors(path: Path) -> Dict[str, Any]:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"model file {str(path)!r} cannot be read: {exc}") from None
    if len(head) < 8:
        raise InputError(f"model file {str(path)!r} is corrupt or incomplete ({_fingerprint(path)})")
    declared = int.from_bytes(head, "little")
    if declared > MAX_SAFETENSORS_HEADER or declared > size - 8:
        raise InputError(
            f"model file {str(path)!r} is corrupt or incomplete: its header declares {declared} "
            f"bytes ({_fingerprint(path)})"
        )
    if not safetensors_available():
        raise InputError(
            f"model file {str(path)!r} is in safetensors format; install the 'safetensors' package to read it"
        )
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - the library raises its own types
        raise InputError(
            f"model file {str(path)!r} is corrupt or incomplete ({_fingerprint(path)}): {exc}"
        ) from None


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _read_torch(path: Path) -> Dict[str, Any]:
    import torch

    version = tuple(int(p) for p in re.findall(r"\d+", torch.__version__)[:2])
    if version < MIN_TORCH_FOR_PT:
        raise UnsafeFileError(
            f"model file {str(path)!r}: reading .pt files needs torch >= 2.10 (found {torch.__version__}); "
            "older versions can run code hidden in the file. Use a safetensors model"
        )
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.findall(str(exc))
        name = found[0] if found else "unknown"
        if name.startswith("torch.nn") or "Module" in name or name.startswith("napari_segkit"):
            raise UnsafeFileError(
                f"model file {str(path)!r} contains code objects ({name}), not a state_dict; "
                "export the weights with model.state_dict() (safetensors preferred). Nothing from it was run"
            ) from None
        raise UnsafeFileError(
            f"model file {str(path)!r} contains objects other than tensors ({name}); refused, "
            "nothing from it was run"
        ) from None
    except Exception as exc:  # noqa: BLE001 - zip, EOF and stream errors
        raise InputError(
            f"model file {str(path)!r} is corrupt or incomplete ({_fingerprint(path)}): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(
            f"model file {str(path)!r} does not hold a state_dict (a mapping of names to tensors); "
            f"found {type(state).__name__}"
        )
    return state


def load_checkpoint(path: Any) -> Tuple[Dict[str, Any], Dict[str, Any], Path]:
    """Read a model directory: ``(state_dict, config, weights_path)``; no code is run.

    Raises
    ------
    InputError
        Missing or non-model path, corrupt file, bad config.
    UnsafeFileError
        A pickle with code or non-tensor objects.
    """
    directory = _resolve_model_dir(path)
    config = _read_config(directory)
    weights_path = directory / config["weights"]
    if not weights_path.is_file():
        raise InputError(f"model directory {str(directory)!r} lacks its weights file {config['weights']!r}")
    if config["weights"] == SAFETENSORS_NAME:
        state = _read_safetensors(weights_path)
    else:
        state = _read_torch(weights_path)
    _verify_weights(weights_path, config, state)
    # fp16/bf16 weights run in float32 on every device
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    return state, config, weights_path


def _verify_weights(weights_path: Path, config: Dict[str, Any], state: Dict[str, Any]) -> None:
    """Refuse weights whose sha256 differs from config.json's, or that hold NaN/inf."""
    recorded = config.get("weights_sha256")
    if recorded is not None:
        if not isinstance(recorded, str) or not re.fullmatch(r"[0-9a-f]{64}", recorded):
            raise InputError(f"model config next to {str(weights_path)!r}: weights_sha256 {recorded!r} is not a sha256")
        found = file_sha256(weights_path)
        if found != recorded:
            raise UnsafeFileError(
                f"model weights {str(weights_path)!r} have sha256 {found[:16]}..., but config.json "
                f"records {recorded[:16]}...: the file was changed or damaged after saving; refusing to load it"
            )
    check_finite_weights(state, where=f"model weights {str(weights_path)!r}")


def check_finite_weights(state: Dict[str, Any], *, where: str) -> None:
    """Refuse a state_dict (or a network's) holding NaN or infinite weights.

    Raises
    ------
    InputError
        Naming ``where`` and the first tensors affected.
    """
    import torch

    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise InputError(
            f"{where}: {len(bad)} tensor(s) hold NaN or infinite values "
            f"(e.g. {', '.join(bad[:3])}); the model would predict NaN"
        )


#: Most trainable values a network may hold (4 GiB of float32 weights).
MAX_NETWORK_PARAMETERS = 2**30
#: Bounds of the size options every architecture shares.
_SIZE_OPTIONS = {"width": (1, 512), "depth": (1, 8)}


def check_network_size(
    architecture: str,
    options: Dict[str, Any],
    in_channels: int,
    out_channels: int,
    spatial_dims: int,
    *,
    where: str = "options",
) -> int:
    """Bound the size options and count the network's weights before building it.

    ``width`` and ``depth`` must be integers within :data:`_SIZE_OPTIONS`; the
    network is then laid out on torch's ``meta`` device (no memory) and its
    weights counted, refusing more than :data:`MAX_NETWORK_PARAMETERS`.
    Returns the number of weights.

    Raises
    ------
    InputError
        Naming ``where``, the option and the value.
    ResourceLimitError
        If the weights would not fit.
    """
    import numbers

    import torch

    from .._errors import ResourceLimitError

    for key, (low, high) in _SIZE_OPTIONS.items():
        if key in options:
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
                raise InputError(f"{where}: {key} must be an integer between {low} and {high}, got {value!r}")
    try:
        with torch.device("meta"):
            network = get_architecture(architecture).build(in_channels, out_channels, spatial_dims, **options)
    except (InputError, ResourceLimitError):
        raise
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"{where}: the architecture {architecture!r} cannot be built with {options!r}: {exc}") from None
    count = sum(int(p.numel()) for p in network.parameters())
    if count > MAX_NETWORK_PARAMETERS:
        raise ResourceLimitError(
            f"{where}: {architecture} with {options!r} has {count:,} weights "
            f"({4 * count / 2**30:.1f} GiB); at most {MAX_NETWORK_PARAMETERS:,} are accepted"
        )
    return count


def build_network(config: Dict[str, Any]):
    """The network the config describes, with fresh weights.

    A pretrained-backbone file named at training time is not read again: the
    model file's own weights replace it, so the model loads without it.
    """
    architecture = get_architecture(config["architecture"])
    options = dict(architecture.defaults)
    options.update(config.get("options", {}))
    if options.get("backbone_weights"):
        options["backbone_weights"] = ""
    check_network_size(config["architecture"], options, config["in_channels"], len(config["classes"]),
                       config["spatial_dims"], where="model config")
    return architecture.build(
        config["in_channels"], len(config["classes"]), config["spatial_dims"], **options
    )


def describe_key_mismatch(missing: list, unexpected: list) -> str:
    """``"2 missing (e.g. a, b); 1 unexpected (e.g. c)"``: state-dict keys that do not fit, for a message."""
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    return "; ".join(parts)


def load_state(network: Any, state: Dict[str, Any], *, where: str) -> None:
    """``load_state_dict(strict=True)`` with errors that list keys and shapes."""
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise InputError(
            f"model file {where!r} does not match its architecture: weights "
            + describe_key_mismatch(missing, unexpected)
        )
    wrong = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in expected.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        key, found, want = wrong[0]
        raise InputError(
            f"model file {where!r} does not match its config: {len(wrong)} weight(s) have the wrong "
            f"shape, e.g. {key} is {found}, the config's architecture needs {want}"
        )
    network.load_state_dict(state, strict=True)
