"""The built-in demo shot: a procedural scene whose optical flow and occlusions are known exactly.

Everything is evaluated analytically at continuous coordinates (sums of sinusoids and Gaussians), so
a sub-pixel pan needs no resampling and the ground truth is exact: frame t shows the background B at
p - v_bg * t and a textured ball at p - c(t). That lets tests and evaluation tools measure flow quality
and temporal consistency without third-party footage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Motion at 256 px width, in pixels per frame; scaled with the frame width so the shot looks the same.
BACKGROUND_VELOCITY = (1.37, -0.41)
OBJECT_VELOCITY = (-3.15, 1.72)
COLOUR_SPACE = "lin_rec709_scene"
# Half-width of the band around the ball's edge that counts as occluded: the 1 px antialiased rim plus
# the bilinear footprint of a sample next to it, so that warping with the ground truth is exact elsewhere.
RIM = 1.5


@dataclass
class SyntheticShot:
    frames: list[np.ndarray]  # N x (H, W, 4) float32 scene-linear Rec.709, premultiplied, alpha 1
    forward_flow: list[np.ndarray]  # N-1 x (H, W, 2) float32: pixel p of frame i is at p + w(p) in frame i+1
    occluded: list[np.ndarray]  # N-1 x (H, W) bool: pixel of frame i not (cleanly) visible in frame i+1


@dataclass(frozen=True)
class _Scene:
    """Random but fixed parameters of the scene for one seed."""

    directions: np.ndarray  # (K, 2) unit vectors of background sinusoids
    frequencies: np.ndarray  # (K,) cycles per pixel
    phases: np.ndarray  # (K,)
    amplitudes: np.ndarray  # (K,)
    tints: np.ndarray  # (K, 3) how each sinusoid shifts colour
    blob_centres: np.ndarray  # (B, 2) world positions of large colour patches
    blob_sigmas: np.ndarray  # (B,)
    blob_colours: np.ndarray  # (B, 3)
    spots: np.ndarray  # (S, 2) emissive spots on the ball, relative to its centre, in radii
    spot_gains: np.ndarray  # (S,) peak emission added to the ball
    ball_phase: float


def _scene(seed: int, width: int, height: int) -> _Scene:
    rng = np.random.default_rng(seed)
    k = 40
    angles = rng.uniform(0, np.pi, k)
    frequencies = np.exp(rng.uniform(np.log(1 / 48), np.log(1 / 6), k))
    palette = np.array(
        [[0.45, 0.22, 0.08], [0.08, 0.25, 0.30], [0.22, 0.30, 0.06], [0.50, 0.40, 0.25], [0.10, 0.08, 0.20]]
    )
    n_blobs = 9
    spot_angles = np.arange(4) * (np.pi / 2) + rng.uniform(0, np.pi / 2)  # spread out: no overlapping spots
    span = np.array([width, height], float)
    return _Scene(
        directions=np.stack([np.cos(angles), np.sin(angles)], axis=1),
        frequencies=frequencies,
        phases=rng.uniform(0, 2 * np.pi, k),
        amplitudes=0.22 * (frequencies * 48) ** -0.8,  # ~1/f, like natural images
        tints=rng.uniform(-0.15, 0.15, (k, 3)),
        blob_centres=rng.uniform(-0.2, 1.2, (n_blobs, 2)) * span,
        blob_sigmas=rng.uniform(0.12, 0.3, n_blobs) * min(width, height),
        blob_colours=palette[rng.integers(0, len(palette), n_blobs)],
        spots=np.stack([np.cos(spot_angles), np.sin(spot_angles)], axis=1) * rng.uniform(0.25, 0.6, (4, 1)),
        spot_gains=rng.uniform(2.5, 7.0, 4),
        ball_phase=float(rng.uniform(0, 2 * np.pi)),
    )


def _background(scene: _Scene, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Scene-linear RGB of the world at continuous coordinates: colour patches times sinusoid texture."""
    # Softmax over squared distances: every point belongs mostly to its nearest patch, borders are soft.
    logits = np.stack(
        [
            -((x - c[0]) ** 2 + (y - c[1]) ** 2) / (2 * s**2)
            for c, s in zip(scene.blob_centres, scene.blob_sigmas, strict=True)
        ]
    )
    weights = np.exp(logits - logits.max(axis=0))
    colour = np.einsum("bhw,bc->hwc", weights / weights.sum(axis=0), scene.blob_colours)
    texture = np.zeros((*x.shape, 3))
    for d, f, ph, a, tint in zip(
        scene.directions, scene.frequencies, scene.phases, scene.amplitudes, scene.tints, strict=True
    ):
        wave = a * np.sin(2 * np.pi * f * (d[0] * x + d[1] * y) + ph)
        texture += wave[..., None] * (1 + tint)
    # Multiplicative like albedo variation; bright peaks roll off smoothly so the ground stays below 1.0
    # and the only HDR values in the shot are the ball's emissive spots.
    return colour * np.exp(np.where(texture > 0, 0.6 * np.tanh(texture / 0.6), texture))


def _ball(scene: _Scene, qx: np.ndarray, qy: np.ndarray, radius: float) -> np.ndarray:
    """Scene-linear RGB of the ball at offsets q from its centre: striped, lit from the top left, with
    emissive HDR spots (up to ~8) that move with it."""
    r = np.sqrt(qx**2 + qy**2) / radius
    nz = np.sqrt(np.clip(1 - r**2, 0, 1))
    nx, ny = qx / radius, qy / radius
    light = np.array([-0.5, -0.6, 0.62]) / np.linalg.norm([-0.5, -0.6, 0.62])
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
    theta = np.arctan2(qy, qx)
    swirl = 1 - np.exp(-((r / 0.3) ** 2))  # fade the pinwheel out at the centre, where theta is singular
    stripes = 0.5 + 0.5 * swirl * np.sin(5 * theta + scene.ball_phase + 3 * r)
    red, cream = np.array([0.70, 0.12, 0.05]), np.array([0.85, 0.75, 0.55])
    base = stripes[..., None] * red + (1 - stripes[..., None]) * cream
    # Fine weave on the ball, kept well below Nyquist (< 0.2 cycles/px) so bilinear warps stay exact.
    fine = 1 + 0.25 * np.sin(2 * np.pi * (qx * 0.11 + qy * 0.04)) * np.sin(2 * np.pi * (qy * 0.1 - qx * 0.03))
    colour = base * fine[..., None] * (0.08 + 0.92 * lambert)[..., None]
    sigma = max(radius * 0.05, 1.2)
    for (sx, sy), gain in zip(scene.spots, scene.spot_gains, strict=True):
        glow = gain * np.exp(-((qx - sx * radius) ** 2 + (qy - sy * radius) ** 2) / (2 * sigma**2))
        colour += glow[..., None] * np.array([1.0, 0.85, 0.55])
    return colour


def make_shot(width: int = 256, height: int = 256, n_frames: int = 12, seed: int = 0) -> SyntheticShot:
    """A panning textured background and a ball crossing it with a different velocity.

    Ground truth uses pixel centres at integer coordinates (x = column, y = row). Pixels within RIM of
    the ball's edge are marked occluded too: their colour (or a bilinear sample of it) blends ball and
    background, so no single flow vector maps them and evaluations must not count them.
    """
    if width < 16 or height < 16 or n_frames < 2:
        raise ValueError("make_shot needs at least 16x16 pixels and 2 frames")
    scene = _scene(seed, width, height)
    speed = width / 256
    vb = np.array(BACKGROUND_VELOCITY) * speed
    vf = np.array(OBJECT_VELOCITY) * speed
    radius = 0.17 * min(width, height)
    start = np.array([0.68 * width, 0.36 * height])
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)

    def distance(t: int, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        centre = start + vf * t
        return np.hypot(px - centre[0], py - centre[1])

    frames, flows, occluded = [], [], []
    for t in range(n_frames):
        centre = start + vf * t
        coverage = np.clip(radius + 0.5 - distance(t, x, y), 0, 1)[..., None]
        rgb = coverage * _ball(scene, x - centre[0], y - centre[1], radius)
        rgb += (1 - coverage) * _background(scene, x - vb[0] * t, y - vb[1] * t)
        frames.append(np.concatenate([rgb, np.ones((height, width, 1))], axis=2).astype(np.float32))
        if t == n_frames - 1:
            break
        on_ball = distance(t, x, y) < radius
        flow = np.where(on_ball[..., None], vf, vb)
        tx, ty = x + flow[..., 0], y + flow[..., 1]
        leaves = (tx < 0) | (tx > width - 1) | (ty < 0) | (ty > height - 1)
        covered = ~on_ball & (distance(t + 1, tx, ty) < radius + RIM)
        mixed = np.abs(distance(t, x, y) - radius) < RIM
        flows.append(flow.astype(np.float32))
        occluded.append(leaves | covered | mixed)
    return SyntheticShot(frames=frames, forward_flow=flows, occluded=occluded)


def make_shuffled_shot(
    width: int = 64, height: int = 48, n_frames: int = 4, seed: int = 0, tile: int = 8
) -> SyntheticShot:
    """A shot whose motion no optical flow can follow: each frame is the previous one cut into
    `tile`-pixel squares and shuffled at random (every square jumps somewhere else).

    The ground truth is exact (each square's jump) and nothing is hidden, except a 1 px band at each
    square's edge where a bilinear sample would mix two squares. A flow method that sees smooth
    motion where there is none pulls strokes the wrong way; this is the shot that shows whether the
    temporal term gives way when the flow is wrong.
    """
    if width % tile or height % tile or n_frames < 2:
        raise ValueError(f"make_shuffled_shot needs a size that is a multiple of tile={tile} and 2 frames")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = _background(_scene(seed, width, height), x, y)
    cols, rows = width // tile, height // tile
    edge = np.zeros((height, width), bool)
    for k in (0, tile - 1):
        edge[k::tile, :] = True
        edge[:, k::tile] = True
    frames, flows, occluded = [], [], []
    for t in range(n_frames):
        frames.append(np.concatenate([rgb, np.ones((height, width, 1))], axis=2).astype(np.float32))
        if t == n_frames - 1:
            break
        target = rng.permutation(cols * rows)  # square i of frame t lands on square target[i] of t+1
        moved = np.empty_like(rgb)
        flow = np.zeros((height, width, 2), np.float32)
        for i, j in enumerate(target):
            (ri, ci), (rj, cj) = divmod(i, cols), divmod(int(j), cols)
            src = np.s_[ri * tile : (ri + 1) * tile, ci * tile : (ci + 1) * tile]
            moved[rj * tile : (rj + 1) * tile, cj * tile : (cj + 1) * tile] = rgb[src]
            flow[src] = ((cj - ci) * tile, (rj - ri) * tile)
        flows.append(flow)
        occluded.append(edge.copy())
        rgb = moved
    return SyntheticShot(frames=frames, forward_flow=flows, occluded=occluded)


def write_shot(shot: SyntheticShot, directory: Path, name: str = "shot", first_frame: int = 1001) -> str:
    """Write `<name>.####.exr` (half RGBA, zip, tagged lin_rec709_scene) and `<name>_gt.npz`.

    Returns the sequence pattern, e.g. `/dir/shot.####.exr`.
    """
    from vst_node.io.image_io import write_image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(shot.frames):
        path = directory / f"{name}.{first_frame + i:04d}.exr"
        write_image(path, frame, colorspace=COLOUR_SPACE, pixel_type="half", compression="zip")
    np.savez_compressed(
        directory / f"{name}_gt.npz",
        forward_flow=np.stack(shot.forward_flow),
        occluded=np.stack(shot.occluded),
        first_frame=np.int64(first_frame),
    )
    return str(directory / f"{name}.####.exr")


def load_ground_truth(directory: Path, name: str = "shot") -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """(forward flows, occlusion masks, first frame number) as written by write_shot."""
    with np.load(Path(directory) / f"{name}_gt.npz") as data:
        flows = list(data["forward_flow"])
        occluded = list(data["occluded"])
        return flows, occluded, int(data["first_frame"])
