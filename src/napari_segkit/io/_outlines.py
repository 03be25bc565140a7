"""Outlines of label objects as polygons along pixel edges.

A pixel ``(row, col)`` covers the square ``[row, row + 1] x [col, col + 1]``;
the polygons returned here run along those square edges, so filling a polygon
(every pixel whose centre lies inside) gives back exactly the pixels it was
traced from.  This is how ImageJ's wand traces ROIs, and what QuPath and COCO
readers expect of pixel coordinates (origin at the top-left corner of the
image).
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Tuple

import numpy as np

__all__ = ["object_outlines", "trace_mask", "ring_area"]

#: a ring: (K, 2) float array of (x, y) corner coordinates, not closed (last != first)
Ring = np.ndarray


def _boundary_edges(mask: np.ndarray) -> np.ndarray:
    """Directed pixel-edge segments with the object on the right of travel.

    Returns an (E, 4) int array ``(y0, x0, y1, x1)``.  With y pointing down (image
    convention) outer boundaries run clockwise on screen, holes anticlockwise.
    """
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1]
    parts = []
    # (neighbour offset, edge start, edge end) relative to the pixel's top-left corner
    for (dy, dx), (sy, sx), (ey, ex) in (
        ((-1, 0), (0, 0), (0, 1)),  # top edge, heading +x
        ((0, 1), (0, 1), (1, 1)),  # right edge, heading +y
        ((1, 0), (1, 1), (1, 0)),  # bottom edge, heading -x
        ((0, -1), (1, 0), (0, 0)),  # left edge, heading -y
    ):
        neighbour = padded[1 + dy: padded.shape[0] - 1 + dy, 1 + dx: padded.shape[1] - 1 + dx]
        rows, cols = np.nonzero(inner & ~neighbour)
        parts.append(np.stack([rows + sy, cols + sx, rows + ey, cols + ex], axis=1))
    return np.concatenate(parts, axis=0)


def _cross(d0: Tuple[int, int], d1: Tuple[int, int]) -> int:
    # z of d0 x d1 in (x, y) with y down: > 0 is a right (clockwise) turn on screen
    return d0[1] * d1[0] - d0[0] * d1[1]


def trace_mask(mask: np.ndarray, *, connectivity: int = 1) -> List[Ring]:
    """Every closed outline of a 2-D boolean mask, along pixel edges.

    Parameters
    ----------
    mask : (M, N) bool array
    connectivity : {1, 2}
        1: every ring is simple (passes each corner once), as GeoJSON/JTS
        require; where an outline touches itself at a corner it is split
        there into an outer ring and a hole, or two outer rings.  2: the
        outline passes through corners where pixels touch diagonally, so a
        diagonally connected object is one ring (which may touch itself at
        that corner; fine for ImageJ's polygon filling).

    Returns
    -------
    list of (K, 2) float arrays
        Rings of ``(x, y)`` corner coordinates with only the corner vertices
        kept, not closed.  Outer boundaries have positive :func:`ring_area`,
        holes negative.
    """
    mask = np.asarray(mask, dtype=bool)
    edges = _boundary_edges(mask)
    if not len(edges):
        return []
    outgoing: Dict[Tuple[int, int], List[int]] = {}
    for index, (y0, x0, _, _) in enumerate(edges.tolist()):
        outgoing.setdefault((y0, x0), []).append(index)
    used = np.zeros(len(edges), dtype=bool)
    rings: List[Ring] = []
    listed = edges.tolist()
    for start in range(len(edges)):
        if used[start]:
            continue
        points: List[Tuple[int, int]] = []
        current = start
        while not used[current]:
            used[current] = True
            y0, x0, y1, x1 = listed[current]
            points.append((y0, x0))
            candidates = [i for i in outgoing[(y1, x1)] if not used[i]]
            if not candidates:
                break
            if len(candidates) > 1:  # a saddle: two pixels meet at this corner only
                heading = (y1 - y0, x1 - x0)
                turns = {}
                for i in candidates:
                    ny0, nx0, ny1, nx1 = listed[i]
                    turns[i] = _cross(heading, (ny1 - ny0, nx1 - nx0))
                # a right turn stays on the same pixel, a left turn crosses the corner
                pick = max if connectivity == 1 else min
                current = pick(candidates, key=lambda i: turns[i])
            else:
                current = candidates[0]
        pieces = _simple_pieces(points) if connectivity == 1 else [points]
        rings.extend(_corners(np.asarray(piece, dtype=float)[:, ::-1]) for piece in pieces)
    return rings


def _simple_pieces(points: List[Tuple[int, int]]) -> List[List[Tuple[int, int]]]:
    """Split a ring that passes a corner twice into rings that pass each corner once.

    Where an outline touches itself at a corner (a hole meeting the boundary,
    or two parts meeting diagonally) the pieces are an outer ring and a hole,
    or two outer rings, touching at that point: valid polygons for GeoJSON/JTS.
    """
    pieces: List[List[Tuple[int, int]]] = []
    stack: List[Tuple[int, int]] = []
    seen: Dict[Tuple[int, int], int] = {}
    for point in points:
        if point in seen:
            start = seen[point]
            loop = stack[start:]
            del stack[start + 1:]
            for gone in loop[1:]:
                del seen[gone]
            pieces.append(loop)
        else:
            seen[point] = len(stack)
            stack.append(point)
    pieces.append(stack)
    return [piece for piece in pieces if len(piece) >= 4]


def _corners(ring: np.ndarray) -> np.ndarray:
    """Drop vertices where the outline goes straight on."""
    before = ring - np.roll(ring, 1, axis=0)
    after = np.roll(ring, -1, axis=0) - ring
    turn = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
    return ring[turn != 0]


def ring_area(ring: Ring) -> float:
    """Shoelace area of a ring of (x, y): > 0 for outer boundaries (y down), < 0 for holes."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def object_outlines(
    plane: np.ndarray, *, connectivity: int = 1
) -> Iterator[Tuple[int, List[Tuple[Ring, List[Ring]]]]]:
    """For each label of a 2-D label image: its polygons (outer ring, holes).

    Yields ``(label, [(outer, [hole, ...]), ...])`` in increasing label order,
    coordinates in the plane's pixel frame (x = column, y = row).  Each
    outer ring comes with the holes that lie inside it.
    """
    from scipy import ndimage

    plane = np.asarray(plane)
    slices = ndimage.find_objects(plane.astype(np.intp, copy=False))
    for index, box in enumerate(slices):
        if box is None:
            continue
        label = index + 1
        mask = plane[box] == label
        offset = np.array([box[1].start, box[0].start], dtype=float)
        rings = [ring + offset for ring in trace_mask(mask, connectivity=connectivity)]
        outers = [ring for ring in rings if ring_area(ring) > 0]
        holes = [ring for ring in rings if ring_area(ring) < 0]
        outers.sort(key=ring_area, reverse=True)
        polygons: List[Tuple[Ring, List[Ring]]] = [(outer, []) for outer in outers]
        for hole in holes:
            owner = _owner(hole, outers)
            polygons[owner][1].append(hole)
        yield label, polygons


def _inside(point: Tuple[float, float], ring: Ring) -> bool:
    """Even-odd test of ``(x, y)`` against a ring (``point`` never lies on an edge here)."""
    x, y = point
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return bool(np.count_nonzero(crosses & (at > x)) % 2)


def _owner(hole: Ring, outers: List[Ring]) -> int:
    """Index of the smallest outer ring around ``hole`` (``outers`` sorted largest first)."""
    if len(outers) == 1:
        return 0
    # the centre of the object pixel on the right of the hole's first edge
    (xa, ya), (xb, yb) = hole[0], hole[1]
    step = np.sign([xb - xa, yb - ya])
    probe = (xa + 0.5 * step[0] - 0.5 * step[1], ya + 0.5 * step[1] + 0.5 * step[0])
    for index in range(len(outers) - 1, -1, -1):
        if _inside(probe, outers[index]):
            return index
    return 0  # unreachable for a hole traced from the same mask
