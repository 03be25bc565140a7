"""High-dimensional Gaussian filtering on the permutohedral lattice.

The filter computes, for every point ``i`` of a set of ``N`` points with
``d``-dimensional features ``f``,

    out_i = sum_j exp(-||f_i - f_j||^2 / 2) v_j

approximately and in ``O(N d^2)`` time instead of ``O(N^2 d)``, following
Adams, Baek and Davis (2010), "Fast High-Dimensional Filtering Using the
Permutohedral Lattice", in the form used by Krahenbuhl and Koltun (2011) for
the fully connected CRF:

1. *Embed*: each feature vector is lifted onto the hyperplane
   ``sum(x) = 0`` of ``R^(d+1)`` and scaled so that the lattice spacing
   matches a unit-variance Gaussian.
2. *Splat*: each point lies in one simplex of the permutohedral lattice; its
   value is spread over the ``d + 1`` vertices with barycentric weights.
3. *Blur*: along each of the ``d + 1`` lattice directions, every vertex is
   convolved with the kernel ``[1/2, 1, 1/2]`` (absent neighbours count 0).
4. *Slice*: each point reads back the barycentric mix of its vertices.

Only lattice vertices that some point touches exist.  The original code keeps
them in a hash table; here the integer vertex coordinates are packed into one
``int64`` key per vertex and deduplicated with :func:`numpy.unique`, and each
blur neighbour is found with :func:`numpy.searchsorted` in the sorted keys,
so every step is a vectorised numpy operation.  Splatting and slicing are one
sparse matrix (``N x M``, ``d + 1`` entries per row) and its transpose.

The result is an approximation: the lattice blur is a Gaussian only up to
the discretisation of the lattice, and a point's own weight is not exactly 1.
Callers that normalise (``out / filter(ones)``, or the symmetric
normalisation of the dense CRF) cancel its overall scale.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["PermutohedralLattice", "lattice_bytes"]

# tests set this to exercise the path taken when keys do not fit one int64
_FORCE_ROW_KEYS = False


def _as_records(keys: np.ndarray) -> np.ndarray:
    """(K, d) int64 -> (K,) structured array with one int64 field per column."""
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    dtype = np.dtype([(f"f{i}", np.int64) for i in range(keys.shape[1])])
    return keys.view(dtype).reshape(-1)


def lattice_bytes(n_points: int, n_features: int, n_values: int = 2) -> int:
    """Estimated peak bytes of building a lattice and filtering ``n_values`` values.

    Measured with ``benchmarks/bench_crf.py`` on 2-D and 3-D images (about
    ``(d + 1)`` vertices per point in the worst case).
    """
    d = int(n_features)
    entries = int(n_points) * (d + 1)
    # during construction: elevated/rem0/rank (N, d+1) float64 and int64,
    # keys and their unique inverse (N (d+1)) int64, the splat matrix and its
    # transpose (data float32 + indices int32 each), blur neighbour tables
    build = n_points * (d + 1) * 8 * 4 + entries * (8 + 8 + 8) + 2 * entries * 8
    values = 4 * entries * max(n_values, 1) * 4
    return int(build + values)


class PermutohedralLattice:
    """A permutohedral lattice built over ``features``; filters any values on them.

    Parameters
    ----------
    features : (N, d) ndarray of float
        One feature vector per point, already divided by the kernel widths,
        so that the kernel is ``exp(-||f_i - f_j||^2 / 2)``.

    Attributes
    ----------
    n_points : int
    n_features : int
        ``d``.
    n_vertices : int
        Lattice vertices in use (``M``).
    """

    def __init__(self, features: np.ndarray) -> None:
        from scipy import sparse

        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2:
            raise ValueError(f"features must be (N, d), got shape {features.shape}")
        n, d = features.shape
        self.n_points = n
        self.n_features = d
        d1 = d + 1

        # -- embed: elevate onto the hyperplane sum(x) = 0 (Adams et al. p. 5)
        inv_std = np.sqrt(2.0 / 3.0) * d1
        scale = inv_std / np.sqrt((np.arange(d) + 2.0) * (np.arange(d) + 1.0))
        cf = features * scale
        # suffix[:, j] = sum_{k >= j} cf[:, k], with suffix[:, d] = 0
        suffix = np.zeros((n, d1))
        suffix[:, :d] = np.cumsum(cf[:, ::-1], axis=1)[:, ::-1]
        elevated = suffix.copy()
        elevated[:, 1:] -= np.arange(1, d1) * cf
        del suffix, cf

        # -- the nearest remainder-0 lattice point, and the simplex around it
        down = np.rint(elevated / d1)
        rem0 = (down * d1).astype(np.int64)
        total = down.sum(axis=1).astype(np.int64)
        del down
        diff = elevated - rem0
        # rank[i] = position of coordinate i when sorted by decreasing diff
        # (ties: the earlier coordinate first, as in the reference code)
        order = np.argsort(-diff, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(d1)[np.newaxis], axis=1)
        del order
        rank += total[:, np.newaxis]
        low = rank < 0
        high = rank > d
        rank[low] += d1
        rem0[low] += d1
        rank[high] -= d1
        rem0[high] -= d1
        del low, high

        # -- barycentric weights (Adams et al. p. 10)
        v = (elevated - rem0) / d1
        del elevated
        bary = np.zeros((n, d1 + 1))
        np.put_along_axis(bary, d - rank, v, axis=1)
        minus = np.zeros((n, d1 + 1))
        np.put_along_axis(minus, d - rank + 1, v, axis=1)
        bary -= minus
        del minus, v
        bary[:, 0] += 1.0 + bary[:, d1]
        bary = bary[:, :d1]

        # -- the d + 1 vertices of each point's simplex; a vertex is stored by
        # its first d coordinates (the last follows from sum = 0)
        rank_d = rank[:, :d]
        rem_d = rem0[:, :d]
        del rank, rem0
        keys = np.empty((n, d1, d), dtype=np.int64)
        for r in range(d1):
            keys[:, r, :] = rem_d + r - d1 * (rank_d > d - r)
        del rank_d, rem_d
        keys = keys.reshape(n * d1, d)

        # pack into one int64 per vertex (mixed radix), with room for the blur
        # neighbours, which step by up to d + 1 along any coordinate
        lo = keys.min(axis=0) - d1 - 1
        span = keys.max(axis=0) - lo + d1 + 2
        if np.prod(span.astype(np.float64)) < 2.0**62 and not _FORCE_ROW_KEYS:
            radix = np.concatenate([np.cumprod(span[::-1])[::-1][1:], [1]]).astype(np.int64)
            packed = (keys - lo) @ radix
            unique_keys, inverse = np.unique(packed, return_inverse=True)
            del packed
            self._pack = (lo, radix)
            vertex_keys = None
        else:  # too many distinct coordinates for one int64: compare whole rows
            vertex_keys, inverse = np.unique(keys, axis=0, return_inverse=True)
            unique_keys = None
            self._pack = None
        inverse = inverse.reshape(-1)
        m = int(unique_keys.size if unique_keys is not None else vertex_keys.shape[0])
        self.n_vertices = m

        # -- splat/slice matrix: row i holds point i's barycentric weights
        indptr = np.arange(0, n * d1 + 1, d1, dtype=np.int64)
        self._slice = sparse.csr_matrix(
            (bary.reshape(-1).astype(np.float32), inverse.astype(np.int32 if m < 2**31 else np.int64), indptr),
            shape=(n, m),
        )
        self._splat = self._slice.T.tocsr()
        del bary

        # -- blur neighbours: along direction j the neighbours of key k are
        # k + 1 (every coordinate) with coordinate j at k_j - d, and the opposite
        if vertex_keys is None:
            lo, radix = self._pack
            vertex_keys = np.empty((m, d), dtype=np.int64)
            rest = unique_keys.copy()
            for c in range(d):
                vertex_keys[:, c], rest = np.divmod(rest, radix[c])
            vertex_keys += lo
        self._neighbours = []
        for j in range(d1):
            step = np.ones(d, dtype=np.int64)
            if j < d:
                step[j] = -d
            n1 = self._find(vertex_keys + step, unique_keys, vertex_keys)
            n2 = self._find(vertex_keys - step, unique_keys, vertex_keys)
            self._neighbours.append((n1, n2))
        # the scale that makes a lone point's weight about 1 (reference code)
        self._alpha = 1.0 / (1.0 + 2.0 ** (-d))

    def _find(self, keys: np.ndarray, unique_keys: Optional[np.ndarray], vertex_keys: np.ndarray) -> np.ndarray:
        """Row of each key among the lattice's vertices, or ``M`` if absent."""
        m = self.n_vertices
        if unique_keys is not None:
            lo, radix = self._pack
            packed = (keys - lo) @ radix
            pos = np.searchsorted(unique_keys, packed)
            pos_clipped = np.minimum(pos, m - 1)
            found = unique_keys[pos_clipped] == packed
        else:
            # rows compared field by field (numeric, lexicographic order)
            table = _as_records(vertex_keys)
            query = _as_records(keys)
            order = np.argsort(table, kind="stable")
            sorted_table = table[order]
            pos = np.searchsorted(sorted_table, query)
            pos_clipped = np.minimum(pos, m - 1)
            found = sorted_table[pos_clipped] == query
            pos_clipped = order[pos_clipped]
        return np.where(found, pos_clipped, m).astype(np.int64)

    def filter(self, values: np.ndarray) -> np.ndarray:
        """Gaussian-filter ``values`` (N,) or (N, C); returns float32 of the same shape."""
        values = np.asarray(values, dtype=np.float32)
        flat = values.reshape(self.n_points, -1)
        lattice = np.zeros((self.n_vertices + 1, flat.shape[1]), dtype=np.float32)
        lattice[:-1] = self._splat @ flat
        scratch = np.empty_like(lattice)
        for n1, n2 in self._neighbours:
            np.add(lattice[n1], lattice[n2], out=scratch[:-1])
            scratch[:-1] *= 0.5
            scratch[:-1] += lattice[:-1]
            scratch[-1] = 0.0
            lattice, scratch = scratch, lattice
        out = self._slice @ lattice[:-1]
        out *= self._alpha
        return out.reshape(values.shape)
