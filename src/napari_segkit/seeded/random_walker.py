"""Seeded random walker segmentation (Grady 2006), through scikit-image."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._image import check_memory, map_frames, normalise_channels, parse_image, unit_spacing
from .._progress import announce_estimate
from .._validation import check_float
from ._common import plan_seeds
from .._validation import validate_options

__all__ = ["random_walker", "estimate_random_walker_memory"]

DEFAULT_BETA = 130.0
DEFAULT_TOL = 1e-3
# seconds per pixel and seed value of one conjugate-gradient solve, measured on a
# 450 x 450 two-channel image with two seed values on 2 shared cores (about 10 s)
SECONDS_PER_PIXEL_AND_VALUE = 2.5e-5


def estimate_random_walker_memory(
    spatial_shape: Sequence[int], *, n_labels: int = 2, n_channels: int = 1
) -> int:
    """Bytes one frame of :func:`random_walker` needs (sparse Laplacian, solver vectors)."""
    n = int(np.prod([int(s) for s in spatial_shape], dtype=np.int64))
    d = len(spatial_shape)
    # Laplacian (data, indices, indptr in COO and CSR), gradients, conjugate
    # gradient vectors per label, float64 image and output probabilities
    per_pixel = 40 * (2 * d + 1) + 8 * d * n_channels + 48 * max(int(n_labels), 2) + 16 * n_channels + 32
    return n * per_pixel


@validate_options
def random_walker(
    image: Any,
    seeds: Any,
    *,
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    spatial_dims: Optional[int] = None,
    mask: Any = None,
    background_seed: Optional[int] = None,
    beta: float = DEFAULT_BETA,
    tol: float = DEFAULT_TOL,
    memory_limit: Optional[int] = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Segment an image into the regions marked by seeds, by random walks.

    Each unlabelled pixel takes the seed value that a random walker starting
    there most probably reaches first; stepping between neighbours is
    unlikely across strong edges (weight ``exp(-beta |I_p - I_q|^2)``, with
    the squared difference over all channels divided by the squared physical
    distance).  scikit-image's implementation, with its conjugate-gradient
    solver preconditioned by Jacobi (``mode="cg_j"``).

    Parameters
    ----------
    image : (..., M, N[, P][, C]) array-like
        2-D or 3-D, with up to two leading axes (time, position) processed
        frame by frame, and an optional channel axis.  Any real dtype; numpy
        or dask (read one frame at a time).
    seeds : array-like of int
        0 = unlabelled, each positive value marks one region, at least two
        values.  The image's shape without channels, or one frame's shape
        (then used on every frame, with a warning).
    spacing : sequence of float, optional
        Physical pixel size per spatial axis; only the ratios matter.
    channel_axis : int, optional
        Axis of ``image`` holding channels; None = grayscale.
    spatial_dims : {2, 3}, optional
        Trailing spatial axes; default 2 for a 2-D image, else 3.
    mask : array-like of bool, optional
        Pixels to segment; the others are 0 in the output and never walked.
    background_seed : int, optional
        The seed value that marks the background, 0 in the output.  Default:
        the largest seed value (1 = object, 2 = background as painted for
        :func:`napari_segkit.graph_cut`; or cells 1..n and background n + 1).
        0: no background seeds, every value is kept.
    beta : float
        Edge sensitivity (scikit-image's ``beta``).  Each channel is first
        scaled so its 0.5th and 99.5th percentiles become 0 and 1, so ``beta``
        means the same for any dtype or intensity range.  Default 130,
        scikit-image's: on three real fluorescence sets it does as well as
        or better than 500 and 2000 (the noisy synthetic nuclei sample
        prefers 500 to 2000; see docs/random-walker.md).
    tol : float
        Tolerance of the conjugate-gradient solver.  Default 1e-3.
    memory_limit : int or str, optional
        Bytes the job may use; default 80 % of the memory available now.
    progress : callable, optional
        ``progress(fraction, message)``, called between frames; may raise
        :class:`napari_segkit.Cancelled`.

    Returns
    -------
    labels : ndarray of int32 (int64 if a seed value needs it)
        The image's shape without channels: each pixel holds a seed value,
        the background seed value becomes 0, pixels outside ``mask`` are 0.
        A frame without seeds is all 0 (with a warning).

    Raises
    ------
    InputError
        Bad image, seeds or options; the message names the argument and value.
    ResourceLimitError
        One frame would need more memory than allowed.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import random_walker
    >>> image = np.zeros((20, 20)); image[5:15, 5:15] = 1
    >>> seeds = np.zeros((20, 20), int); seeds[10, 10] = 1; seeds[0, 0] = 2
    >>> labels = random_walker(image, seeds)
    >>> sorted(np.unique(labels).tolist()), int((labels == 1).sum())
    ([0, 1], 100)
    """
    parsed = parse_image(image, method="random_walker", channel_axis=channel_axis, spacing=spacing,
                         spatial_dims=spatial_dims, mask=mask, memory_limit=memory_limit)
    plan = plan_seeds(parsed, seeds, background_seed=background_seed, min_values=2, method="random_walker")
    beta = check_float(beta, name="beta", low=0.0, low_open=True)
    tol = check_float(tol, name="tol", low=0.0, low_open=True)
    needed = estimate_random_walker_memory(parsed.spatial_shape, n_labels=len(plan.values),
                                           n_channels=parsed.n_channels)
    check_memory(needed, parsed.memory_limit, method="random_walker",
                 what=f"one frame of shape {parsed.spatial_shape} with {len(plan.values)} seed values")
    sampling = unit_spacing(parsed.spacing)

    def segment(index, frame, report):
        from skimage.segmentation import random_walker as skimage_random_walker

        frame_seeds = plan.frame(index).astype(np.int64)
        frame_mask = parsed.frame_mask(index)
        if frame_mask is not None:
            frame_seeds = np.where(frame_mask, frame_seeds, -1)
        present = np.unique(frame_seeds[frame_seeds > 0])
        where = f" in frame {index}" if index else ""
        if present.size == 0:
            warnings.warn(f"random_walker: no seeds{where}; its labels are all 0", UserWarning, stacklevel=4)
            return np.zeros(parsed.spatial_shape, np.int64)
        if present.size == 1:
            out = np.where(frame_seeds >= 0, present[0], 0)
        else:
            announce_estimate(report, SECONDS_PER_PIXEL_AND_VALUE * frame_seeds.size * present.size,
                              method="random_walker",
                              what=f"{present.size} seed values on {frame_seeds.size:,} pixels{where}",
                              advice="crop the image, or use watershed (seconds)")
            data = normalise_channels(frame)[0].astype(np.float64)
            with warnings.catch_warnings():
                # scikit-image warns about isolated unlabelled pixels it fills itself
                warnings.filterwarnings("ignore", message=".*isolated.*")
                out = skimage_random_walker(
                    data, frame_seeds, beta=beta, mode="cg_j", tol=tol, spacing=sampling,
                    channel_axis=-1, return_full_prob=False,
                )
            out = np.where(out < 0, 0, out)
        return plan.finish(out)

    return map_frames(parsed, segment, unique_ids=False, progress=progress)
