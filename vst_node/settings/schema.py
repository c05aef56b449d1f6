"""What the engine reads: the preset as frozen dataclasses, one per YAML section, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vst_node.settings.choices import DIS_PRESETS, FLOW_BACKENDS

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


@dataclass(frozen=True)
class TemporalSettings:
    enabled: bool = True
    use_mask: bool = True
    mask_blur_sigma: float = 0.8
    fill_disoccluded: str = "content"
    offsets: tuple[int, ...] = (1,)  # J of Ruder et al. 4.3: (1,) = short-term only, (1, 2, 4) long-term
    penalty: str = "squared"  # or "absolute": the robust penalty of Ruder's appendix

    def validate(self) -> None:
        if 1 not in self.offsets:
            raise ValueError("temporal.offsets must include 1 (the previous frame)")


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
        """Changes whenever a field that affects the flow changes (the preset only matters for DIS)."""
        return f"{self.backend}-{self.dis_preset}" if self.backend == "dis" else self.backend

    def validate(self) -> None:
        """Raise ValueError naming the valid choices; called before any flow is computed."""
        if self.backend not in FLOW_BACKENDS:
            raise ValueError(
                f"unknown flow backend {self.backend!r}; expected one of {', '.join(FLOW_BACKENDS)}"
            )
        if self.backend == "dis" and self.dis_preset not in DIS_PRESETS:
            raise ValueError(
                f"unknown DIS preset {self.dis_preset!r}; expected one of {', '.join(DIS_PRESETS)}"
            )


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
}
SCALARS = ("name", "description", "style_loss", "strength")
TOP_KEYS = (
    "name", "description", "extends", "style", "weights", "layers", "style_loss",
    "optimiser", "init", "flow", "temporal", "resolution", "multiscale", "multipass", "colour",
    "strength",
)  # fmt: skip
