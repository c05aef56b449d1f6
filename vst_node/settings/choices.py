"""Every choice list a preset or a command line offers, in one place: the algorithms read them here."""

from __future__ import annotations

from vst_node.ops.warp import WARP_MODES

# How frames are stylized: each optimised (Ruder et al. 2016), or by a trained network (Johnson et al.
# 2016) in one forward pass (engine.feedforward).
METHODS: tuple[str, ...] = ("optimise", "feedforward")
# Where the network's instance normalisation takes its mean and variance: from each frame, or from
# the whole shot (sampled frames, frozen for the render; Wang et al. 2020), against long-term drift.
NETWORK_STATISTICS: tuple[str, ...] = ("frame", "shot")

# Optical flow (engine.flow implements each). matched: descriptor matches interpolated and fused
# with DIS per pixel, for motion DIS loses (engine.flow_matched); auto: DIS, and matched on the
# pairs where DIS's forward and backward flows disagree on many pixels.
FLOW_BACKENDS: tuple[str, ...] = ("dis", "deepflow", "farneback", "matched", "auto")
DIS_PRESETS: tuple[str, ...] = ("ultrafast", "fast", "medium")
# The backends that run DIS (with flow.dis_preset) as all or part of their work.
DIS_BACKENDS: tuple[str, ...] = ("dis", "matched", "auto")

# The style distance between feature distributions (engine.style_loss implements each).
STYLE_LOSSES: tuple[str, ...] = ("gram", "mean_var", "sliced_wasserstein")

# How a finished frame is resampled along the flow for the next frame's start and temporal target
# (the interpolations ops.warp implements; bicubic keeps the strokes sharp over a long shot).
RESAMPLING: tuple[str, ...] = WARP_MODES

# rho of the temporal loss: the square, or the robust absolute value of Ruder et al.'s appendix.
TEMPORAL_PENALTIES: tuple[str, ...] = ("squared", "absolute")

# The pixel optimiser (engine.optimise implements each).
OPTIMISERS: tuple[str, ...] = ("lbfgs", "adam")

# Where a frame's optimisation starts: the first frame, and every later one.
# network: the preset's trained network's output (a start that already looks painted).
FIRST_INITS: tuple[str, ...] = ("random", "content", "network")
LATER_INITS: tuple[str, ...] = ("random", "content", "previous", "previous_warped")

# What fills pixels the flow cannot carry over (disoccluded) in the warped start image.
FILL_MODES: tuple[str, ...] = ("content", "mean", "network")

# Where the network runs, and the dtype VGG runs in while a frame is optimised.
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
# float32: everything in single precision (the default; every published figure uses it).
# bfloat16: VGG's convolutions run in bfloat16 under autocast, where tensor cores make them several
# times faster; the pixels, the losses and L-BFGS's history stay float32. bfloat16 keeps float32's
# range, so no loss scaling is needed (float16 would overflow the 0-255 activations' Gram sums).
PRECISION_CHOICES: tuple[str, ...] = ("float32", "bfloat16")

# The layers of VGG-19 a preset may name (relu1_1 .. relu5_4).
VGG19_LAYERS: tuple[str, ...] = tuple(
    f"relu{block}_{n}"
    for block, convs in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))
    for n in range(1, convs + 1)
)
