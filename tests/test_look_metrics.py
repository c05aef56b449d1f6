"""High-frequency energy and edge correlation (ops/look_metrics.py) on images with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vst_node.ops.look_metrics import edge_correlation, high_frequency_energy, luminance


def _noise(seed: int, shape=(48, 64, 3)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_luminance_uses_rec709_weights() -> None:
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[..., 1] = 1.0
    assert np.allclose(luminance(rgb), 0.7152)
    with pytest.raises(ValueError):
        luminance(np.zeros((4, 4), np.float32))


def test_high_frequency_energy_is_zero_on_flat_and_falls_with_blur() -> None:
    assert high_frequency_energy(np.full((32, 32, 3), 0.4, np.float32)) == 0.0
    noisy = _noise(0)
    blurred = cv2.GaussianBlur(noisy, (0, 0), 1.5)
    assert high_frequency_energy(noisy) > 3 * high_frequency_energy(blurred) > 0


def test_edge_correlation_is_one_for_the_same_outlines_and_low_for_unrelated_ones() -> None:
    picture = cv2.GaussianBlur(_noise(1), (0, 0), 2.0)
    assert edge_correlation(picture, picture) == pytest.approx(1.0)
    brighter = np.clip(picture * 0.6 + 0.3, 0, 1)  # the same outlines in other tones
    assert edge_correlation(brighter, picture) > 0.99
    unrelated = cv2.GaussianBlur(_noise(2), (0, 0), 2.0)
    assert abs(edge_correlation(unrelated, picture)) < 0.2
    assert edge_correlation(np.full_like(picture, 0.5), picture) == 0.0  # no edges at all
    with pytest.raises(ValueError, match="sizes differ"):
        edge_correlation(picture[:-1], picture)
