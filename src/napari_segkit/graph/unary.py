"""Data terms learned from seeds: one intensity/colour histogram per seed value.

Features are scaled per channel to [0, 1] using the image's own minimum and
maximum, so the result does not depend on the dtype or the intensity range
(a uint8 image and the same image as uint16 or float give the same costs).
Up to three channels share one joint histogram (64 bins for one channel, 32
per axis for two, 16 for three); more channels are modelled channel by channel
(naive Bayes).  Histograms are smoothed with a Gaussian kernel whose width follows Scott's rule
for the seed samples (at least one bin), so a few scribbled pixels give a
smooth density rather than a comb, and given a small floor so an unseen value
costs a finite amount.

The per-pixel work runs block by block (about :data:`BLOCK_ELEMENTS` values at
a time) so temporaries stay in the CPU cache and no float64 copy of the image
is made; the results are those of the whole-array formulas.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from .neighbourhood import BLOCK_ELEMENTS, blocks

__all__ = ["HistogramModel", "normalise_features", "scale_range", "scaled_features"]

_JOINT_BINS = {1: 64, 2: 32, 3: 16}
_PER_CHANNEL_BINS = 32
_MIN_SMOOTHING_BINS = 1.0
_FLOOR = 1e-3  # added to each normalised bin: caps a cost at about -log(1e-3) = 6.9


def scale_range(image: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel ``(lo, hi, span)`` as float64 for an (..., C) image.

    ``span`` is ``hi - lo``, or 1 for a constant channel.  Computed on the
    image's own dtype (exact: min and max commute with the conversion).
    """
    axes = tuple(range(image.ndim - 1))
    lo = np.asarray(image.min(axis=axes), dtype=np.float64)
    hi = np.asarray(image.max(axis=axes), dtype=np.float64)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lo, hi, span


def normalise_features(image: np.ndarray) -> np.ndarray:
    """Return (..., C) float32 features scaled to [0, 1] per channel.

    A constant channel becomes all zeros.  Each value is
    ``float32((value - lo) / (hi - lo))`` computed in float64, block by block.
    """
    return scaled_features(image)[0]


def scaled_features(image: np.ndarray) -> Tuple[np.ndarray, bool]:
    """:func:`normalise_features` and whether any channel varies."""
    lo, hi, span = scale_range(image)
    features = np.empty(image.shape, dtype=np.float32)
    block_size = max(1, BLOCK_ELEMENTS // max(image.shape[-1], 1))
    scratch = np.empty(BLOCK_ELEMENTS + image.shape[-1], dtype=np.float64)
    for block in blocks(image.shape[:-1], block_size):
        source = image[block]
        tmp = scratch[: source.size].reshape(source.shape)
        np.subtract(source, lo, out=tmp)
        np.divide(tmp, span, out=tmp)
        features[block] = tmp
    return features, bool(np.any(hi > lo))


class HistogramModel:
    """Per-label intensity histograms and their negative log-likelihoods.

    Parameters
    ----------
    n_channels : int
        Number of feature channels.
    """

    def __init__(self, n_channels: int) -> None:
        self.n_channels = int(n_channels)
        self.joint = self.n_channels in _JOINT_BINS
        self.n_bins = _JOINT_BINS.get(self.n_channels, _PER_CHANNEL_BINS)
        self.costs: list = []
        self._difference = None

    # -- bin indices ------------------------------------------------------------------
    @property
    def index_dtype(self) -> np.dtype:
        """Smallest unsigned dtype holding a (joint) bin index."""
        n = self.n_bins**self.n_channels if self.joint else self.n_bins
        return np.dtype(np.uint8 if n <= 256 else np.uint16)

    def index_shape(self, feature_shape: Sequence[int]) -> tuple:
        """Shape of :meth:`bin_index`'s result for features of ``feature_shape``."""
        return tuple(feature_shape[:-1]) if self.joint else tuple(feature_shape)

    def _index_into(self, features: np.ndarray, out: np.ndarray) -> None:
        scaled = np.multiply(features, self.n_bins, dtype=np.float32)
        np.clip(scaled, 0, self.n_bins - 1, out=scaled)
        if not self.joint:
            out[...] = scaled
            return
        if self.n_channels == 1:
            out[...] = scaled[..., 0]
            return
        out[...] = scaled[..., 0]
        for c in range(1, self.n_channels):
            out *= self.n_bins
            out += scaled[..., c].astype(self.index_dtype)

    def bin_index(self, features: np.ndarray) -> np.ndarray:
        """(..., C) features in [0, 1] -> joint bin index (...), or per-channel bins (..., C)."""
        out = np.empty(self.index_shape(features.shape), dtype=self.index_dtype)
        block_size = max(1, BLOCK_ELEMENTS // max(features.shape[-1], 1))
        for block in blocks(features.shape[:-1], block_size):
            self._index_into(features[block], out[block])
        return out

    # -- fitting ----------------------------------------------------------------------
    def fit(
        self,
        features: np.ndarray,
        seeds: np.ndarray,
        values: Sequence[int],
        *,
        seeded: "np.ndarray | None" = None,
    ) -> "HistogramModel":
        """Learn one histogram per seed value.

        Parameters
        ----------
        features : (..., C) ndarray of float in [0, 1]
        seeds : ndarray of int
            0 = unknown; each value in ``values`` marks samples of one label.
            Shape ``features.shape[:-1]``, or its trailing axes only (the same
            seeds for every leading index).
        values : sequence of int
            The seed values, in the order of the cost rows returned later.
        seeded : ndarray of int, optional
            ``np.flatnonzero(seeds)``, if the caller has it already.
        """
        spatial = features.shape[:-1]
        flat_features = features.reshape(-1, features.shape[-1])
        # positions of all seeds in one pass, then small gathers: much faster
        # than one boolean mask per value over the image
        seeds = np.asarray(seeds)
        positions = np.flatnonzero(seeds) if seeded is None else seeded
        labels = seeds.reshape(-1).take(positions)
        repeats = int(np.prod(spatial[: len(spatial) - seeds.ndim], dtype=np.int64))
        if repeats > 1:
            positions = (np.arange(repeats)[:, np.newaxis] * seeds.size + positions).ravel()
            labels = np.tile(labels, repeats)
        self.costs = []
        for value in values:
            selected = positions[labels == value]
            samples = flat_features.take(selected, axis=0)
            sample = self.bin_index(samples)
            width = self._kernel_width(samples)
            if self.joint:
                hist = np.bincount(sample, minlength=self.n_bins**self.n_channels).reshape(
                    (self.n_bins,) * self.n_channels
                )
                self.costs.append(self._neg_log(hist.astype(np.float64), width))
            else:
                per_channel = [
                    self._neg_log(
                        np.bincount(sample[:, c], minlength=self.n_bins).astype(np.float64),
                        width[c],
                    )
                    for c in range(self.n_channels)
                ]
                self.costs.append(np.stack(per_channel))
        self._difference = (
            (self.costs[1] - self.costs[0]).ravel() if self.joint and len(self.costs) == 2 else None
        )
        return self

    def _kernel_width(self, samples: np.ndarray) -> np.ndarray:
        """Per-channel Gaussian kernel width in bins (Scott's rule, >= 1 bin)."""
        n = max(len(samples), 1)
        dims = self.n_channels if self.joint else 1
        spread = samples.std(axis=0, dtype=np.float64) if len(samples) > 1 else np.zeros(self.n_channels)
        width = spread * n ** (-1.0 / (dims + 4)) * self.n_bins
        return np.maximum(width, _MIN_SMOOTHING_BINS)

    @staticmethod
    def _neg_log(hist: np.ndarray, width) -> np.ndarray:
        hist = ndi.gaussian_filter(hist, width, mode="constant")
        total = hist.sum()
        prob = hist / total if total > 0 else np.full_like(hist, 1.0 / hist.size)
        return -np.log(prob + _FLOOR)

    # -- costs ------------------------------------------------------------------------
    def unary(self, features: np.ndarray) -> np.ndarray:
        """Return (L, ...) float64 costs: ``costs[l][p] = -log p(I_p | label l)``."""
        return self.unary_from_index(self.bin_index(features))

    def unary_from_index(self, index: np.ndarray) -> np.ndarray:
        """:meth:`unary` from a :meth:`bin_index` result."""
        spatial = index.shape if self.joint else index.shape[:-1]
        out = np.empty((len(self.costs),) + spatial, dtype=np.float64)
        if self.joint:
            for i, table in enumerate(self.costs):
                np.take(table.ravel(), index, out=out[i], mode="clip")
        else:
            for i, table in enumerate(self.costs):
                out[i] = 0.0
                for c in range(self.n_channels):
                    out[i] += table[c][index[..., c]]
        return out

    def max_cost(self) -> float:
        """An upper bound of any pixel's cost under any label."""
        if self.joint:
            return float(max(table.max() for table in self.costs))
        # channel by channel: a pixel's cost is a sum over the channels
        return float(max(table.max(axis=1).sum() for table in self.costs))

    def difference_into(self, features: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``costs[1] - costs[0]`` (two labels) for a block of (..., C) features, into ``out``.

        The same float64 values as ``unary(features)[1] - unary(features)[0]``.
        """
        if len(self.costs) != 2:
            raise ValueError("difference_into needs exactly two labels")
        index = self.bin_index(features)
        if self._difference is not None:
            return np.take(self._difference, index, out=out, mode="clip")
        unary = self.unary_from_index(index)
        return np.subtract(unary[1], unary[0], out=out)
