"""What an artist sees at a glance, as numbers: how busy a frame is and whether its subject still reads.

Both work on display-encoded RGB in [0, 1] (H, W, 3), the network's encoding, through the luminance
an eye would judge: Rec. 709 weights on the encoded values.
"""

from __future__ import annotations

import cv2
import numpy as np

REC709 = np.array([0.2126, 0.7152, 0.0722], np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma of (H, W, 3) RGB."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected (H, W, 3) RGB, got shape {rgb.shape}")
    return np.clip(rgb[..., :3], 0.0, 1.0).astype(np.float32) @ REC709


def high_frequency_energy(rgb: np.ndarray) -> float:
    """Mean absolute Laplacian of the luminance: how much fine detail and noise a frame carries.

    A first frame that pops reads higher (or lower) than the frames after it."""
    return float(np.abs(cv2.Laplacian(luminance(rgb), cv2.CV_32F, ksize=1)).mean())


def edge_magnitude(gray: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gradient magnitude (Sobel) after a small Gaussian blur, so pixel noise does not count as edges."""
    if sigma > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), sigma)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def edge_correlation(stylized: np.ndarray, source: np.ndarray, sigma: float = 1.0) -> float:
    """Pearson correlation of the edge maps of a stylized frame and its source, in [-1, 1].

    Near 1 the outlines of the source are where the stylized frame has its edges (the subject reads);
    near 0 the style's own texture has replaced them. Both frames must have the same size."""
    if stylized.shape[:2] != source.shape[:2]:
        raise ValueError(f"sizes differ: {stylized.shape[:2]} vs {source.shape[:2]}")
    a = edge_magnitude(luminance(stylized), sigma).ravel()
    b = edge_magnitude(luminance(source), sigma).ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0
