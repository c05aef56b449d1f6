"""Settings: the preset schema, validation rules, YAML loading (`extends`, `--set`), digests, choices."""

from vst_node.settings.choices import (
    DEVICE_CHOICES,
    DIS_PRESETS,
    FILL_MODES,
    FIRST_INITS,
    FLOW_BACKENDS,
    LATER_INITS,
    METHODS,
    NETWORK_STATISTICS,
    OPTIMISERS,
    PRECISION_CHOICES,
    RESAMPLING,
    STYLE_LOSSES,
    TEMPORAL_PENALTIES,
    VGG19_LAYERS,
)
from vst_node.settings.digest import preset_digest, preset_to_dict
from vst_node.settings.loading import (
    DEFAULT_PRESET,
    PRESETS_ENV,
    builtin_presets_dir,
    dump_preset,
    list_presets,
    load_preset,
    search_dirs,
    validate_file,
)
from vst_node.settings.rules import RULES, Rule, rule_for
from vst_node.settings.schema import (
    MIN_SIDE,
    SCALARS,
    SECTIONS,
    TOP_KEYS,
    ColourSettings,
    FlowSettings,
    InitSettings,
    LayerSettings,
    LossWeights,
    MultiPassSettings,
    MultiScaleSettings,
    NetworkSettings,
    OptimiserSettings,
    Preset,
    ResolutionSettings,
    StyleSettings,
    TemporalSettings,
    TrainingSettings,
)

__all__ = [
    "DEFAULT_PRESET", "DEVICE_CHOICES", "DIS_PRESETS", "FILL_MODES", "FIRST_INITS", "FLOW_BACKENDS",
    "LATER_INITS", "METHODS", "MIN_SIDE", "NETWORK_STATISTICS", "OPTIMISERS", "PRECISION_CHOICES",
    "PRESETS_ENV", "RESAMPLING", "RULES", "SCALARS", "SECTIONS", "STYLE_LOSSES", "TEMPORAL_PENALTIES",
    "TOP_KEYS", "VGG19_LAYERS", "ColourSettings", "FlowSettings", "InitSettings", "LayerSettings",
    "LossWeights", "MultiPassSettings", "MultiScaleSettings", "NetworkSettings", "OptimiserSettings",
    "Preset", "ResolutionSettings", "Rule", "StyleSettings", "TemporalSettings", "TrainingSettings",
    "builtin_presets_dir", "dump_preset", "list_presets", "load_preset", "preset_digest",
    "preset_to_dict", "rule_for", "search_dirs", "validate_file",
]  # fmt: skip
