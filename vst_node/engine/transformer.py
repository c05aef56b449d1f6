"""The feed-forward style network of Johnson et al. 2016, with instance normalisation.

c9s1-w, d2w, d4w, residual blocks of 4w, two nearest-neighbour upsamplings with 3x3 convolutions
(no transposed convolutions: they leave checkerboard patterns), c9s1-3. Johnson et al. use w = 32;
vst-node's shipped networks use w = 16, a quarter of the multiply-adds, fast on a CPU.

Input and output are display-like RGB in [0, 1], (N, 3, H, W), any H and W (reflection padding
keeps the borders free of dark seams; sizes that are not multiples of 4 are padded and cropped).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild the network from its weights; stored in the model file."""

    width: int = 16
    residual_blocks: int = 5

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def channel_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and channel mean and (biased) variance of (N, C, H, W), each (N, C, 1, 1).

    E[x^2] - E[x]^2 reads the activations in two cheap reductions; `torch.var_mean` took a quarter
    of a CPU forward pass. Where a channel's mean dwarfs its spread (variance under 1e-4 mean^2,
    where float32 would keep under three digits) that formula cancels, and the batch takes the
    exact two-pass route instead; the check is one host read per layer, negligible next to a frame.
    """
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = (x * x).mean(dim=(2, 3), keepdim=True) - mean * mean
    if bool(((var <= 1e-4 * mean * mean) & (mean != 0)).any()):
        var = (x - mean).square().mean(dim=(2, 3), keepdim=True)
    return mean, var.clamp_min(0.0)


class ShotNorm(nn.Module):
    """Instance normalisation whose statistics can be frozen for a whole shot.

    Per-frame statistics (the default) let the look drift when the content changes; Wang et al. 2020
    share the mean and variance across the frames of a sequence. `collect` accumulates them over
    sample frames, `freeze` uses their average for every later frame, `release` returns to per frame.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.mode = "frame"  # frame | collect | shot
        self._sums: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.shot_mean: torch.Tensor | None = None
        self.shot_var: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "shot":
            if self.shot_mean is None or self.shot_var is None:
                raise RuntimeError("shot statistics were not collected before freezing")
            mean, var = self.shot_mean, self.shot_var
        else:
            mean, var = channel_moments(x)
            if self.mode == "collect":
                self._sums.append((mean.detach().mean(0, keepdim=True), var.detach().mean(0, keepdim=True)))
        # one fused multiply-add over the activations instead of subtract, multiply, multiply, add
        scale = self.weight.view(1, -1, 1, 1) * torch.rsqrt(var + self.eps)
        shift = self.bias.view(1, -1, 1, 1) - mean * scale
        return torch.addcmul(shift, x, scale)

    def freeze(self) -> None:
        """Average the collected frames' statistics: within-frame variance plus the means' spread."""
        if not self._sums:
            raise RuntimeError("no frames were collected")
        means = torch.cat([m for m, _ in self._sums])
        variances = torch.cat([v for _, v in self._sums])
        self.shot_mean = means.mean(0, keepdim=True)
        self.shot_var = variances.mean(0, keepdim=True) + means.var(0, keepdim=True, correction=0)
        self._sums = []
        self.mode = "shot"

    def release(self) -> None:
        self._sums, self.shot_mean, self.shot_var, self.mode = [], None, None, "frame"


class _ConvLayer(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: bool = True,
                 relu: bool = True) -> None:  # fmt: skip
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm:
            layers.append(ShotNorm(cout))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _ConvLayer(channels, channels, 3), _ConvLayer(channels, channels, 3, relu=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Upsample(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _ConvLayer(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    """RGB [0,1] in, stylized RGB [0,1] out, one forward pass per frame."""

    channels_last = False  # set by for_rendering

    def __init__(self, architecture: Architecture = Architecture()) -> None:
        super().__init__()
        self.architecture = architecture
        w = architecture.width
        self.body = nn.Sequential(
            _ConvLayer(3, w, 9),
            _ConvLayer(w, 2 * w, 3, stride=2),
            _ConvLayer(2 * w, 4 * w, 3, stride=2),
            *[_Residual(4 * w) for _ in range(architecture.residual_blocks)],
            _Upsample(4 * w, 2 * w),
            _Upsample(2 * w, w),
            _ConvLayer(w, 3, 9, norm=False, relu=False),
        )

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        h, w = rgb.shape[-2:]
        pad_h, pad_w = -h % 4, -w % 4
        x = F.pad(rgb, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else rgb
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        # sigmoid keeps the output in [0, 1] with a gradient everywhere (a clamp would have none)
        out = torch.sigmoid(self.body(x))
        return out[..., :h, :w].contiguous()

    def for_rendering(self) -> TransformerNet:
        """Evaluation mode with channels-last weights and activations.

        The convolution kernels run 1.1-1.4x faster in that layout on a CPU (measured by
        tools/bench_feedforward.py) and it is the layout GPU kernels prefer; training keeps the
        default layout.
        """
        self.eval()
        self.to(memory_format=torch.channels_last)
        self.channels_last = True
        return self

    def norms(self) -> list[ShotNorm]:
        return [m for m in self.modules() if isinstance(m, ShotNorm)]

    def set_statistics_mode(self, mode: str) -> None:
        """'frame' (per frame), 'collect' (gather shot statistics) or 'shot' (freeze them)."""
        for norm in self.norms():
            if mode == "shot":
                norm.freeze()
            elif mode == "frame":
                norm.release()
            elif mode == "collect":
                norm.release()
                norm.mode = "collect"
            else:
                raise ValueError(f"unknown statistics mode {mode!r}")
