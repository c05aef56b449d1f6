"""Paint the built-in style images procedurally (numpy only), so the repository ships no third-party art.

Each image is a 256x256 sRGB PNG in presets/styles/. They are matched through VGG Gram matrices, so they
need bold colour and a clear, repeated texture at several scales, not noise. Deterministic: the same
code always writes the same pixels (fixed seeds, no time or platform dependence in the maths).

    python tools/make_styles.py [--out presets/styles] [--size 256]
"""

from __future__ import annotations

import argparse
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

Image = np.ndarray  # (H, W, 3) float in [0, 1], display-referred sRGB


# ---------------------------------------------------------------- small helpers


def _hex(colours: str) -> np.ndarray:
    """'#rrggbb #rrggbb ...' -> (n, 3) floats; palettes read like a painter's list."""
    return np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours.split()])


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1] with about `cells` features across: bicubic-ish blend of a random grid."""
    grid = rng.random((cells + 3, cells + 3))
    t = np.linspace(0, cells, size, endpoint=False)
    i = t.astype(int)
    f = t - i
    f = f * f * (3 - 2 * f)
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


def _fractal(rng: np.random.Generator, size: int, base: int, octaves: int = 4) -> np.ndarray:
    out = np.zeros((size, size))
    amp, total = 1.0, 0.0
    for o in range(octaves):
        out += amp * _smooth_noise(rng, size, base * 2**o)
        total += amp
        amp *= 0.5
    return out / total


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample img at float pixel positions with wrap-around (the textures tile)."""
    h, w = img.shape[:2]
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    fx = (x - x0)[..., None] if img.ndim == 3 else x - x0
    fy = (y - y0)[..., None] if img.ndim == 3 else y - y0
    x0, y0 = x0 % w, y0 % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with wrap-around, via FFT (numpy has no convolution filter)."""
    h, w = img.shape[:2]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    if img.ndim == 3:
        kernel = kernel[..., None]
    return np.real(np.fft.ifft2(np.fft.fft2(img, axes=(0, 1)) * kernel, axes=(0, 1)))


# ---------------------------------------------------------------- the paintings


def swirls(size: int) -> Image:
    """Van-Gogh-like night sky: short impasto strokes that follow swirling vortices.

    Strokes are a line integral convolution of chunky colour dabs along a flow field built from a few
    vortices, so colour streaks curl around centres; a second, finer LIC adds bristle grooves.
    """
    rng = np.random.default_rng(1889)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    # Flow direction: a gentle wind plus vortices (tangential flow around each centre).
    vx = np.full((size, size), 1.0)
    vy = 0.35 * np.sin(2 * np.pi * xx / size * 2)
    for cx, cy, strength, radius in (
        (0.30, 0.32, 2.6, 0.20),
        (0.72, 0.62, -2.2, 0.18),
        (0.78, 0.18, 1.8, 0.11),
        (0.22, 0.80, -1.6, 0.13),
    ):
        dx, dy = xx - cx * size, yy - cy * size
        r2 = dx * dx + dy * dy
        fall = strength * np.exp(-r2 / (2 * (radius * size) ** 2))
        norm = np.sqrt(r2) + 1e-6
        vx += -dy / norm * fall
        vy += dx / norm * fall
    speed = np.sqrt(vx * vx + vy * vy) + 1e-9
    ux, uy = vx / speed, vy / speed

    # Colour dabs: palette index from large-scale bands, jittered per 4 px dab.
    palette = _hex("#0b1d4f #173a8c #2f63c9 #5b8fe0 #9cc7f0 #f4e7a1 #f2c230 #e0801c #1c2b2e")
    band = 0.55 * _fractal(rng, size, 3, 3) + 0.45 * (0.5 + 0.5 * np.sin(np.hypot(xx - 77, yy - 82) / 9))
    dab = np.kron(rng.random((size // 4, size // 4)), np.ones((4, 4)))
    level = np.clip(band * 0.9 + 0.45 * (dab - 0.5), 0, 0.999)
    index = (level * (len(palette) - 1)).astype(int)
    # Warm stars: yellow/orange clusters near vortex centres and a moon.
    stars = np.zeros((size, size), bool)
    for cx, cy, r in ((0.30, 0.32, 0.06), (0.72, 0.62, 0.05), (0.86, 0.12, 0.08), (0.5, 0.85, 0.04)):
        stars |= np.hypot(xx - cx * size, yy - cy * size) < r * size
    index = np.where(stars & (dab > 0.25), 5 + (dab * 3).astype(int) % 3, index)
    colours = palette[index]

    def lic(image: np.ndarray, length: int, step: float = 1.0) -> np.ndarray:
        total = image.copy()
        for direction in (1.0, -1.0):
            px, py = xx.copy(), yy.copy()
            for _ in range(length):
                dx = _bilinear(ux, px, py)
                dy = _bilinear(uy, px, py)
                px, py = px + direction * step * dx, py + direction * step * dy
                total = total + _bilinear(image, px, py)
        return total / (2 * length + 1)

    strokes = lic(colours, 9)
    grooves = lic(rng.random((size, size)), 5)
    grooves = (grooves - grooves.mean()) / (grooves.std() + 1e-9)
    shade = 1 + 0.16 * grooves[..., None]
    # Dark outlines between strokes of different colour give the painted, high-contrast look.
    edge = np.abs(strokes - _blur(strokes, 1.5)).sum(axis=2, keepdims=True)
    out = strokes * shade * (1 - np.clip(edge * 2.5, 0, 0.45))
    return np.clip((out - 0.5) * 1.15 + 0.5, 0, 1)


def mosaic(size: int) -> Image:
    """Stained glass: Voronoi cells of jewel colours, mottled glass, thick dark lead between cells."""
    rng = np.random.default_rng(1248)
    n = 110
    seeds = rng.random((n, 2)) * size
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    # Distances on a torus so the texture tiles and edge cells are not stretched.
    dx = np.abs(xx[..., None] - seeds[:, 0])
    dy = np.abs(yy[..., None] - seeds[:, 1])
    dx = np.minimum(dx, size - dx)
    dy = np.minimum(dy, size - dy)
    dist = np.sqrt(dx * dx + dy * dy)
    order = np.argsort(dist, axis=2)
    nearest = order[..., 0]
    d1 = np.take_along_axis(dist, order[..., :1], axis=2)[..., 0]
    d2 = np.take_along_axis(dist, order[..., 1:2], axis=2)[..., 0]

    palette = _hex("#a8141e #d1341f #1d3f9c #2f6fd0 #128a4a #5cb83a #f0b41c #f7d95a #6a2a8f #e86f1a #1a9ca3")
    cell_colour = palette[rng.integers(0, len(palette), n)]
    cell_colour *= rng.uniform(0.8, 1.1, (n, 1))
    base = cell_colour[nearest]
    # Light through glass: brighter at the cell centre, darker towards the lead, plus mottling.
    glow = 1.15 - 0.55 * np.clip(d1 / (d2 + 1e-6), 0, 1) ** 2
    mottle = 0.8 + 0.4 * _fractal(rng, size, 8, 3)
    streak = 0.9 + 0.2 * np.sin((xx * 0.7 + yy * 0.3) / 2.2 + 6 * _smooth_noise(rng, size, 5))
    glass = base * (glow * mottle * streak)[..., None]
    # Lead came: distance to the cell border is (d2 - d1) / 2; soft-edged dark band ~2.5 px wide.
    border = (d2 - d1) / 2
    lead = np.clip((border - 1.3) / 1.0, 0, 1)[..., None]
    came = np.array([0.06, 0.05, 0.05]) + 0.08 * _fractal(rng, size, 16, 2)[..., None]
    return np.clip(glass * lead + came * (1 - lead), 0, 1)


def ink(size: int) -> Image:
    """Ink-wash landscape: layered mountain washes with wet edges, pen outlines, cross-hatched shadow
    sides, dry-brush clouds on warm paper, and a vermilion sun as the one saturated colour."""
    rng = np.random.default_rng(1760)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    grain = 0.93 + 0.07 * _fractal(rng, size, 32, 2)
    img = _hex("#f2e6cc")[0] * grain[..., None]

    def ridge(base: float, rough: float, cells: int) -> np.ndarray:
        """A 1D ridge line (pixel row per column) from a row of 2D value noise."""
        line = _fractal(rng, size, cells, 4)[size // 2]
        return (base + rough * (line - 0.5) * 2) * size

    def paint(alpha: np.ndarray, colour: str) -> None:
        nonlocal img
        a = np.clip(alpha, 0, 1)[..., None]
        img = img * (1 - a) + _hex(colour)[0] * a

    # Sun and dry-brush clouds behind the mountains.
    paint(np.clip(18.5 - np.hypot(xx - 0.72 * size, yy - 0.2 * size), 0, 1) * 0.9, "#d2401e")
    for cy, x0, x1 in ((0.12, 0.05, 0.55), (0.27, 0.35, 0.95), (0.33, 0.0, 0.3)):
        band = np.exp(-(((yy - cy * size) / 4.0) ** 2)) * np.clip(
            np.minimum(xx - x0 * size, x1 * size - xx) / 12, 0, 1
        )
        bristles = (rng.random(size)[:, None] > 0.35) * (0.5 + _smooth_noise(rng, size, 12))
        paint(0.6 * band * bristles, "#4a5566")

    # Mountains from far (pale indigo) to near (dark sepia-black).
    layers = (
        (0.38, 0.10, 3, "#8d98a8", 0.55),
        (0.52, 0.12, 4, "#56647a", 0.7),
        (0.68, 0.10, 5, "#3a3128", 0.8),
        (0.84, 0.07, 6, "#14100d", 0.9),
    )
    wobble = 2.0 * (_smooth_noise(rng, size, 7) - 0.5)
    for k, (base, rough, cells, colour, strength) in enumerate(layers):
        top = ridge(base, rough, cells)[None, :]
        depth = yy - top
        inside = np.clip(depth + 0.5, 0, 1)
        fade = np.exp(-np.clip(depth, 0, None) / (18 + 6 * k))
        wet_rim = np.exp(-(((depth - 2.0) / 2.0) ** 2))
        mottle = 0.8 + 0.4 * _fractal(rng, size, 10, 3)
        paint(inside * strength * (0.35 + 0.65 * fade) * mottle + 0.25 * wet_rim * inside, colour)
        # Shadow side of each slope and the deep parts: hatch, then cross-hatch where darker.
        slope = np.gradient(top[0])[None, :] * np.ones((size, 1))
        shade = (0.6 * np.clip(slope / 1.0, -1, 1) + 0.5 * fade + 0.25 * (mottle - 1)) * inside
        for angle, gate in ((0.9, 0.3), (-0.6, 0.55), (0.0, 0.8)):
            u = xx * np.cos(angle) + yy * np.sin(angle) + 3 * wobble
            line = np.clip(1.5 - np.abs(((u / 4.5) % 1.0) - 0.5) * 2 * 4.5, 0, 1)
            paint(0.85 * line * np.clip((shade - gate) / 0.05, 0, 1), "#0f0c0a")
        # Pen outline along the ridge, thicker on the near mountains.
        width = 0.6 + 0.5 * k
        paint(np.clip(width - np.abs(depth), 0, 1), "#0f0c0a")

    # Calligraphic reeds in the foreground: tapered dark strokes.
    for x_base, lean, height in ((0.12, 0.25, 0.35), (0.17, -0.1, 0.3), (0.9, -0.3, 0.28)):
        t = np.clip((size - yy) / (height * size), 0, 1)
        centre = x_base * size + lean * (size - yy) * t
        width = 3.0 * (1 - t) + 0.3
        paint(np.clip(width - np.abs(xx - centre), 0, 1) * (t < 1), "#0d0b0a")

    # Seal stamp: a hot red square with a paper-coloured frame and worn texture.
    sx, sy = np.abs(xx - 0.9 * size), np.abs(yy - 0.1 * size)
    worn = np.clip(0.6 + _smooth_noise(rng, size, 64), 0, 1)
    paint(
        ((np.maximum(sx, sy) < 11) & ~((np.maximum(sx, sy) > 7.5) & (np.maximum(sx, sy) < 9))) * worn,
        "#b8261a",
    )
    return np.clip(img, 0, 1)


STYLES: dict[str, Callable[[int], Image]] = {"swirls": swirls, "mosaic": mosaic, "ink": ink}


# ---------------------------------------------------------------- PNG writer (no imaging library needed)


def write_png(path: Path, image: Image) -> None:
    """8-bit RGB PNG with a fixed zlib level, so reruns write byte-identical files."""
    data = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    h, w, _ = data.shape
    raw = b"".join(b"\x00" + data[y].tobytes() for y in range(h))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return len(payload).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "presets" / "styles"
    )
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, paint in STYLES.items():
        path = args.out / f"{name}.png"
        write_png(path, paint(args.size))
        print(f"{path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
