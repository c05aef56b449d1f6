"""A host harness that drives the OFX-shaped face the way Natron drives an OFX image effect.

What it imitates is what Natron advertises as an OFX host (kOfxImageEffectHostProp* and friends):
temporal clip access (an effect may fetch Source at other times), multi-resolution (proxy renders at
render scale 0.5 hand the effect half-size images), tiles (the host could render tiles, but honours an
effect that does not support them with full frames), sequential render "sometimes" (it renders in
order when writing a sequence, in any order in the viewer) and float depth. Like Natron it asks, for
every frame: region of definition, regions of interest, frames needed (those inputs are produced
first), identity, then render; the viewer brackets each frame in its own interactive begin/end
sequence render, a disk render brackets the whole range once; several threads may render at once.

Natron itself is not used: this is an executable reading of the OFX contract, strict where Natron is
strict (output size, pixel type, frames inside the clip), so the tests say what a real host would see.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vst_node.ofx import FILTER_CONTEXT, OfxStyleTransferEffect

NATRON_HOST_PROPERTIES = {
    "temporal_clip_access": True,  # kOfxImageEffectPropTemporalClipAccess
    "supports_multi_resolution": True,  # kOfxImageEffectPropSupportsMultiResolution
    "supports_tiles": True,  # kOfxImageEffectPropSupportsTiles
    "sequential_render": 2,  # kOfxImageEffectHostPropSequentialRender: "sometimes"
    "supported_pixel_depths": ("byte", "short", "float"),  # kOfxBitDepth*
    "supported_contexts": ("generator", "filter", "general", "transition", "paint", "reader", "writer"),
}


def downscale(image: np.ndarray, scale: float) -> np.ndarray:
    """The Source at a proxy scale: a box filter over premultiplied pixels (scale 1/n only)."""
    factor = round(1 / scale)
    if not np.isclose(factor * scale, 1.0):
        raise ValueError(f"the harness renders proxies at 1/n scales only, not {scale}")
    if factor == 1:
        return image
    h, w, c = image.shape
    h2, w2 = h // factor, w // factor
    blocks = image[: h2 * factor, : w2 * factor].reshape(h2, factor, w2, factor, c)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


class NatronLikeHost:
    """One effect instance with its Source clip (frame -> linear RGBA float32) and optional Style."""

    def __init__(
        self,
        effect: OfxStyleTransferEffect,
        source: dict[int, np.ndarray],
        *,
        premultiplication: str = "premultiplied",
        style: np.ndarray | None = None,
    ) -> None:
        d = effect.descriptor
        assert FILTER_CONTEXT in d.contexts and FILTER_CONTEXT in NATRON_HOST_PROPERTIES["supported_contexts"]
        assert set(d.supported_pixel_depths) & set(NATRON_HOST_PROPERTIES["supported_pixel_depths"])
        assert not d.temporal_clip_access or NATRON_HOST_PROPERTIES["temporal_clip_access"]
        self.effect = effect
        self.source = {int(t): np.asarray(f, np.float32) for t, f in source.items()}
        self.first, self.last = min(self.source), max(self.source)
        self.style = style
        self.fetches: list[tuple[int, float]] = []  # (frame, scale) of every clipGetImage
        self._proxies: dict[tuple[int, float], np.ndarray] = {}
        self._lock = threading.Lock()
        # createInstance, then the clip preferences pass, as Natron does when a node is connected.
        effect.set_source_range(self.first, self.last)
        components = "RGBA" if next(iter(self.source.values())).shape[2] == 4 else "RGB"
        prefs = effect.get_clip_preferences(premultiplication, components)
        assert prefs.output_premultiplication == premultiplication and prefs.pixel_depth == "float"

    # -- clips --------------------------------------------------------------------------------

    def source_at(self, frame: int, scale: float) -> np.ndarray:
        """What the upstream graph delivers at this render scale (computed once, like Natron's cache)."""
        if not self.first <= frame <= self.last:
            raise KeyError(f"frame {frame} is outside the Source clip ({self.first}-{self.last})")
        with self._lock:
            key = (frame, scale)
            if key not in self._proxies:
                self._proxies[key] = downscale(self.source[frame], scale)
            return self._proxies[key]

    def change_upstream(self, change) -> None:
        """A node above changed (a grade): new Source images, and no action tells the effect, as in
        Natron, which only re-renders."""
        with self._lock:
            self.source = {t: np.asarray(change(f), np.float32) for t, f in self.source.items()}
            self._proxies.clear()

    def _fetch(self, scale: float):
        def fetch(frame: int) -> np.ndarray:
            image = self.source_at(int(frame), scale)
            with self._lock:
                self.fetches.append((int(frame), scale))
            return image.copy()  # the effect must not be able to change the host's images

        return fetch

    def _fetch_style(self, scale: float):
        if self.style is None:
            return None
        return lambda frame: downscale(self.style, scale).copy()

    # -- one frame, the way Natron asks for it ---------------------------------------------------

    def _render_frame(self, t: int, scale: float) -> np.ndarray:
        effect = self.effect
        full = self.source[t]
        rod = (0.0, 0.0, float(full.shape[1]), float(full.shape[0]))
        assert effect.get_region_of_definition(t, scale, rod) == rod
        roi = (rod[0], rod[1], rod[2] / 2, rod[3] / 2)  # the viewer shows a corner: still full frames
        assert effect.get_regions_of_interest(t, scale, roi, rod) == {"Source": rod}
        for start, end in effect.get_frames_needed(t):  # inputs are rendered before the effect
            assert self.first <= start <= end <= self.last, "the effect asked for a frame outside Source"
            for frame in range(start, end + 1):
                self.source_at(frame, scale)
        expected = self.source_at(t, scale)
        if effect.is_identity(t):
            return expected.copy()  # Natron passes the identity clip through without rendering
        out = effect.render(t, scale, self._fetch(scale), fetch_style=self._fetch_style(scale))
        assert out.dtype == np.float32, out.dtype
        assert out.shape == expected.shape, (out.shape, expected.shape)
        assert np.isfinite(out).all()
        return out

    # -- what a session in Natron does ---------------------------------------------------------

    def render_sequence(self, frames: Sequence[int], scale: float = 1.0) -> dict[int, np.ndarray]:
        """A Write node rendering to disk: one begin/end around the range, frames in order."""
        frames = list(frames)
        self.effect.begin_sequence_render((min(frames), max(frames)), scale)
        try:
            return {t: self._render_frame(t, scale) for t in frames}
        finally:
            self.effect.end_sequence_render()

    def view(self, t: int, scale: float = 1.0) -> np.ndarray:
        """The viewer showing frame t: an interactive begin/end of its own around one frame."""
        self.effect.begin_sequence_render((t, t), scale, interactive=True)
        try:
            return self._render_frame(t, scale)
        finally:
            self.effect.end_sequence_render()

    def scrub(self, order: Iterable[int], scale: float = 1.0) -> dict[int, np.ndarray]:
        """The user dragging the timeline (backwards, jumping): one viewer render per frame."""
        return {t: self.view(t, scale) for t in order}

    def concurrent(self, frames: Sequence[int], threads: int = 4, seed: int = 0) -> dict[int, np.ndarray]:
        """Several render threads (viewer, disk render, another viewer) asking for frames at once,
        each in its own order; every copy of a frame must be the same pixels."""
        rng = random.Random(seed)
        orders = [rng.sample(list(frames), len(frames)) for _ in range(threads)]
        barrier = threading.Barrier(threads)

        def worker(order: list[int]) -> list[tuple[int, np.ndarray]]:
            barrier.wait()  # start together, so the requests really overlap
            return [(t, self.view(t)) for t in order]

        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = [pair for chunk in pool.map(worker, orders) for pair in chunk]
        out: dict[int, np.ndarray] = {}
        for t, image in results:
            if t in out:
                np.testing.assert_array_equal(image, out[t], err_msg=f"frame {t} differs between threads")
            else:
                out[t] = image
        return out

    def set_param(self, name: str, value: object) -> list[str]:
        """The artist editing a parameter (kOfxActionInstanceChanged, reason user-edited)."""
        return self.effect.instance_changed(name, value)
