"""Fully connected CRF refinement of a probability map (Krahenbuhl and Koltun 2011).

Energy of a labelling ``x`` of the pixels (voxels)::

    E(x) = sum_i -log P_i(x_i) + sum_{i<j} [x_i != x_j] k(f_i, f_j)

    k(f_i, f_j) = w_appearance * exp(-|p_i - p_j|^2 / (2 theta_alpha^2)
                                     - |I_i - I_j|^2 / (2 theta_beta^2))
                + w_smoothness * exp(-|p_i - p_j|^2 / (2 theta_gamma^2))

with ``p`` the physical position (pixel index times the spacing, scaled so the
finest spacing is 1) and ``I`` the intensities of all channels, each scaled
robustly to [0, 1] (:func:`~._inputs.normalise_intensities`).  The Potts
compatibility ``[x_i != x_j]`` penalises neighbours in feature space that take
different classes.

Mean-field inference updates ``Q_i(l) ∝ exp(-U_i(l) + sum_m w_m M_m,i(l))``
``max_iter`` times, where the message ``M_m = D_m^-1/2 K_m D_m^-1/2 Q`` is the
kernel filtering with symmetric normalisation (``D_m = K_m 1``), as in the
reference implementation's default: each message is a weighted mean of the
classes around a pixel, so the weights mean the same at any image size,
spacing or kernel width.  The appearance (bilateral) filter runs on the
permutohedral lattice (:mod:`.lattice`), ``O(N)`` per iteration; the
smoothness kernel depends on position only, and on a pixel grid it is an
exact separable Gaussian filter.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._errors import InputError, ResourceLimitError
from .._progress import Reporter
from .._validation import check_positive_number, check_spacing
from ._inputs import (
    normalise_intensities,
    prepare_image,
    prepare_probabilities,
    restore_class_axis,
    warn_constant,
)
from .._validation import validate_options

__all__ = ["crf_refine", "estimate_crf_memory"]


DEFAULT_THETA_ALPHA = 10.0
DEFAULT_THETA_BETA = 0.1
DEFAULT_THETA_GAMMA = 2.0
DEFAULT_W_APPEARANCE = 5.0
DEFAULT_W_SMOOTHNESS = 3.0
# smallest probability used in the unary term -log(p): caps it at 11.5
PROBABILITY_CLIP = 1e-5
# the spatial Gaussian is cut at this many standard deviations
TRUNCATE = 4.0


def estimate_crf_memory(shape: Sequence[int], *, n_classes: int = 2, n_channels: int = 1) -> int:
    """Bytes :func:`crf_refine` needs for an image of spatial ``shape``.

    The permutohedral lattice dominates: about ``d + 1`` vertices per pixel,
    with ``d = len(shape) + n_channels`` feature dimensions.
    """
    from .lattice import lattice_bytes

    n = int(np.prod([int(s) for s in shape], dtype=np.int64))
    d = len(shape) + int(n_channels)
    k = max(int(n_classes), 2)
    # unary, Q, two messages, normalisers, features (float32 / float64)
    arrays = n * (4 * k * 5 + 8 * d + 16)
    return int(lattice_bytes(n, d, k) + arrays)


def _check_iterations(max_iter: Any) -> int:
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise InputError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    return int(max_iter)


def _softmax_neg(energy: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = softmax(energy)`` over axis 0 (classes)."""
    np.subtract(energy, energy.max(axis=0, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=0, keepdims=True)
    return out


def bilateral_features(
    intensities: np.ndarray, spacing: Sequence[float], theta_alpha: float, theta_beta: float
) -> np.ndarray:
    """(N, ndim + C) features ``(position / theta_alpha, intensity / theta_beta)``.

    ``intensities`` is (..., C) on the grid; positions are pixel indices times
    ``spacing`` (already scaled so its smallest value is 1).
    """
    shape = intensities.shape[:-1]
    n = int(np.prod(shape, dtype=np.int64))
    ndim = len(shape)
    features = np.empty((n, ndim + intensities.shape[-1]), dtype=np.float64)
    grids = np.indices(shape, sparse=True)
    for axis in range(ndim):
        column = np.broadcast_to(grids[axis] * (spacing[axis] / theta_alpha), shape)
        features[:, axis] = column.reshape(-1)
    features[:, ndim:] = intensities.reshape(n, -1)
    features[:, ndim:] /= theta_beta
    return features


@validate_options
def crf_refine(
    image: Any,
    probabilities: Any,
    *,
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    max_iter: int = 5,
    theta_alpha: float = DEFAULT_THETA_ALPHA,
    theta_beta: float = DEFAULT_THETA_BETA,
    theta_gamma: float = DEFAULT_THETA_GAMMA,
    w_appearance: float = DEFAULT_W_APPEARANCE,
    w_smoothness: float = DEFAULT_W_SMOOTHNESS,
    from_logits: bool = False,
    memory_limit: Optional[int] = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Refine a probability map with a fully connected CRF (dense CRF).

    Krahenbuhl and Koltun's model: the unary term is ``-log p`` of the given
    map; the pairwise term links every pair of pixels with a Gaussian
    *appearance* kernel (nearby pixels of similar intensity or colour, widths
    ``theta_alpha`` in space and ``theta_beta`` in intensity) and a Gaussian
    *smoothness* kernel (nearby pixels, width ``theta_gamma``), with Potts
    compatibility.  Mean-field inference runs ``max_iter`` steps; the
    appearance filter uses the permutohedral lattice, so each step costs
    ``O(N)`` rather than ``O(N^2)``.  Boundaries of the refined map follow
    the image's edges.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        The image the map was computed from, 2-D or 3-D, any real dtype and
        any number of channels.  Each channel is scaled so its 0.5th and
        99.5th percentiles map to 0 and 1.
    probabilities : (M, N[, P], K) array-like of float
        Class probabilities in [0, 1] summing to 1 over the LAST axis (class
        0 = background), as :func:`napari_segkit.predict_probabilities`
        returns them, or an ilastik or Cellpose export.  A map with the
        image's spatial shape alone (or a last axis of length 1) is the
        probability of the object; the background is its complement.  With
        ``from_logits=True``: raw scores (softmax, or a sigmoid for one map).
    spacing : sequence of float, optional
        Physical pixel size per spatial axis, e.g. ``(4, 1, 1)``.  Only the
        ratios matter: the smallest spacing counts as 1 pixel, and the
        ``theta_alpha`` and ``theta_gamma`` widths are in those units.
    channel_axis : int, optional
        Axis of ``image`` holding channels; None means grayscale.
    max_iter : int
        Mean-field iterations (0 returns the input, normalised).  Default 5.
    theta_alpha : float
        Spatial width of the appearance kernel, in pixels.  Default 10.
    theta_beta : float
        Intensity width of the appearance kernel, as a fraction of the robust
        intensity range.  Default 0.1.
    theta_gamma : float
        Width of the smoothness kernel, in pixels.  Default 2.
    w_appearance, w_smoothness : float
        Kernel weights, against unary terms ``-log p`` (up to 11.5).  Both
        kernels are normalised, so a weight is the largest change in a
        class's score that agreement of all neighbours can give.  Defaults
        5 and 3; 0 switches a kernel off.
    from_logits : bool
        Treat ``probabilities`` as logits.  Default False.
    memory_limit : int, optional
        Bytes the job may use; default 80 % of the memory available now.
    progress : callable, optional
        ``progress(fraction, message)``, called after building the lattice
        and after each iteration.  It may raise
        :class:`napari_segkit.Cancelled` to stop the job.

    Returns
    -------
    refined : ndarray of float32
        Same shape as ``probabilities`` (class axis last), summing to 1 over
        the classes; for a single object map, the refined object map.  The
        labels are ``refined.argmax(axis=-1)`` (0 = background), or
        ``refined > 0.5`` for a single map; :func:`graph_cut_refine` takes
        ``refined`` as it is.

    Raises
    ------
    InputError
        Bad image, probabilities or options; the message names the argument
        and the value received (NaN counts, shapes, value ranges).
    ResourceLimitError
        The lattice would not fit in memory.
    Cancelled
        Raised by ``progress``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import crf_refine
    >>> image = np.zeros((32, 32)); image[8:24, 8:24] = 1
    >>> p = np.full((32, 32), 0.4); p[6:26, 6:26] = 0.6   # object probability
    >>> refined = crf_refine(image, np.stack([1 - p, p], axis=-1))
    >>> int((refined.argmax(axis=-1) == 1).sum())
    256
    """
    channels_last, spatial = prepare_image(image, channel_axis, method="crf_refine")
    spacing = check_spacing(spacing, len(spatial))
    max_iter = _check_iterations(max_iter)
    theta_alpha = check_positive_number(theta_alpha, name="theta_alpha")
    theta_beta = check_positive_number(theta_beta, name="theta_beta")
    theta_gamma = check_positive_number(theta_gamma, name="theta_gamma")
    w_appearance = check_positive_number(w_appearance, name="w_appearance", allow_zero=True)
    w_smoothness = check_positive_number(w_smoothness, name="w_smoothness", allow_zero=True)
    probs, single = prepare_probabilities(probabilities, spatial, from_logits=bool(from_logits))
    keepdims = single and np.ndim(probabilities) == len(spatial) + 1
    n_classes = probs.shape[0]
    n_channels = channels_last.shape[-1]
    needed = estimate_crf_memory(spatial, n_classes=n_classes, n_channels=n_channels)
    from ..graph.memory import MEMORY_FRACTION, available_memory

    limit = int(MEMORY_FRACTION * available_memory()) if memory_limit is None else int(memory_limit)
    if needed > limit:
        raise ResourceLimitError(
            f"crf_refine needs about {needed / 1e9:.2f} GB for an image of shape {spatial} with "
            f"{n_channels} channel(s) and {n_classes} classes, but {limit / 1e9:.2f} GB is allowed; "
            "crop or downsample the image"
        )

    report = Reporter(progress)
    report(0.0, "building the CRF kernels")
    unit = min(spacing)
    scaled = [s / unit for s in spacing]
    n = int(np.prod(spatial, dtype=np.int64))
    unary = -np.log(np.clip(probs, PROBABILITY_CLIP, 1.0))
    q = _softmax_neg(-unary, np.empty_like(unary))

    filters = []
    if w_appearance > 0 and max_iter > 0:
        from .lattice import PermutohedralLattice

        intensities, varies = normalise_intensities(channels_last)
        if not varies:
            warn_constant("crf_refine")
        features = bilateral_features(intensities, scaled, theta_alpha, theta_beta)
        del intensities
        lattice = PermutohedralLattice(features)
        del features

        def appearance(values: np.ndarray) -> np.ndarray:
            flat = values.reshape(values.shape[0], n).T
            return lattice.filter(np.ascontiguousarray(flat)).T.reshape(values.shape)

        filters.append((w_appearance, appearance))
    if w_smoothness > 0 and max_iter > 0:
        from scipy import ndimage as ndi

        sigma = [theta_gamma / s for s in scaled]

        def smoothness(values: np.ndarray) -> np.ndarray:
            out = np.empty_like(values)
            for k in range(values.shape[0]):
                ndi.gaussian_filter(values[k], sigma, output=out[k], mode="constant", truncate=TRUNCATE)
            return out

        filters.append((w_smoothness, smoothness))
    # symmetric normalisation D^-1/2 K D^-1/2, D = K 1
    kernels = []
    for weight, apply in filters:
        degree = apply(np.ones((1,) + tuple(spatial), dtype=np.float32))
        norm = 1.0 / np.sqrt(np.maximum(degree, 1e-20))
        kernels.append((weight, apply, norm))
    report(0.2 if max_iter else 1.0, "mean-field inference")

    energy = np.empty_like(unary)
    for it in range(max_iter):
        np.negative(unary, out=energy)
        for weight, apply, norm in kernels:
            message = apply(q * norm)
            message *= norm
            message *= weight
            energy += message
        _softmax_neg(energy, q)
        report(0.2 + 0.8 * (it + 1) / max_iter, f"mean-field iteration {it + 1}/{max_iter}")

    return restore_class_axis(q.astype(np.float32, copy=False), single, keepdims=keepdims)
