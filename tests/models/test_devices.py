"""Device choice and device faults, simulated on the CPU (G1, G2, G3, G7)."""

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.models import devices, predict, predict_probabilities
from napari_segkit.models.devices import DeviceChoice, select_device


@pytest.fixture
def fake_cuda(monkeypatch):
    """torch says one CUDA device is there; the probe decides whether it works."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_g1_no_gpu_runs_on_cpu_with_a_note(monkeypatch, trained):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    choice = select_device()
    assert choice.device == torch.device("cpu")
    assert choice.note == "running on CPU: no CUDA or MPS device found"
    model, _ = trained
    assert model.config["training"]["device_note"] == choice.note


def test_cuda_chosen_when_it_works(fake_cuda, monkeypatch):
    monkeypatch.setattr(devices, "probe_device", lambda device: None)
    choice = select_device()
    assert str(choice.device) == "cuda:0" and "Fake GPU" in choice.note
    assert str(select_device("cuda").device) == "cuda:0"


def test_g2_cuda_present_but_kernels_missing_falls_back(fake_cuda, monkeypatch):
    def broken(device):
        if device.type == "cuda":
            raise RuntimeError("CUDA error: no kernel image is available for execution on the device")

    monkeypatch.setattr(devices, "probe_device", broken)
    with pytest.warns(RuntimeWarning, match="cuda:0 failed a test convolution .*no kernel image"):
        choice = select_device()
    assert choice.device.type == "cpu" and "no kernel image" in choice.note
    with pytest.warns(RuntimeWarning, match="no kernel image"):
        assert select_device("cuda:0").device.type == "cpu"


def test_g7_absent_device_names_the_available_ones(fake_cuda, monkeypatch):
    with pytest.raises(InputError, match=r"device 'cuda:3' is not present \(1 CUDA device\(s\) visible\); available: cpu, cuda:0"):
        select_device("cuda:3")
    with pytest.raises(InputError, match="'tpu' is not a device name; available: cpu, cuda:0"):
        select_device("tpu")
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # CUDA_VISIBLE_DEVICES=""
    with pytest.raises(InputError, match=r"device 'cuda' is not present \(no CUDA device is visible\); available: cpu$"):
        select_device("cuda")
    with pytest.raises(InputError, match="device 'mps' is not present"):
        select_device("mps")


class OutOfMemoryError(RuntimeError):
    """Stands for torch.cuda.OutOfMemoryError (matched by name)."""


def test_g3_oom_halves_the_tile_and_gives_the_same_result(trained, monkeypatch, one_thread):
    model, _ = trained
    image = np.random.default_rng(0).random((96, 120)).astype(np.float32)
    reference = predict_probabilities(image, model)
    real = predict._make_predictor
    sizes = []

    def limited(network, device):
        inner = real(network, device)

        def run(batch):
            sizes.append(batch.shape[2:])
            if np.prod(batch.shape[2:]) > 70 * 70:
                raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return inner(batch)

        return run

    monkeypatch.setattr(predict, "_make_predictor", limited)
    with pytest.warns(RuntimeWarning, match="retrying with tile"):
        out = predict_probabilities(image, model, tile_shape=(120, 120))
    assert np.abs(out - reference).max() <= 1e-5
    assert max(np.prod(s) for s in sizes[-3:]) <= 70 * 70


def test_g3_oom_at_the_smallest_tile_moves_to_cpu(trained, monkeypatch, one_thread):
    import torch

    model, _ = trained
    image = np.random.default_rng(0).random((40, 48)).astype(np.float32)
    reference = predict_probabilities(image, model)
    # a device other than the CPU whose every forward pass runs out of memory
    monkeypatch.setattr(
        devices, "select_device", lambda device=None: DeviceChoice(torch.device("meta"), "fake GPU")
    )
    real = predict._make_predictor

    def on_device(network, device):
        if device.type != "cpu":
            def fail(batch):
                raise OutOfMemoryError("CUDA out of memory")
            return fail
        return real(network, device)

    monkeypatch.setattr(predict, "_make_predictor", on_device)
    with pytest.warns(RuntimeWarning) as record:
        out = predict_probabilities(image, model)
    messages = [str(w.message) for w in record]
    assert any("retrying with tile" in m for m in messages)
    assert messages[-1].startswith("out of memory on meta even with small tiles; running on the CPU")
    assert np.abs(out - reference).max() <= 1e-5
