"""method: feedforward: each frame stylized by a trained network in one forward pass.

Frames are independent (no flow, no previous frame): random access costs one frame. With
`network.statistics: shot` the instance-normalisation statistics come from frames sampled across
the shot and stay frozen for the render (Wang et al. 2020), so the look does not drift with the
content; they are collected once per shot, before the first frame is stylized.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from vst_node.engine.network_file import NetworkFile, check_look, load_network_file
from vst_node.engine.transformer import TransformerNet
from vst_node.engine.vgg import caffe_preprocess
from vst_node.settings import Preset


@functools.lru_cache(maxsize=8)
def _cached_file(path: str, mtime_ns: int, size: int) -> NetworkFile:
    return load_network_file(Path(path))


def read_network_file(path: Path) -> NetworkFile:
    """load_network_file once per file version in the process (a host re-creates nodes often)."""
    stat = Path(path).stat() if Path(path).exists() else None
    if stat is None:
        return load_network_file(Path(path))  # raises the clear "no such file" error
    return _cached_file(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def sample_frames(frames: Sequence[int], count: int) -> list[int]:
    """`count` frames spread evenly over the shot, first and last included."""
    if len(frames) <= count:
        return list(frames)
    positions = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in sorted(set(positions.tolist()))]


class FeedForwardStylizer:
    """The preset's trained network on one device."""

    def __init__(self, preset: Preset, device: torch.device) -> None:
        path = preset.network.model
        if path is None:  # the preset loader already refuses this; a programmatic Preset may not
            raise ValueError("method: feedforward needs network.model")
        self.path = Path(path)
        self.record = read_network_file(self.path)
        check_look(self.record, preset, self.path)
        self.preset = preset
        self.device = device
        self.net: TransformerNet = self.record.network(device)
        self._lock = threading.Lock()
        self._shot_key: tuple | None = None

    @property
    def digest(self) -> str:
        """Of the weights: written into each frame's metadata."""
        return self.record.digest

    def stylize(self, content_rgb: torch.Tensor) -> torch.Tensor:
        """(1,3,H,W) RGB in [0,1] -> the stylized frame in caffe space (what the node stores)."""
        with torch.inference_mode():
            out = self.net(content_rgb.to(self.device, torch.float32))
        return caffe_preprocess(out.clamp(0.0, 1.0))

    def prepare_shot(self, key: tuple, frames: Sequence[int], source: Callable[[int], np.ndarray]) -> None:
        """With statistics: shot, collect the normalisation statistics of the shot once per `key`."""
        if self.preset.network.statistics != "shot":
            return
        with self._lock:
            if self._shot_key == key:
                return
            self.net.set_statistics_mode("collect")
            with torch.inference_mode():
                for frame in sample_frames(frames, self.preset.network.shot_samples):
                    image = torch.from_numpy(source(frame)).permute(2, 0, 1)[None]
                    self.net(image.to(self.device, torch.float32))
            self.net.set_statistics_mode("shot")
            self._shot_key = key
