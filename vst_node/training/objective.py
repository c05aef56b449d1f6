"""The preset's content and style losses for a batch of network outputs, through VGG-19.

Each layer's loss is divided by the energy of its target (the mean square of the content features,
of the style Gram matrix, ...), so every term starts near 1 whatever the layer, the style image or
the crop size, and the training weights are plain shares of the total.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from vst_node.engine.style_loss import make_style_loss
from vst_node.engine.stylize import load_style_image
from vst_node.engine.vgg import caffe_preprocess, deepest_layer, load_vgg19
from vst_node.ops.resize import resize
from vst_node.settings import VGG19_LAYERS, Preset

EPS = 1e-8


def target_energy(kind: str, target: Any) -> Tensor:
    """The mean square of what a layer's distance compares against (the normaliser)."""
    if kind == "gram":
        return target.square().mean()
    if kind == "mean_var":
        mean, std = target
        return mean.square().mean() + std.square().mean()
    return target[1].square().mean()  # sliced Wasserstein: the sorted projections


def style_side_size(style_hw: tuple[int, int], longest: float) -> tuple[int, int]:
    h, w = style_hw
    scale = longest / max(h, w)
    return max(16, round(h * scale)), max(16, round(w * scale))


def training_layers(preset: Preset) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(content, style) layers used in training: the preset's, none deeper than training.max_layer.

    Every VGG layer costs time on every step of a CPU training; relu4_2..relu5_1 add about 40 %
    for features the network hardly uses at 128 px crops. A content layer deeper than the cap
    becomes the cap itself, so there is always a content term.
    """
    order = VGG19_LAYERS
    cap = order.index(preset.training.max_layer)
    style = tuple(name for name in preset.layers.style if order.index(name) <= cap)
    content = tuple(
        dict.fromkeys(name if order.index(name) <= cap else order[cap] for name in preset.layers.content)
    )
    return content, style or (order[cap],)


class PerceptualObjective:
    """Normalised content and style terms of the preset, for (N,3,H,W) RGB batches in [0,1]."""

    def __init__(self, preset: Preset, device: torch.device) -> None:
        self.preset = preset
        self.content_layers, self.style_layers = training_layers(preset)
        self.net = load_vgg19(deepest_layer((*self.content_layers, *self.style_layers)), str(device))
        self.style_loss = make_style_loss(preset.style_loss, preset.style.projections, preset.init.seed)
        style = torch.from_numpy(load_style_image(preset.style.image)).permute(2, 0, 1)[None].to(device)
        longest = preset.training.style_side * preset.style.scale
        style = resize(style, style_side_size(tuple(style.shape[-2:]), longest))
        with torch.no_grad():
            feats = self.net(caffe_preprocess(style), self.style_layers)
        self.style_targets = self.style_loss.targets(feats)
        self.style_energy = {
            k: target_energy(preset.style_loss, v) + EPS for k, v in self.style_targets.items()
        }

    def __call__(self, output: Tensor, content: Tensor) -> dict[str, Tensor]:
        """{'content': ..., 'style': ...}: unweighted, each averaged over layers and the batch."""
        with torch.no_grad():
            targets = self.net(caffe_preprocess(content), self.content_layers)
        feats = self.net(caffe_preprocess(output), (*self.content_layers, *self.style_layers))
        content_term = output.new_zeros(())
        for name in self.content_layers:
            target = targets[name]
            content_term = content_term + F.mse_loss(feats[name], target) / (target.square().mean() + EPS)
        style_term = output.new_zeros(())
        for name in self.style_layers:
            for i in range(output.shape[0]):  # the style distances compare one image's statistics
                one = {name: feats[name][i : i + 1]}
                style_term = (
                    style_term
                    + self.style_loss(one, {name: self.style_targets[name]}) / self.style_energy[name]
                )
        n = output.shape[0]
        return {
            "content": content_term / len(self.content_layers),
            "style": style_term / (len(self.style_layers) * n),
        }
