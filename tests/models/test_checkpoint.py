"""Model files: round trips, and every bad file refused with its path (M1-M8, M10)."""

import json
import shutil

import numpy as np
import pytest

from napari_segkit import InputError, UnsafeFileError
from napari_segkit.models import checkpoint, load_model


@pytest.fixture
def saved(trained, tmp_path):
    model, _ = trained
    return model, model.save(tmp_path / "model")


@pytest.fixture
def saved_pt(trained, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "safetensors_available", lambda: False)
    model, _ = trained
    return model, model.save(tmp_path / "model-pt")


def _weights(model):
    return {k: v.detach().clone() for k, v in model.network.state_dict().items()}


def _record_hash(path, name="weights.pt"):
    """Record the replaced weights' sha256 in config.json, as saving would have."""
    from napari_segkit.models.checkpoint import file_sha256

    config = json.loads((path / "config.json").read_text())
    config["weights_sha256"] = file_sha256(path / name)
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("fixture, name", [("saved", "model.safetensors"), ("saved_pt", "weights.pt")])
def test_round_trip(fixture, name, request, one_thread):
    model, path = request.getfixturevalue(fixture)
    assert sorted(p.name for p in path.iterdir()) == sorted(["config.json", name])
    image = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    loaded = load_model(path)
    assert loaded.config["weights"] == name
    assert loaded.config["training"]["history"] == model.config["training"]["history"]
    assert loaded.voxel_size == model.voxel_size and loaded.classes == model.classes
    for key, value in _weights(model).items():
        assert np.array_equal(loaded.network.state_dict()[key].numpy(), value.numpy())
    np.testing.assert_array_equal(loaded.predict_probabilities(image), model.predict_probabilities(image))
    # the config file's path is accepted too
    assert load_model(path / "config.json").spatial_dims == 2


def test_save_refuses_to_overwrite(saved):
    model, path = saved
    with pytest.raises(InputError, match="already exists"):
        model.save(path)
    model.save(path, overwrite=True)
    assert load_model(path).in_channels == 1
    other = path.parent / "notes"
    other.mkdir()
    with pytest.raises(InputError, match="not a model directory"):
        model.save(other, overwrite=True)


def test_m1_missing_path_or_not_a_model(tmp_path):
    with pytest.raises(InputError, match=r"model path '.*nowhere' does not exist"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(InputError, match="has no config.json"):
        load_model(tmp_path)
    stray = tmp_path / "weights.pth"
    stray.write_bytes(b"x")
    with pytest.raises(InputError, match="is a file; a model is a directory"):
        load_model(stray)


@pytest.mark.parametrize("fixture", ["saved", "saved_pt"])
def test_m2_truncated_weights(fixture, request):
    _, path = request.getfixturevalue(fixture)
    name = json.loads((path / "config.json").read_text())["weights"]
    data = (path / name).read_bytes()
    (path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"is corrupt or incomplete.*size \d+ bytes, sha256"):
        load_model(path)


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_m3_malicious_pickle_never_runs(saved_pt, tmp_path):
    import torch

    _, path = saved_pt
    marker = tmp_path / "pwned"
    torch.save({"head.weight": _Payload(str(marker))}, path / "weights.pt")
    with pytest.raises(UnsafeFileError, match=r"weights.pt' contains objects other than tensors"):
        load_model(path)
    assert not marker.exists()
    # the payload is real: an unsafe load would have run it
    control = tmp_path / "control"
    torch.save({"x": _Payload(str(control))}, tmp_path / "control.pt")
    torch.load(tmp_path / "control.pt", weights_only=False)
    assert control.exists()


def test_m4_pickled_module_is_refused(saved_pt):
    import torch

    model, path = saved_pt
    torch.save(model.network, path / "weights.pt")
    with pytest.raises(UnsafeFileError, match=r"contains code objects \(.*\), not a state_dict"):
        load_model(path)


def test_m5_wrong_keys(saved_pt):
    import torch

    model, path = saved_pt
    state = _weights(model)
    state["extra.weight"] = state.pop("head.weight")
    torch.save(state, path / "weights.pt")
    _record_hash(path)
    with pytest.raises(InputError, match=r"1 missing \(e.g. head.weight\); 1 unexpected \(e.g. extra.weight\)"):
        load_model(path)


def test_m6_wrong_shapes(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config["in_channels"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"wrong shape, e.g. encoders.0.0.weight is \(8, 1, 3, 3\).*\(8, 3, 3, 3\)"):
        load_model(path)


def test_m7_weights_are_always_read_onto_the_cpu(saved_pt, monkeypatch):
    import torch

    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_model(saved_pt[1])
    assert calls == [{"weights_only": True, "map_location": "cpu"}]


def test_m8_half_precision_weights_run_in_float32(saved_pt, one_thread):
    import torch

    model, path = saved_pt
    torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in _weights(model).items()},
               path / "weights.pt")
    _record_hash(path)
    loaded = load_model(path)
    assert all(v.dtype != torch.float16 for v in loaded.network.state_dict().values())
    image = np.random.default_rng(1).random((32, 32))
    assert np.abs(loaded.predict_probabilities(image) - model.predict_probabilities(image)).max() < 0.05


def test_m10_safetensors_with_bad_header(saved):
    _, path = saved
    weights = path / "model.safetensors"
    body = weights.read_bytes()
    weights.write_bytes((2**40).to_bytes(8, "little") + body[8:])
    with pytest.raises(InputError, match=r"header declares 1099511627776 bytes"):
        load_model(path)
    garbage = b"{not json!" + b" " * 6
    weights.write_bytes(len(garbage).to_bytes(8, "little") + garbage + body[8:])
    with pytest.raises(InputError, match="is corrupt or incomplete"):
        load_model(path)


def test_safetensors_file_without_the_package(saved, monkeypatch):
    monkeypatch.setattr(checkpoint, "safetensors_available", lambda: False)
    with pytest.raises(InputError, match="install the 'safetensors' package"):
        load_model(saved[1])


@pytest.mark.parametrize(
    "change, match",
    [
        ({"architecture": "fcn-x"}, "architecture 'fcn-x' is not known"),
        ({"weights": "../../elsewhere.pt"}, "weights must be"),
        ({"format_version": 99}, "format_version 99 is not supported"),
        ({"spatial_dims": 4}, "spatial_dims must be 2 or 3"),
        ({"voxel_size": [1.0, -1.0]}, "voxel_size must be 2 positive numbers"),
        ({"options": {"depth": 2, "evil": "__import__('os')"}}, r"options \['evil'\] are not known"),
    ],
)
def test_bad_config(saved, change, match):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config.update(change)
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=match):
        load_model(path)


def test_config_not_json(saved):
    _, path = saved
    (path / "config.json").write_bytes(b"\x80\x04garbage")
    with pytest.raises(InputError, match=r"config.json' is not valid JSON"):
        load_model(path)


def test_partial_save_leaves_nothing(trained, tmp_path, monkeypatch):
    model, _ = trained

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.json, "dump", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("fixture, name", [("saved", "model.safetensors"), ("saved_pt", "weights.pt")])
def test_weights_changed_after_saving_are_refused(fixture, name, request):
    """The sha256 recorded in config.json is verified: a swapped weights file is not loaded."""
    import torch

    model, path = request.getfixturevalue(fixture)
    state = _weights(model)
    state["head.weight"] = state["head.weight"] + 1.0
    if name.endswith(".pt"):
        torch.save(state, path / name)
    else:
        from safetensors.torch import save_file

        save_file(state, str(path / name))
    with pytest.raises(UnsafeFileError, match=rf"{name}' have sha256 .* config.json records"):
        load_model(path)


def test_weights_holding_nan_are_refused(saved_pt):
    import torch

    model, path = saved_pt
    state = _weights(model)
    state["head.weight"][0] = float("nan")
    torch.save(state, path / "weights.pt")
    _record_hash(path)
    with pytest.raises(InputError, match=r"weights.pt'.*NaN or infinite values \(e.g. head.weight\)"):
        load_model(path)


@pytest.mark.parametrize("options, words", [
    ({"width": 0}, "width must be an integer between 1 and 512, got 0"),
    ({"width": -2}, "width must be an integer between 1 and 512"),
    ({"depth": 40}, "depth must be an integer between 1 and 8, got 40"),
    ({"width": 200000}, "width must be an integer between 1 and 512, got 200000"),
])
def test_architecture_size_options_bounded_in_model_files(saved, options, words):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config["options"].update(options)
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=words):
        load_model(path)


def test_network_weights_counted_before_building():
    from napari_segkit import ResourceLimitError
    from napari_segkit.models.checkpoint import check_network_size

    assert check_network_size("unet", {"depth": 2, "width": 8}, 1, 3, 2) > 1000
    with pytest.raises(ResourceLimitError, match="weights"):
        check_network_size("unet", {"depth": 8, "width": 512}, 1, 3, 3)
