"""Device choice and device faults, simulated on the CPU (G1, G2, G3, G5, G6, G7)."""

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

    def limited(network, device, report=None):
        inner = real(network, device, report)

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

    def on_device(network, device, report=None):
        if device.type != "cpu":
            def fail(batch):
                raise OutOfMemoryError("CUDA out of memory")
            return fail
        return real(network, device, report)

    monkeypatch.setattr(predict, "_make_predictor", on_device)
    with pytest.warns(RuntimeWarning) as record:
        out = predict_probabilities(image, model)
    messages = [str(w.message) for w in record]
    assert any("retrying with tile" in m for m in messages)
    assert messages[-1].startswith("out of memory on meta even with small tiles; running on the CPU")
    assert np.abs(out - reference).max() <= 1e-5


@pytest.fixture
def fresh_faults(monkeypatch):
    """Device faults recorded by a test do not leak into the next one."""
    monkeypatch.setattr(devices, "_FAULTED", set())


def _fake_accelerator(monkeypatch, error):
    """select_device answers a non-CPU device on which every forward pass raises ``error``."""
    import torch

    monkeypatch.setattr(
        devices, "select_device", lambda device=None: DeviceChoice(torch.device("meta"), "running on fake GPU")
    )
    real_forward = predict._Predictor._forward

    def forward(self, batch, network, device):
        if device.type != "cpu":
            raise error
        return real_forward(self, batch, network, device)

    monkeypatch.setattr(predict._Predictor, "_forward", forward)


MPS_MISSING = NotImplementedError(
    "The operator 'aten::max_pool3d_with_indices' is not currently implemented for the MPS device."
)


def test_g5_operation_missing_on_the_device_moves_to_cpu_with_a_note(trained, monkeypatch, one_thread, fresh_faults):
    model, _ = trained
    image = np.random.default_rng(1).random((40, 48)).astype(np.float32)
    reference = predict_probabilities(image, model, device="cpu")
    _fake_accelerator(monkeypatch, MPS_MISSING)
    messages = []
    with pytest.warns(RuntimeWarning, match="running on CPU: meta lacks an operation .*max_pool3d"):
        out = predict_probabilities(image, model, progress=lambda f, m: messages.append(m))
    assert np.abs(out - reference).max() <= 1e-6
    assert any("lacks an operation" in m for m in messages)


def test_g5_also_for_dask_input(trained, monkeypatch, one_thread, fresh_faults):
    import dask.array as da

    model, _ = trained
    image = np.random.default_rng(2).random((64, 80)).astype(np.float32)
    reference = predict_probabilities(image, model, device="cpu")
    _fake_accelerator(monkeypatch, MPS_MISSING)
    with pytest.warns(RuntimeWarning, match="lacks an operation"):
        out = predict_probabilities(da.from_array(image, chunks=32), model, block_shape=32).compute(
            scheduler="synchronous"
        )
    assert np.abs(out - reference).max() <= 1e-5


def test_g5_training_reruns_on_cpu(monkeypatch, one_thread, fresh_faults):
    import torch

    from napari_segkit.models import train_model
    from napari_segkit.samples import nuclei_2d

    # torch's "meta" device stands for an accelerator: it has no kernels that
    # return data, so the first step raises NotImplementedError there
    sample = nuclei_2d((64, 64), n_nuclei=6, rng=0)
    monkeypatch.setattr(
        devices, "select_device", lambda device=None: DeviceChoice(torch.device("meta"), "running on fake GPU")
    )
    messages = []
    with pytest.warns(RuntimeWarning, match="running on CPU: meta lacks an operation .*NotImplementedError"):
        model = train_model([sample.image], [sample.labels], options={"depth": 2, "width": 4}, epochs=1,
                            steps_per_epoch=2, batch_size=1, patch_shape=32, validation_fraction=0.0, rng=0,
                            progress=lambda f, m: messages.append(m))
    assert model.config["training"]["device"] == "cpu"
    assert "lacks an operation" in model.config["training"]["device_note"]
    assert any("lacks an operation" in m for m in messages)
    assert len(model.history) == 1 and model.history[0]["loss"] is not None
    assert all(torch.isfinite(p).all() for p in model.network.parameters())


def test_g6_poisoned_context_ends_the_job_and_the_next_runs_on_cpu(trained, monkeypatch, one_thread, fresh_faults):
    import torch

    from napari_segkit import DeviceError

    model, _ = trained
    image = np.random.default_rng(3).random((40, 48)).astype(np.float32)
    reference = predict_probabilities(image, model, device="cpu")
    with monkeypatch.context() as patch:
        _fake_accelerator(patch, RuntimeError("CUDA error: device-side assert triggered"))
        with pytest.raises(DeviceError, match="meta failed with a device-side error .*device-side assert.*on the CPU"):
            predict_probabilities(image, model)
    assert "meta" in devices._FAULTED
    # out-of-memory is not such a fault (the tile is halved), nor is an unrelated error type
    assert not devices.is_context_fault(OutOfMemoryError("CUDA out of memory"))
    assert not devices.is_context_fault(ValueError("CUDA error"))
    # the next jobs: a (fake) CUDA device that faulted is skipped, chosen automatically or by name
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(devices, "probe_device", lambda device: None)
    assert select_device().device.type == "cuda"
    with pytest.raises(DeviceError, match="illegal memory access"):
        devices.cpu_fallback_note(
            RuntimeError("CUDA error: an illegal memory access was encountered"), torch.device("cuda", 0)
        )
    with pytest.warns(RuntimeWarning, match="device-side error earlier in this session"):
        choice = select_device()
    assert choice.device.type == "cpu" and "restart" in choice.note
    with pytest.warns(RuntimeWarning, match="device-side error earlier"):
        assert select_device("cuda:0").device.type == "cpu"
    assert np.array_equal(predict_probabilities(image, model, device="cpu"), reference)


def test_g6_cli_exit_code_and_no_output(trained, monkeypatch, tmp_path, fresh_faults):
    import tifffile

    import napari_segkit.models as models
    from napari_segkit import DeviceError
    from napari_segkit.cli import main

    model, _ = trained
    model.save(tmp_path / "model")
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((16, 16), np.uint16))

    def fail(*args, **kwargs):
        raise DeviceError("cuda:0 failed with a device-side error (RuntimeError: CUDA error)")

    monkeypatch.setattr(models, "predict_labels", fail)
    code = main(["predict", str(tmp_path / "model"), str(tmp_path / "a.tif"), "-o", str(tmp_path / "out.tif")])
    assert code == 6
    assert not (tmp_path / "out.tif").exists()
