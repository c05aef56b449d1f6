"""What the node keeps between frames: finished results and processing-size sources, both bounded.

Finished frames are kept for scrubbing up to a limit, but never the frames the next render still
reads; sources are a small LRU so that each frame is fetched from the host once per render.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection

import numpy as np
import torch

from vst_node.engine.vgg import caffe_clamp
from vst_node.ops.resize import resize

Fetch = Callable[[int], np.ndarray]
"""frame -> source image as network RGB (H, W, 3) float32, display-like (values outside [0,1] allowed)."""


def stored_result(image: torch.Tensor) -> np.ndarray:
    """A finished result as every later frame reads it: clamped to the displayable range, on the host."""
    return caffe_clamp(image.detach()).cpu().numpy()


class FinishedFrames(OrderedDict[int, np.ndarray]):
    """frame -> result in caffe space at the processing size, least recently used first."""

    def remember(self, t: int, image: torch.Tensor) -> None:
        """Keep t as the most recent result (clamped to the displayable range, on the host)."""
        self[t] = stored_result(image)
        self.move_to_end(t)

    def evict(self, limit: int, keep: Collection[int]) -> None:
        """Drop the least recently used frames outside `keep` until at most `limit` remain."""
        for frame in list(self):
            if len(self) <= limit:
                break
            if frame not in keep:
                del self[frame]


class SourceCache(OrderedDict[int, np.ndarray]):
    """frame -> processing-size network RGB in [0,1]; the last `keep` frames fetched."""

    def __init__(self) -> None:
        super().__init__()
        # Processing pixels per full-resolution pixel: a proxy render (render scale 0.5) or a preset
        # scale shrinks the frames, and spatial settings in pixels shrink with them.
        self.pixel_scale = 1.0

    def load(
        self,
        t: int,
        fetch: Fetch,
        size_of: Callable[[tuple[int, int]], tuple[int, int]],
        render_scale: float,
        keep: int,
    ) -> np.ndarray:
        """Frame t at the size `size_of(full size)`, fetched from the host only when not kept."""
        if t in self:
            self.move_to_end(t)
            return self[t]
        full = np.asarray(fetch(t), np.float32)
        hw = size_of(full.shape[:2])
        # NaN/inf pixels (renderer fireflies, broken decodes) would make every loss NaN; the network
        # sees 0 there (inf: 1), and the output step carries the original values through unchanged.
        finite = np.nan_to_num(full, nan=0.0, posinf=1.0, neginf=0.0)
        tensor = torch.from_numpy(np.ascontiguousarray(np.clip(finite, 0.0, 1.0))).permute(2, 0, 1)[None]
        small = resize(tensor, hw)[0].permute(1, 2, 0).contiguous().numpy()
        self.pixel_scale = hw[1] * render_scale / full.shape[1]
        self[t] = small
        while len(self) > keep:
            self.popitem(last=False)
        return small
