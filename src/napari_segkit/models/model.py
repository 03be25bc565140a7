"""A trained network with everything needed to apply it: the :class:`Model`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    build_network,
    check_config,
    load_checkpoint,
    load_state,
    save_checkpoint,
)
from .registry import get_architecture

__all__ = ["Model", "load_model"]


class Model:
    """A segmentation network and its config.

    Use :func:`~napari_segkit.train_model` to make one and
    :func:`~napari_segkit.load_model` to read one; apply it with
    :func:`~napari_segkit.predict_probabilities` /
    :func:`~napari_segkit.predict_labels` or the methods of the same names.

    Attributes
    ----------
    network : torch.nn.Module
        In evaluation mode, on the CPU unless moved.
    config : dict
        JSON-serialisable: ``architecture``, ``options``, ``spatial_dims``,
        ``in_channels``, ``classes``, ``normalisation``, ``voxel_size`` (the
        spacing the model was trained at), ``history`` (one record per epoch)
        and, once saved or loaded, ``weights_sha256``.
    """

    def __init__(self, network: Any, config: Dict[str, Any]) -> None:
        config = dict(config)
        config.setdefault("format", FORMAT)
        config.setdefault("format_version", FORMAT_VERSION)
        config.setdefault("weights", "model.safetensors")
        check_config(config, where="Model config")
        self.network = network.eval()
        self.config = config
        #: The directory the model was loaded from or last saved to (None for a new model).
        self.source: Optional[str] = None

    # -- description -------------------------------------------------------------------------
    @property
    def spatial_dims(self) -> int:
        return int(self.config["spatial_dims"])

    @property
    def in_channels(self) -> int:
        return int(self.config["in_channels"])

    @property
    def classes(self) -> List[str]:
        return list(self.config["classes"])

    @property
    def voxel_size(self) -> Tuple[float, ...]:
        return tuple(float(v) for v in self.config["voxel_size"])

    @property
    def history(self) -> List[Dict[str, Any]]:
        return list(self.config.get("training", {}).get("history", []))

    def _options(self) -> Dict[str, Any]:
        architecture = get_architecture(self.config["architecture"])
        options = dict(architecture.defaults)
        options.update(self.config.get("options", {}))
        return options

    @property
    def align(self) -> int:
        """Tiles start on multiples of this."""
        return int(get_architecture(self.config["architecture"]).align(**self._options()))

    @property
    def halo(self) -> int:
        """Context per side that makes tiled output equal whole-image output."""
        radius = int(get_architecture(self.config["architecture"]).receptive_radius(**self._options()))
        return -(-radius // self.align) * self.align

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in sorted(self._options().items()))
        return (
            f"Model({self.config['architecture']}, {self.spatial_dims}-D, {self.in_channels} channel(s) "
            f"-> {self.classes}, {options}, voxel size {self.voxel_size})"
        )

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: Any, *, overwrite: bool = False) -> Path:
        """Write the model to directory ``path`` (safetensors when available, else ``weights.pt``).

        Raises
        ------
        InputError
            If ``path`` exists and ``overwrite`` is False.
        """
        state = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        saved = save_checkpoint(path, state, self.config, overwrite=overwrite)
        self.source = str(saved)
        loaded = _read_config_quiet(saved)
        if loaded is not None:
            self.config["weights"] = loaded["weights"]
            self.config["weights_sha256"] = loaded["weights_sha256"]
        return saved

    def copy(self) -> "Model":
        twin = Model(copy.deepcopy(self.network), copy.deepcopy(self.config))
        twin.source = self.source
        return twin

    # -- inference --------------------------------------------------------------------------------
    def predict_probabilities(self, image: Any, **kwargs: Any) -> Any:
        """Same as :func:`~napari_segkit.predict_probabilities` with this model."""
        from .predict import predict_probabilities

        return predict_probabilities(image, self, **kwargs)

    def predict_labels(self, image: Any, **kwargs: Any) -> Any:
        """Same as :func:`~napari_segkit.predict_labels` with this model."""
        from .predict import predict_labels

        return predict_labels(image, self, **kwargs)


def _read_config_quiet(path: Path) -> Optional[Dict[str, Any]]:
    from .. import _json

    try:
        return _json.load(Path(path) / "config.json")
    except (OSError, ValueError):
        return None


def load_model(path: Any) -> Model:
    """Read a model directory written by :meth:`Model.save`.

    The network is built by this package from the architecture named in
    ``config.json``; the weights are read as tensors only (safetensors, or
    ``torch.load(weights_only=True, map_location="cpu")``) and loaded with
    ``strict=True``.  No code from the file is ever run.

    Parameters
    ----------
    path : str or Path
        The model directory (or its ``config.json``).

    Returns
    -------
    Model
        On the CPU, in evaluation mode, weights in float32.

    Raises
    ------
    InputError
        If the path is missing or not a model, a file is corrupt or
        truncated, the weights do not fit the architecture
        or the config is invalid.
    UnsafeFileError
        If the weights file holds pickled code or objects other than tensors.
    """
    state, config, weights_path = load_checkpoint(path)
    network = build_network(config)
    load_state(network, state, where=str(weights_path))
    model = Model(network.float().eval(), config)
    model.source = str(Path(weights_path).parent)
    return model
