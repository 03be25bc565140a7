"""Model uncertainty by Monte Carlo dropout, for every architecture.

Bayesian SegNet (Kendall, Badrinarayanan and Cipolla, 2015) keeps dropout on
at test time and reads the spread of several stochastic forward passes as the
model's uncertainty.  Here dropout is applied from outside the network, by
forward hooks on its intermediate feature maps (the outputs of its activation
modules; networks without activation modules get it after every convolution
but the last), so U-Net, FCN, SegNet, DeepLab, PSPNet and any registered
architecture work unchanged, whether or not they were trained with dropout.
Dropout layers the network already has are switched on as well (with their
own rate, drawing from the same seeded generator).

Per pixel, over ``samples`` passes with softmax outputs ``p_s``:

- predictive entropy ``H[mean_s p_s]`` (total uncertainty, also high on
  boundaries the model is sure are boundaries), and
- mutual information ``H[mean_s p_s] - mean_s H[p_s]`` (the part due to the
  model: where the passes disagree; the quantity to rank for "annotate next").

The passes run tile by tile exactly like :func:`predict_probabilities` (same
tiling, halo and memory budget), so any image size works.  Dropout masks are
drawn per tile from a seeded generator, so a run is reproducible for a given
``rng`` and tiling; tiled and whole-image results agree in distribution, not
bit for bit.  Dask input is computed block by block as well (lazily).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from .._errors import InputError
from .._progress import Reporter

__all__ = ["DropoutHooks", "Uncertainty", "mc_dropout"]

logger = logging.getLogger(__name__)

_ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "PReLU", "Mish", "Hardswish")
_CONVOLUTIONS = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
_EPS = 1e-12


class DropoutHooks:
    """Element-wise dropout on intermediate feature maps of ``network``, through forward hooks.

    Parameters
    ----------
    network : torch.nn.Module
    rate : float
        Probability of zeroing a feature (survivors are scaled by ``1 / (1 - rate)``).
    generator : torch.Generator, optional
        Source of the dropout masks (for reproducible runs).

    Use as a context manager; the hooks are removed on exit.  The network's
    own dropout layers (identity in eval mode) get a hook with their own rate.
    """

    def __init__(self, network: Any, rate: float, generator: Any = None) -> None:
        self.network = network
        self.rate = float(rate)
        self.generator = generator
        self._handles: List[Any] = []
        self.hooked: List[str] = []

    def targets(self) -> List[tuple]:
        """``(name, module)`` of the modules whose outputs get dropout."""
        modules = list(self.network.named_modules())
        chosen = [(n, m) for n, m in modules if type(m).__name__ in _ACTIVATIONS]
        if not chosen:
            convs = [(n, m) for n, m in modules if type(m).__name__ in _CONVOLUTIONS]
            chosen = convs[:-1]  # never the classifier
        return chosen

    def _hook(self, module, inputs, output):
        import torch

        if not torch.is_tensor(output) or not output.is_floating_point():
            return output
        rate = float(getattr(module, "p", self.rate)) if type(module).__name__.startswith("Dropout") else self.rate
        if rate <= 0.0:
            return output
        keep = 1.0 - rate
        mask = torch.empty_like(output).bernoulli_(keep, generator=self.generator)
        return output * mask / keep

    def __enter__(self) -> "DropoutHooks":
        targets = self.targets()
        targets += [(n, m) for n, m in self.network.named_modules() if type(m).__name__.startswith("Dropout")]
        for name, module in targets:
            self._handles.append(module.register_forward_hook(self._hook))
            self.hooked.append(name)
        if not self._handles:
            raise InputError("this network has no activation or convolution modules to apply dropout to")
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


class _MonteCarloPredictor:
    """Tiles in, ``[mean probabilities (K), entropy, mutual information]`` out (channels first)."""

    def __init__(self, network, device, samples: int, rate: float, seed: int,
                 report: Optional[Callable[[float, str], None]] = None) -> None:
        import torch

        self.network = copy.deepcopy(network).float().eval().to(device)
        self.device = device
        self.samples = samples
        self.rate = rate
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(seed))
        self.report = report

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), DropoutHooks(self.network, self.rate, self.generator):
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            total = None
            entropy_sum = None
            for _ in range(self.samples):
                output = self.network(x)
                if isinstance(output, (tuple, list)):
                    output = output[0]
                p = torch.softmax(output.float(), dim=1)
                h = -(p * torch.log(p + _EPS)).sum(dim=1, keepdim=True)
                total = p if total is None else total + p
                entropy_sum = h if entropy_sum is None else entropy_sum + h
            mean = total / self.samples
            entropy = -(mean * torch.log(mean + _EPS)).sum(dim=1, keepdim=True)
            information = (entropy - entropy_sum / self.samples).clamp_min(0.0)
            return torch.cat([mean, entropy, information], dim=1).cpu().numpy()


@dataclass
class Uncertainty:
    """Result of :func:`mc_dropout`.

    Attributes
    ----------
    probabilities : (..., K) array of float32
        Mean class probabilities over the passes (class axis last).
    entropy : (...) array of float32
        Predictive entropy, in nats (0 .. log K).
    mutual_information : (...) array of float32
        The model's share of the uncertainty, in nats (the BALD score).
    samples, rate : int, float
        Passes and dropout rate used.
    spatial_dims : int
        The model's spatial dimensions (leading axes beyond them are frames).
    """

    probabilities: Any
    entropy: Any
    mutual_information: Any
    samples: int
    rate: float
    spatial_dims: int = 2

    def labels(self, threshold: float = 0.5) -> Any:
        """Instance labels from the mean probabilities (as :func:`predict_labels`; ids per frame)."""
        from .instances import instances_from_probabilities

        prob = np.asarray(self.probabilities)
        lead = prob.shape[: prob.ndim - 1 - self.spatial_dims]
        if not lead:
            return instances_from_probabilities(prob, threshold=threshold)
        frames = [instances_from_probabilities(prob[i], threshold=threshold) for i in np.ndindex(*lead)]
        dtype = np.result_type(*[f.dtype for f in frames])
        return np.stack([f.astype(dtype) for f in frames]).reshape(lead + prob.shape[len(lead):-1])


def mc_dropout(
    image: Any,
    model: Any,
    *,
    samples: int = 8,
    rate: float = 0.1,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    tile_shape: Optional[Sequence[int] | int] = None,
    halo: Optional[int] = None,
    batch_size: int = 1,
    device: Any = None,
    rng: Any = 0,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Uncertainty:
    """Mean probabilities and per-pixel uncertainty by Monte Carlo dropout.

    Parameters
    ----------
    image, model, channel_axis, spacing, tile_shape, halo, batch_size, device, progress
        As :func:`napari_segkit.predict_probabilities` (a leading time axis is
        processed frame by frame).
    samples : int
        Stochastic forward passes per tile (cost: ``samples`` times one prediction).
    rate : float
        Dropout probability on the hooked feature maps, in (0, 1).
    rng : int
        Seed of the dropout masks.

    Returns
    -------
    Uncertainty
    """
    from .predict import _predict_dask, _predict_numpy
    from .predict_inputs import _as_model, _prediction_inputs
    from .devices import activation_budget, free_device_memory, select_device

    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 2 <= samples <= 1000:
        raise InputError(f"samples must be an integer from 2 to 1000, got {samples!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0.0 < float(rate) < 1.0:
        raise InputError(f"rate must be a number between 0 and 1 (exclusive), got {rate!r}")
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, np.integer))):
        raise InputError(f"rng must be an integer seed, got {rng!r}")
    model = _as_model(model)
    array, lead, lazy, d, spatial, factors, tile_arg, halo_value = _prediction_inputs(
        image, model, channel_axis, spacing, tile_shape, halo
    )
    report = Reporter(progress)
    choice = select_device(device)
    report(0.0, f"{choice.note}; {samples} dropout passes per tile")
    n_classes = len(model.classes)
    predictor = _MonteCarloPredictor(model.network, choice.device, int(samples), float(rate),
                                     0 if rng is None else int(rng))
    free = lambda: free_device_memory(choice.device)  # noqa: E731
    if lazy:
        out = _predict_dask(array, lead, model, predictor, n_classes + 2, tile_arg, halo_value, 0.0,
                            batch_size, None, free, report)
    else:
        out = _predict_numpy(array, lead, model, predictor, n_classes + 2, tile_arg, halo_value, 0.0,
                             batch_size, factors, free, report, activation_budget(choice.device))
    return Uncertainty(out[..., :n_classes], out[..., n_classes], out[..., n_classes + 1],
                       int(samples), float(rate), int(d))
