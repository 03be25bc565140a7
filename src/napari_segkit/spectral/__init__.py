"""Graph-spectral segmentation: normalized cut and spectral clustering.

Both build the same affinity graph (:mod:`.affinity`: pixels for small
images, a region adjacency graph over superpixels otherwise), take the
smallest eigenvectors of its normalized Laplacian (:mod:`.laplacian`, with
deterministic start vectors), and either cut recursively or k-way
(:mod:`.normalized_cut`) or cluster the embedding with k-means
(:mod:`.spectral_clustering`).  scikit-learn is imported only when
:func:`spectral_clustering` runs.
"""

from .normalized_cut import normalized_cut
from .spectral_clustering import spectral_clustering

__all__ = ["normalized_cut", "spectral_clustering"]
