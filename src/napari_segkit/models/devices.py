"""Choosing the device a network runs on: CUDA, then MPS, then CPU.

Every choice is probed with a tiny convolution before it is used, so a GPU
that torch reports as available but cannot run our kernels (an old card whose
compute capability the installed build lacks) falls back to the
CPU with a warning instead of failing in the middle of a job.  The device used
is returned with a one-line note that callers show to the user and record in
the output metadata.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Set, Tuple, TypeVar

from .._errors import DeviceError, InputError

__all__ = [
    "DeviceChoice",
    "activation_budget",
    "available_devices",
    "cpu_fallback_note",
    "free_device_memory",
    "is_context_fault",
    "is_unsupported_operation",
    "probe_device",
    "run_on_device",
    "select_device",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: devices that had a context-poisoning error in this process, e.g. "cuda:0"
_FAULTED: Set[str] = set()

_CONTEXT_FAULT = re.compile(
    r"device-side assert|illegal memory access|illegal instruction|misaligned address|"
    r"unspecified launch failure|launch timed out|CUDA error|cudaError|CUBLAS_STATUS_EXECUTION_FAILED|"
    r"CUDNN_STATUS_EXECUTION_FAILED|uncorrectable ECC",
    re.IGNORECASE,
)
_UNSUPPORTED = re.compile(r"not (currently )?implemented for .*(mps|device)|MPS does not support", re.IGNORECASE)


@dataclass(frozen=True)
class DeviceChoice:
    """The device a job runs on and a note saying why.

    Attributes
    ----------
    device : torch.device
    note : str
        One line for the user, e.g. ``"running on CPU: no CUDA or MPS device found"``.
    """

    device: Any
    note: str

    @property
    def name(self) -> str:
        return str(self.device)


def _cuda_count(torch) -> int:
    try:
        if not torch.cuda.is_available():
            return 0
        return int(torch.cuda.device_count())
    except Exception:  # a broken driver reports through exceptions  # noqa: BLE001
        return 0


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    try:
        return bool(backend is not None and backend.is_available())
    except Exception:  # noqa: BLE001
        return False


def _key(device: Any) -> str:
    device_type = getattr(device, "type", str(device))
    index = getattr(device, "index", None)
    if device_type == "cuda":
        return f"cuda:{index or 0}"
    return str(device_type)


def is_unsupported_operation(exc: BaseException) -> bool:
    """True when ``exc`` says the device lacks a kernel for an operation."""
    if isinstance(exc, NotImplementedError):
        return True
    return isinstance(exc, RuntimeError) and bool(_UNSUPPORTED.search(str(exc)))


def is_context_fault(exc: BaseException) -> bool:
    """True for a device-side error after which the CUDA context is unusable.

    Out-of-memory errors are not faults of this kind (the tile is halved).
    """
    text = f"{type(exc).__name__}: {exc}"
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return False
    if type(exc).__name__ == "AcceleratorError":  # torch >= 2.8 raises this for CUDA errors
        return True
    return isinstance(exc, RuntimeError) and bool(_CONTEXT_FAULT.search(text))


def cpu_fallback_note(exc: BaseException, device: Any) -> Optional[str]:
    """Classify an error raised while running on ``device``.

    Returns a note for the user when the work should move to the CPU (the
    device lacks an operation); returns None when the error is not a
    device fault (it should propagate unchanged).

    Raises
    ------
    DeviceError
        For a context-poisoning device error; ``device`` is then marked
        unusable for the rest of the process.
    """
    device_type = getattr(device, "type", str(device))
    if device_type == "cpu":
        return None
    if is_context_fault(exc):
        _FAULTED.add(_key(device))
        free_device_memory(device)
        message = (
            f"{device} failed with a device-side error ({_short(exc)}); this job was stopped. "
            "Later jobs in this session run on the CPU; restart the program to use the GPU again"
        )
        logger.error(message)
        raise DeviceError(message) from exc
    if not is_unsupported_operation(exc):
        return None
    free_device_memory(device)
    note = f"running on CPU: {device} lacks an operation this network needs ({_short(exc)})"
    if device_type == "mps":
        note += "; set PYTORCH_ENABLE_MPS_FALLBACK=1 before starting to run only that operation on the CPU"
    warnings.warn(note, RuntimeWarning, stacklevel=3)
    logger.warning(note)
    return note


def run_on_device(
    job: Callable[[Any], T],
    choice: "DeviceChoice",
    *,
    report: Optional[Callable[[float, str], None]] = None,
) -> Tuple[T, Any, str]:
    """Run ``job(device)`` on ``choice.device``, handling device faults.

    An operation the device does not implement runs the whole job again
    on the CPU, with a warning and a note through ``report``.  A device-side
    error that poisons the CUDA context ends the job with
    :class:`~napari_segkit.DeviceError` and marks the device unusable, so later
    :func:`select_device` calls choose the CPU.  Any other error propagates.

    Returns
    -------
    result, device, note
        The job's result, the device it finished on and the note to record.

    Raises
    ------
    DeviceError
        After a context-poisoning device error.
    """
    import torch

    try:
        return job(choice.device), choice.device, choice.note
    except Exception as exc:  # noqa: BLE001 - classified, re-raised unless a device fault
        note = cpu_fallback_note(exc, choice.device)
        if note is None:
            raise
    if report is not None:
        report(0.0, note)
    cpu = torch.device("cpu")
    return job(cpu), cpu, note


def available_devices() -> List[str]:
    """Names of the devices torch reports, e.g. ``['cpu', 'cuda:0', 'mps']``."""
    import torch

    names = ["cpu"]
    names += [f"cuda:{i}" for i in range(_cuda_count(torch))]
    if _mps_available(torch):
        names.append("mps")
    return names


def probe_device(device: Any) -> None:
    """Run a 3x3 convolution on ``device``; raises whatever the device raises."""
    import torch

    x = torch.ones((1, 1, 8, 8), device=device)
    w = torch.ones((2, 1, 3, 3), device=device)
    y = torch.nn.functional.conv2d(x, w, padding=1)
    float(y.sum().cpu())  # forces the kernel to run (and to synchronise)


def select_device(device: Any = None) -> DeviceChoice:
    """Return the device to run on, probed, with a note for the user.

    Parameters
    ----------
    device : str, torch.device or None
        None or ``"auto"``: CUDA if a working one is found, else MPS, else CPU.
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``: that device, which
        must exist.  A device that exists but fails the probe falls back to
        the CPU with a warning.

    Raises
    ------
    InputError
        If the requested device is not known or not present; the message
        lists the devices that are.
    """
    import torch

    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return _auto(torch)
    try:
        requested = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(
            f"device {device!r} is not a device name; available: {', '.join(available_devices())}"
        ) from None
    if requested.type == "cpu":
        return DeviceChoice(torch.device("cpu"), "running on CPU (requested)")
    if requested.type == "cuda":
        count = _cuda_count(torch)
        index = 0 if requested.index is None else requested.index
        if index >= count:
            raise InputError(
                f"device {device!r} is not present ("
                + ("no CUDA device is visible" if count == 0 else f"{count} CUDA device(s) visible")
                + f"); available: {', '.join(available_devices())}"
            )
        requested = torch.device("cuda", index)
    elif requested.type == "mps":
        if not _mps_available(torch):
            raise InputError(
                f"device {device!r} is not present; available: {', '.join(available_devices())}"
            )
    else:
        raise InputError(
            f"device {device!r} is not supported; available: {', '.join(available_devices())}"
        )
    if _key(requested) in _FAULTED:
        note = f"running on CPU: {_faulted_note(requested)}"
        warnings.warn(note, RuntimeWarning, stacklevel=2)
        logger.warning(note)
        return DeviceChoice(torch.device("cpu"), note)
    try:
        probe_device(requested)
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        note = f"running on CPU: {requested} failed a test convolution ({_short(exc)})"
        warnings.warn(note, RuntimeWarning, stacklevel=2)
        logger.warning(note)
        return DeviceChoice(torch.device("cpu"), note)
    return DeviceChoice(requested, f"running on {_describe(torch, requested)} (requested)")


def _auto(torch) -> DeviceChoice:
    failures = []
    candidates = []
    if _cuda_count(torch) > 0:
        candidates.append(torch.device("cuda", 0))
    if _mps_available(torch):
        candidates.append(torch.device("mps"))
    for candidate in candidates:
        if _key(candidate) in _FAULTED:
            failures.append(_faulted_note(candidate))
            continue
        try:
            probe_device(candidate)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{candidate} failed a test convolution ({_short(exc)})")
            continue
        note = f"running on {_describe(torch, candidate)}"
        logger.debug(note)  # the caller shows the note once (progress or log)
        return DeviceChoice(candidate, note)
    if failures:
        note = "running on CPU: " + "; ".join(failures)
        warnings.warn(note, RuntimeWarning, stacklevel=3)
    else:
        note = "running on CPU: no CUDA or MPS device found"
    logger.debug(note)
    return DeviceChoice(torch.device("cpu"), note)


def _faulted_note(device) -> str:
    return f"{device} had a device-side error earlier in this session (restart to use it again)"


def _describe(torch, device) -> str:
    if device.type == "cuda":
        try:
            return f"{device} ({torch.cuda.get_device_name(device)})"
        except Exception:  # noqa: BLE001
            return str(device)
    return str(device)


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


GiB = 1 << 30


def activation_budget(device: Any) -> int:
    """Bytes of activations one forward pass may use on ``device``.

    CPU (and MPS, whose memory is the system's): a quarter of the available
    memory, at least 1 GiB and at most 8 GiB.  CUDA: half the device's free
    memory (at least 256 MiB).  An estimate only; a device out-of-memory
    error still halves the tile.
    """
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        try:
            import torch

            free, _ = torch.cuda.mem_get_info(device)
            return max(GiB // 4, int(free) // 2)
        except Exception:  # noqa: BLE001 - no usable answer: fall back to the CPU rule
            pass
    import psutil

    return int(min(max(psutil.virtual_memory().available // 4, GiB), 8 * GiB))


def free_device_memory(device: Any) -> None:
    """Release cached blocks on ``device`` (after an OOM or at the end of a job)."""
    import torch

    kind = getattr(device, "type", str(device))
    try:
        if kind == "cuda":
            torch.cuda.empty_cache()
        elif kind == "mps" and hasattr(torch, "mps"):
            torch.mps.empty_cache()
    except Exception:  # noqa: BLE001 - best effort
        pass
