"""benchmarks/bench_gpu.py's CUDA branches, exercised without a GPU (torch.cuda calls stood in for)."""

import importlib.util
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cuda_device_is_described_and_synchronised(monkeypatch):
    bench = _bench()
    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(str(device)))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda device=None: types.SimpleNamespace(total_memory=80 * 2**30))
    cuda = types.SimpleNamespace(device=torch.device("cuda", 0), note="running on CUDA device 0")
    described = bench.describe_device(torch, cuda)
    assert described["on_gpu"] and described["gpu"] == "Fake GPU" and described["gpu_memory_gib"] == 80.0
    bench._sync(torch, cuda.device)
    assert synced == ["cuda:0"]
    # on the CPU nothing CUDA is called, and the figures say they are CPU figures
    cpu = types.SimpleNamespace(device=torch.device("cpu"), note="running on CPU")
    described = bench.describe_device(torch, cpu)
    assert not described["on_gpu"] and "gpu" not in described
    bench._sync(torch, cpu.device)
    assert synced == ["cuda:0"]
