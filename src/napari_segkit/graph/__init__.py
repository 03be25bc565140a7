"""Max-flow plumbing shared by graph cut and GrabCut.

- :mod:`.neighbourhood`: neighbour offsets for a connectivity, physical distances.
- :mod:`.pairwise`: contrast-sensitive (Boykov-Jolly) neighbour weights.
- :mod:`.unary`: data terms learned from seeds (colour/intensity histograms).
- :mod:`.memory`: the size of a graph before it is built, and the guard.
- :mod:`.solvers`: binary max-flow and alpha-expansion on PyMaxflow grids.
"""
