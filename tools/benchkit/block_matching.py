"""Block-matching correspondences: seeds for further flow candidates of the best-candidate ceiling.

Normalised cross-correlation of small blocks on a downscaled pair finds displacements far beyond
DIS's reach (a 140 px motion is 35 px at a quarter of the size) and, unlike SIFT, still matches
in motion blur, where the low frequencies survive. The matches are kept where a block matched the
other way lands back near where it started; benchkit.oracle.candidate_warp_flows interpolates them
into dense flows. A diagnostic, not a product backend: its candidates were chosen looking at
market_5.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

MIN_TEXTURE = 2.0  # grey levels (0-255) of standard deviation: flatter blocks match anything
MIN_CORRELATION = 0.8  # normalised cross-correlation of an accepted match


def _subpixel(scores: np.ndarray, x: int, y: int) -> tuple[float, float]:
    """Offset of the peak at (x, y) from a parabola through it and its neighbours, per axis."""

    def vertex(before: float, peak: float, after: float) -> float:
        curvature = before - 2.0 * peak + after
        return 0.5 * (before - after) / curvature if curvature < 0 else 0.0

    h, w = scores.shape
    dx = vertex(scores[y, x - 1], scores[y, x], scores[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = vertex(scores[y - 1, x], scores[y, x], scores[y + 1, x]) if 0 < y < h - 1 else 0.0
    return dx, dy


def block_matches(
    src: np.ndarray, dst: np.ndarray, scale: int = 4, block: int = 16, step: int = 4, radius: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """(points in src, their matches in dst), (N, 2) full-resolution pixels, from NCC block matching
    of `block`-px blocks every `step` px within `radius` px, all at 1/`scale` of the size."""
    h, w = src.shape
    small = (max(w // scale, 1), max(h // scale, 1))
    s, d = (cv2.resize(g, small, interpolation=cv2.INTER_AREA).astype(np.float32) for g in (src, dst))
    hs, ws = s.shape
    half = block // 2
    points, targets = [], []
    for cy in range(half, hs - half, step):
        for cx in range(half, ws - half, step):
            template = s[cy - half : cy + half, cx - half : cx + half]
            if template.std() < MIN_TEXTURE:
                continue
            y0, y1 = max(0, cy - half - radius), min(hs, cy + half + radius)
            x0, x1 = max(0, cx - half - radius), min(ws, cx + half + radius)
            scores = cv2.matchTemplate(d[y0:y1, x0:x1], template, cv2.TM_CCOEFF_NORMED)
            _, best, _, (bx, by) = cv2.minMaxLoc(scores)
            if best < MIN_CORRELATION:
                continue
            dx, dy = _subpixel(scores, bx, by)
            points.append((cx, cy))
            targets.append((x0 + bx + dx + half, y0 + by + dy + half))
    return _full_size(points, scale), _full_size(targets, scale)


def _full_size(positions: list[tuple[float, float]], scale: int) -> np.ndarray:
    """(N, 2) pixel centres at 1/scale of the size, as full-size pixel positions."""
    return (np.asarray(positions, np.float32).reshape(-1, 2) + 0.5) * scale - 0.5


def mutual(
    forward: tuple[np.ndarray, np.ndarray], backward: tuple[np.ndarray, np.ndarray], tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """The forward matches whose target, carried back by the nearest backward match's displacement,
    returns within `tolerance` px of where it started."""
    (points, targets), (back_points, back_targets) = forward, backward
    if len(points) == 0 or len(back_points) == 0:
        return points[:0], targets[:0]
    _, nearest = cKDTree(back_points).query(targets)
    returned = targets + (back_targets[nearest] - back_points[nearest])
    kept = np.linalg.norm(returned - points, axis=1) < tolerance
    return points[kept], targets[kept]


def mutual_block_matches(src: np.ndarray, dst: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """src -> dst block matches at 1/scale that dst -> src matching confirms within one small pixel."""
    return mutual(block_matches(src, dst, scale), block_matches(dst, src, scale), float(scale))
