"""The OpenFX-shaped face: an adapter a compositor's plug-in shim calls; the core never imports it."""

from vst_node.ofx.effect import (
    CLIPS,
    FILTER_CONTEXT,
    OUTPUT,
    SOURCE,
    STYLE,
    ClipDescriptor,
    ClipPreferences,
    EffectDescriptor,
    OfxStyleTransferEffect,
    ParamDescriptor,
    describe,
    describe_in_context,
    frame_ranges,
    param_descriptors,
)

__all__ = [
    "CLIPS",
    "FILTER_CONTEXT",
    "OUTPUT",
    "SOURCE",
    "STYLE",
    "ClipDescriptor",
    "ClipPreferences",
    "EffectDescriptor",
    "OfxStyleTransferEffect",
    "ParamDescriptor",
    "describe",
    "describe_in_context",
    "frame_ranges",
    "param_descriptors",
]
