"""What the engine reads: the preset as frozen dataclasses, one per YAML section, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vst_node.settings.choices import DIS_BACKENDS, DIS_PRESETS, FLOW_BACKENDS

MIN_SIDE = 16  # VGG-19 pools four times before relu5_1; smaller frames have no relu5 features left


@dataclass(frozen=True)
class StyleSettings:
    image: Path  # resolved relative to the preset file that named it
    scale: float = 1.0  # style image resized to the content area times this
    projections: int = 64  # sliced Wasserstein: random directions per layer (0 = one per channel)


@dataclass(frozen=True)
class LossWeights:
    content: float = 5.0
    style: float = 100.0
    temporal: float = 1000.0
    tv: float = 1e-3
    # Keeps the pixels inside the displayable range while a frame is optimised: without it L-BFGS
    # leaves a share of them far outside [0,1] and the clip to the display undoes much of the style
    # (bedroom clip, mosaic, 160 px: style loss 1.1e4 as optimised, 3.1e5 once clipped).
    range: float = 1e5
    # The long side (pixels) these weights were set for; at other processing sizes style and
    # temporal weights follow by rule (engine/size_weights.py). None: the same weights at any size.
    reference_side: int | None = None


@dataclass(frozen=True)
class LayerSettings:
    content: tuple[str, ...] = ("relu4_2",)
    style: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class OptimiserSettings:
    method: str = "lbfgs"
    iterations_first: int = 400
    iterations: int = 200
    tolerance: float = 1e-4
    tolerance_window: int = 50
    learning_rate: float = 1.0
    history: int = 100  # L-BFGS: past steps kept (memory: 2 x history x the image's size)


@dataclass(frozen=True)
class InitSettings:
    first: str = "content"
    later: str = "previous_warped"
    seed: int = 0
    noise_std: float = 0.001
    # The first frame is rendered after a walk back from this many frames ahead (engine.plans.run_up),
    # so that it inherits a painting carried along the flow like every later frame: no first-frame pop.
    run_up: int = 3


@dataclass(frozen=True)
class TemporalSettings:
    enabled: bool = True
    use_mask: bool = True
    mask_blur_sigma: float = 0.8
    fill_disoccluded: str = "content"
    offsets: tuple[int, ...] = (1,)  # J of Ruder et al. 4.3: (1,) = short-term only, (1, 2, 4) long-term
    penalty: str = "squared"  # or "absolute": the robust penalty of Ruder's appendix
    # How the finished neighbour is resampled along the flow (choices.RESAMPLING): bilinear softens
    # it a little at every frame, so a long shot drifts away from the first frame's crisp strokes.
    resampling: str = "bicubic"
    # Give way where the flow tracks little of a frame (engine/give_way.py): trust in the warped
    # neighbour rises from 0 at this share of reliable pixels ...
    trust_from: float = 0.3
    trust_full: float = 0.7  # ... to 1 at this share (both 0: always trust the flow)

    def validate(self) -> None:
        if 1 not in self.offsets:
            raise ValueError("temporal.offsets must include 1 (the previous frame)")
        if self.trust_full < self.trust_from:
            raise ValueError(
                f"temporal.trust_full ({self.trust_full:g}) must be at least temporal.trust_from"
                f" ({self.trust_from:g})"
            )


@dataclass(frozen=True)
class MultiPassSettings:
    """Ruder et al. 4.4: pass 0 stylizes frames alone, later passes alternate direction."""

    passes: int = 1  # 1 = the single sequential pass
    iterations: int = 100  # per frame and pass
    blend: float = 0.5  # delta: weight of the warped neighbour against the frame's last pass
    temporal_from: int = 8  # first pass (counting from 0) with the temporal loss


@dataclass(frozen=True)
class MultiScaleSettings:
    """Optimise a downscaled frame first, then refine at each finer level (coarse-to-fine)."""

    levels: int = 1  # 1 = optimise at the processing size only
    factor: float = 0.5  # side of each coarser level relative to the next finer one
    coarse: float = 1.0  # iterations at the coarsest level, as a fraction of the frame's budget
    refine: float = 0.25  # iterations at each finer level, as a fraction of the frame's budget
    style_exponent: float = 0.5  # style weight x (area ratio)^this at a coarser level
    temporal_exponent: float = 0.25  # temporal weight x (area ratio)^this at a coarser level



@dataclass(frozen=True)
class FlowSettings:
    """Everything that changes the flow field; its key() is part of the on-disk cache key."""

    backend: str = "dis"
    dis_preset: str = "medium"

    def key(self) -> str:
        """Changes whenever a field that affects the flow changes (the preset only matters for the
        backends that run DIS)."""
        return f"{self.backend}-{self.dis_preset}" if self.backend in DIS_BACKENDS else self.backend

    def validate(self) -> None:
        """Raise ValueError naming the valid choices; called before any flow is computed."""
        if self.backend not in FLOW_BACKENDS:
            raise ValueError(
                f"unknown flow backend {self.backend!r}; expected one of {', '.join(FLOW_BACKENDS)}"
            )
        if self.backend in DIS_BACKENDS and self.dis_preset not in DIS_PRESETS:
            raise ValueError(
                f"unknown DIS preset {self.dis_preset!r}; expected one of {', '.join(DIS_PRESETS)}"
            )


@dataclass(frozen=True)
class NetworkSettings:
    """method: feedforward: the trained network that stylizes each frame in one pass."""

    model: Path | None = None  # a file written by `vst-node train`, resolved relative to the preset
    statistics: str = "frame"  # settings.choices.NETWORK_STATISTICS
    shot_samples: int = 16  # statistics: shot: frames sampled evenly across the shot


@dataclass(frozen=True)
class TrainingSettings:
    """What `vst-node train` does by default; the losses' kinds and layers are the preset's own.

    Every layer's loss is divided by its target's energy, so the weights below are shares of a loss
    whose terms are each about 1 at the start, whatever the layer or the style image.
    """

    content: float = 1.0  # weight of the content term (the preset's content layers)
    style: float = 6.0  # weight of the style term (the preset's style layers and style_loss)
    tv: float = 0.0  # total variation of the output
    noise: float = 1000.0  # noise stability: output change when a few pixels get noise (Element AI 2018)
    noise_pixels: float = 0.004  # share of pixels that get noise (1000 of 512x512)
    noise_range: float = 30.0  # that noise is uniform in +-this, on a 0-255 scale
    compound: float = 75.0  # ||F(W(x) + d) - W(F(x))|| with W a random smooth flow (Wang et al. 2020)
    compound_shift: float = 32.0  # largest displacement of that random flow, in pixels of a crop
    compound_sigma: float = 0.02  # std of the Gaussian noise d, on a 0-1 scale
    width: int = 16  # channels of the network's first layer (Johnson et al.: 32); file size ~ width^2
    residual_blocks: int = 5
    max_layer: str = "relu4_1"  # deeper VGG layers are left out of training (content: this one instead)
    crop: int = 128  # training crops are this many pixels square
    batch: int = 4
    style_side: int = 256  # the style image's longer side in training, times style.scale
    learning_rate: float = 1.0e-3  # Adam
    steps: int = 2000  # budget in optimiser steps ...
    minutes: float = 25.0  # ... and in wall-clock minutes: training stops at whichever comes first
    seed: int = 0  # crops, flips, noise and initial weights: the same seed gives the same network


@dataclass(frozen=True)
class ResolutionSettings:
    scale: float = 1.0  # processing size; the output is resized back to the input size
    max_side: int | None = None


@dataclass(frozen=True)
class ColourSettings:
    input: str = "auto"  # "auto" or an OCIO colour interop id / colour-space name
    preserve_highlights: bool = True
    preserve_colour: bool = False  # keep the input's colours: only luminance/texture is stylized


@dataclass(frozen=True, kw_only=True)
class Preset:
    name: str
    description: str
    source: Path | None
    style: StyleSettings
    weights: LossWeights = field(default_factory=LossWeights)
    layers: LayerSettings = field(default_factory=LayerSettings)
    style_loss: str = "gram"
    optimiser: OptimiserSettings = field(default_factory=OptimiserSettings)
    init: InitSettings = field(default_factory=InitSettings)
    flow: FlowSettings = field(default_factory=FlowSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    resolution: ResolutionSettings = field(default_factory=ResolutionSettings)
    multiscale: MultiScaleSettings = field(default_factory=MultiScaleSettings)
    multipass: MultiPassSettings = field(default_factory=MultiPassSettings)
    colour: ColourSettings = field(default_factory=ColourSettings)
    strength: float = 1.0  # 0 = identity
    method: str = "optimise"  # settings.choices.METHODS
    network: NetworkSettings = field(default_factory=NetworkSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)


SECTIONS: dict[str, type] = {
    "style": StyleSettings,
    "weights": LossWeights,
    "layers": LayerSettings,
    "optimiser": OptimiserSettings,
    "init": InitSettings,
    "flow": FlowSettings,
    "temporal": TemporalSettings,
    "resolution": ResolutionSettings,
    "multiscale": MultiScaleSettings,
    "multipass": MultiPassSettings,
    "colour": ColourSettings,
    "network": NetworkSettings,
    "training": TrainingSettings,
}
SCALARS = ("name", "description", "style_loss", "strength", "method")
TOP_KEYS = (
    "name", "description", "extends", "style", "weights", "layers", "style_loss",
    "optimiser", "init", "flow", "temporal", "resolution", "multiscale", "multipass", "colour",
    "strength", "method", "network", "training",
)  # fmt: skip
