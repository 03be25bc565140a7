"""The normalized Laplacian of an affinity graph and its smallest eigenvectors.

For weights ``W`` (no diagonal), self-loop weights ``s`` and degrees
``d = W 1 + s``, the symmetric normalized Laplacian is
``L = I - D^-1/2 (W + diag(s)) D^-1/2``; its eigenvectors ``v`` give the
generalized eigenvectors ``y = D^-1/2 v`` of ``(D - W - diag(s)) y = l D y``
used by Shi and Malik's normalized cut.

Every solver path is deterministic: the same graph and the same ``rng`` give
the same eigenvectors, bit for bit on one machine, and each eigenvector's sign
is fixed (its largest-magnitude entry, the first on ties, is positive).

* ``"dense"`` (default up to ``DENSE_MAX_NODES`` nodes): LAPACK ``eigh`` on the
  dense matrix; no start vector.
* ``"arpack"``: ``scipy.sparse.linalg.eigsh`` in shift-invert mode around
  ``-1e-6`` (a sparse LU factorization of ``L + 1e-6 I``), started from a
  vector drawn from ``rng``.
* ``"amg"``: ``scipy.sparse.linalg.lobpcg`` with a pyamg smoothed-aggregation
  preconditioner, started from vectors drawn from ``rng`` (only when pyamg is
  installed; it is optional).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy import sparse

from .._errors import InputError
from .._progress import check_cancelled
from .._threads import blas_threads

__all__ = ["DENSE_MAX_NODES", "SOLVERS", "normalized_adjacency", "smallest_eigenvectors"]


DENSE_MAX_NODES = 300
SOLVERS = ("auto", "dense", "arpack", "amg")
_SHIFT = 1e-6


def normalized_adjacency(weights: sparse.csr_array, self_weight: np.ndarray) -> Tuple[sparse.csr_array, np.ndarray]:
    """``D^-1/2 (W + diag(s)) D^-1/2`` and ``D^-1/2`` (as a vector)."""
    degree = np.asarray(weights.sum(axis=1)).ravel() + self_weight
    # a node without any weight (isolated) gets a tiny degree: its row is 0
    floor = 1e-300 if not np.any(degree > 0) else 1e-12 * float(degree[degree > 0].min())
    inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, floor))
    scaled = sparse.diags_array(inv_sqrt) @ (weights + sparse.diags_array(self_weight)) @ sparse.diags_array(inv_sqrt)
    return sparse.csr_array(scaled), inv_sqrt


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    index = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[index, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return vectors * signs


def _resolve_solver(solver: str, n: int) -> str:
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {', '.join(map(repr, SOLVERS))}; got {solver!r}")
    if solver == "amg":
        try:
            import pyamg  # noqa: F401
        except ImportError:
            raise InputError("solver='amg' needs the optional package pyamg, which is not installed") from None
    if solver == "auto":
        return "dense" if n <= DENSE_MAX_NODES else "arpack"
    return solver


def smallest_eigenvectors(
    weights: sparse.csr_array,
    self_weight: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator,
    solver: str = "auto",
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` smallest eigenpairs of the normalized Laplacian.

    Parameters
    ----------
    weights : (n, n) sparse array
        Symmetric affinities, zero diagonal.
    self_weight : (n,) ndarray
        Self-loop weights.
    k : int
        Number of eigenpairs, at most n.
    rng : numpy.random.Generator
        Draws the start vector of the iterative solvers.
    solver : {"auto", "dense", "arpack", "amg"}

    Returns
    -------
    values : (k,) ndarray
        Eigenvalues of ``L`` in increasing order, in [0, 2].
    vectors : (n, k) ndarray
        Orthonormal eigenvectors ``v`` of ``L``.
    inv_sqrt_degree : (n,) ndarray
        ``D^-1/2``, so that ``y = inv_sqrt_degree[:, None] * vectors``.
    """
    n = weights.shape[0]
    k = int(min(k, n))
    adjacency, inv_sqrt = normalized_adjacency(weights, self_weight)
    method = _resolve_solver(solver, n)
    if method == "arpack" and k >= n - 1:
        method = "dense"  # ARPACK needs k < n - 1
    if method == "dense":
        from scipy.linalg import eigh

        dense = adjacency.toarray()
        with blas_threads(1):  # small problems: one thread is faster and leaves the other cores free
            mu, vectors = eigh(dense, subset_by_index=[n - k, n - 1], driver="evr")
    elif method == "arpack":
        from scipy.sparse.linalg import eigsh

        laplacian = sparse.identity(n, format="csc") - adjacency.tocsc()
        v0 = 1.0 / inv_sqrt * (1.0 + 0.5 * rng.random(n))
        lam, vectors = eigsh(
            laplacian, k=k, sigma=-_SHIFT, which="LM", v0=v0, tol=1e-8, ncv=min(n, max(2 * k + 1, 20)),
            OPinv=_checked_inverse(laplacian),
        )
        mu = 1.0 - lam
    else:
        mu, vectors = _amg_eigenvectors(adjacency, inv_sqrt, k, rng)
    order = np.argsort(-mu, kind="stable")
    values = np.clip(1.0 - mu[order], 0.0, 2.0)
    return values, _fix_signs(vectors[:, order]), inv_sqrt


def _checked_operator(operator):
    """``operator`` as a LinearOperator that checks for a cancel before each product."""
    from scipy.sparse.linalg import LinearOperator

    def matvec(x):
        check_cancelled()
        return operator @ x

    def matmat(x):
        check_cancelled()
        return operator @ x

    return LinearOperator(operator.shape, matvec=matvec, matmat=matmat, dtype=np.float64)


def _checked_inverse(laplacian):
    """``(L + shift I)^-1`` for shift-invert ARPACK (as eigsh builds it), checking for a cancel per solve."""
    from scipy.sparse.linalg import LinearOperator, splu

    n = laplacian.shape[0]
    lu = splu(sparse.csc_matrix(laplacian + _SHIFT * sparse.identity(n, format="csc")))

    def solve(x):
        check_cancelled()
        return lu.solve(np.asarray(x, dtype=np.float64))

    return LinearOperator((n, n), matvec=solve, dtype=np.float64)


def _amg_eigenvectors(adjacency, inv_sqrt, k, rng):
    """lobpcg on ``L`` preconditioned by pyamg (as scikit-learn's ``amg`` solver)."""
    import pyamg
    from scipy.sparse.linalg import lobpcg

    n = adjacency.shape[0]
    laplacian = sparse.csr_array(sparse.identity(n, format="csr") - adjacency)
    shifted = sparse.csr_matrix(laplacian + _SHIFT * sparse.identity(n, format="csr"))
    ml = pyamg.smoothed_aggregation_solver(shifted)
    preconditioner = _checked_operator(ml.aspreconditioner())
    start = rng.standard_normal((n, k + 1))
    start[:, 0] = 1.0 / inv_sqrt
    lam, vectors = lobpcg(laplacian, start, M=preconditioner, tol=1e-8, largest=False, maxiter=2000)
    lam, vectors = lam[:k], vectors[:, :k]
    return 1.0 - lam, vectors
