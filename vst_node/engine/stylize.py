"""One frame's optimisation problem: content, style, TV and temporal terms over the pixels.

Fixed images (the content frame, the style image) go through VGG once per frame or once per
processing size; only the image being optimised goes through it every iteration.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vst_node.engine.device import network_precision
from vst_node.engine.optimise import CancelCheck, OptimiseResult, WindowCallback, optimise_image
from vst_node.engine.style_loss import make_style_loss
from vst_node.engine.vgg import caffe_bounds, caffe_preprocess, deepest_layer, load_vgg19
from vst_node.errors import PresetError
from vst_node.io.colour import input_colorspace, to_network
from vst_node.io.image_io import read_frame
from vst_node.ops import losses
from vst_node.ops.resize import resize
from vst_node.settings import LossWeights, Preset


@dataclass
class TemporalTerm:
    """What the temporal loss pulls towards: the warped previous result and where to trust it."""

    warped: torch.Tensor  # (1,3,H,W) caffe space
    weights: torch.Tensor  # (1,1,H,W) in [0,1]

    def resized(self, size: tuple[int, int]) -> TemporalTerm:
        return TemporalTerm(resize(self.warped, size), resize(self.weights, size).clamp(0.0, 1.0))


Temporal = TemporalTerm | Sequence[TemporalTerm] | None


def temporal_terms(temporal: Temporal) -> list[TemporalTerm]:
    if temporal is None:
        return []
    return [temporal] if isinstance(temporal, TemporalTerm) else list(temporal)


def load_style_image(path: Path) -> np.ndarray:
    """Style image as network RGB in [0,1]; any format and colour space image_io and OCIO handle."""
    try:
        frame = read_frame(path)
    except Exception as exc:
        raise PresetError(f"style image {path}: {exc}") from exc
    rgb, _alpha = to_network(frame.rgba, input_colorspace(frame))
    return np.clip(rgb, 0.0, 1.0)


def style_size(content_hw: tuple[int, int], style_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """Style image resized to the content frame's area times `scale`, keeping its aspect ratio."""
    area = content_hw[0] * content_hw[1] * scale
    aspect = style_hw[1] / style_hw[0]
    h = max(16, round(math.sqrt(area / aspect)))
    w = max(16, round(h * aspect))
    return h, w


# Style targets shared by every Stylizer in the process: a host changing a weight, a second node
# on the same look or the next shot reuse them instead of sending the style image through VGG again.
# Keyed by the style file's bytes and everything the statistics depend on; the tensors are
# read-only by contract (the losses only read them).
STYLE_TARGETS_KEPT = 16
# ... and by size: sliced-Wasserstein targets of a 1080p frame are about 0.7 GB each on the GPU.
STYLE_TARGETS_BYTES = 2 << 30
_style_targets: OrderedDict[tuple, dict] = OrderedDict()
_style_targets_lock = threading.Lock()


def _nbytes(value: object) -> int:
    """Bytes of the tensors in a style-target structure (dicts, tuples of tensors)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


def clear_style_targets() -> None:
    with _style_targets_lock:
        _style_targets.clear()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()
    except OSError as exc:
        raise PresetError(f"style image {path}: {exc}") from exc


class Stylizer:
    """Owns the network and the style targets of one preset on one device."""

    def __init__(self, preset: Preset, device: torch.device, precision: torch.dtype = torch.float32) -> None:
        """precision: the dtype VGG runs in while a frame is optimised (device.PRECISION_CHOICES);
        fixed images (content, style) and the losses are always float32."""
        self.preset = preset
        self.device = device
        self.precision = precision
        layers = (*preset.layers.content, *preset.layers.style)
        self.net = load_vgg19(deepest_layer(layers), str(device))
        self._style_rgb = torch.from_numpy(load_style_image(preset.style.image)).permute(2, 0, 1)[None]
        self.style_loss = make_style_loss(preset.style_loss, preset.style.projections, preset.init.seed)
        self._style_key = (
            _file_digest(preset.style.image),
            preset.style.scale,
            tuple(preset.layers.style),
            preset.style_loss,
            preset.style.projections,
            preset.init.seed,
            str(device),
        )

    @property
    def weights(self) -> LossWeights:
        """The preset's loss weights: the one source of truth for a full-size frame."""
        return self.preset.weights

    def compute_style_targets(self, content_hw: tuple[int, int]) -> dict:
        """The style image through VGG at the size matching a frame of `content_hw` (no cache)."""
        size = style_size(content_hw, tuple(self._style_rgb.shape[-2:]), self.preset.style.scale)
        style = resize(self._style_rgb.to(self.device), size)
        with torch.no_grad():
            feats = self.net(caffe_preprocess(style), self.preset.layers.style)
            return self.style_loss.targets(feats)

    def style_targets(self, content_hw: tuple[int, int]) -> dict:
        """compute_style_targets, once per style image, settings, size and device in the process."""
        key = (*self._style_key, tuple(content_hw))
        with _style_targets_lock:
            if key in _style_targets:
                _style_targets.move_to_end(key)
                return _style_targets[key]
        targets = self.compute_style_targets(content_hw)
        with _style_targets_lock:
            _style_targets[key] = targets
            # the newest entry always stays: the frame being optimised reads it
            while len(_style_targets) > 1 and (
                len(_style_targets) > STYLE_TARGETS_KEPT
                or sum(_nbytes(t) for t in _style_targets.values()) > STYLE_TARGETS_BYTES
            ):
                _style_targets.popitem(last=False)
        return targets

    def loss_function(
        self, content_rgb: torch.Tensor, temporal: Temporal, weights: LossWeights | None = None
    ):
        """Builds L = a*content + b*style + g*sum_j temporal_j + tv + range for one frame.

        weights: this call's weights (a multi-scale level's); default the stylizer's own.
        """
        w = self.weights if weights is None else weights
        penalty = self.preset.temporal.penalty
        terms = temporal_terms(temporal) if w.temporal > 0 else []
        content_layers = self.preset.layers.content
        style_layers = self.preset.layers.style
        wanted = (*content_layers, *style_layers)
        with torch.no_grad():
            content_targets = self.net(caffe_preprocess(content_rgb), content_layers)
        targets = self.style_targets(tuple(content_rgb.shape[-2:]))
        low, high = caffe_bounds(content_rgb)

        def loss(x: torch.Tensor) -> torch.Tensor:
            feats = self.features(x, wanted)
            total = w.style * self.style_loss(feats, targets)
            for name in content_layers:
                total = total + w.content * losses.content_loss(feats[name], content_targets[name])
            if w.tv > 0:
                total = total + w.tv * losses.total_variation(x)
            if w.range > 0:
                total = total + w.range * losses.range_penalty(x, low, high)
            for term in terms:
                total = total + w.temporal * losses.temporal_loss(x, term.warped, term.weights, penalty)
            return total

        return loss

    def features(self, x: torch.Tensor, wanted: Sequence[str]) -> dict[str, torch.Tensor]:
        """VGG features of the image being optimised, float32 whatever precision the network ran in."""
        with network_precision(self.device, self.precision):
            feats = self.net(x, wanted)
        return {name: f.float() for name, f in feats.items()}

    def stylize(
        self,
        content_rgb: torch.Tensor,
        init: torch.Tensor,
        temporal: Temporal,
        iterations: int,
        cancel: CancelCheck | None = None,
        weights: LossWeights | None = None,
        on_window: WindowCallback | None = None,
    ) -> OptimiseResult:
        """Optimise from `init` (caffe space); returns the result in caffe space."""
        opt = self.preset.optimiser
        return optimise_image(
            init,
            self.loss_function(content_rgb, temporal, weights),
            method=opt.method,
            iterations=iterations,
            tolerance=opt.tolerance,
            window=opt.tolerance_window,
            learning_rate=opt.learning_rate,
            cancel=cancel,
            history_size=opt.history,
            on_window=on_window,
        )

    def loss_terms(self, x: torch.Tensor, content_rgb: torch.Tensor) -> dict[str, float]:
        """Unweighted content and style losses: stability must not be bought with blur."""
        with torch.no_grad():
            wanted = (*self.preset.layers.content, *self.preset.layers.style)
            feats = self.net(x, wanted)
            targets = self.net(caffe_preprocess(content_rgb), self.preset.layers.content)
            content = sum(float(losses.content_loss(feats[k], targets[k])) for k in targets)
            targets = self.style_targets(tuple(content_rgb.shape[-2:]))
            style = float(self.style_loss(feats, targets))
        return {"content": content, "style": style}
