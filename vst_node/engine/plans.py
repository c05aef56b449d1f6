"""What each frame's optimisation gets, decided by the walk it is part of.

The single sequential pass and every multi-pass pass describe a frame the same way (a FramePlan),
so the node renders both through one code path; only how neighbours, budget and temporal loss are
chosen differs, and that lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vst_node.engine.multipass import PassStore
from vst_node.engine.schedule import Schedule, neighbours_in
from vst_node.settings import Preset


@dataclass
class FramePlan:
    """One frame to optimise."""

    t: int
    pass_index: int
    neighbours: list[tuple[int, int, np.ndarray]]  # (offset j, frame, its result), nearest first
    iterations: int
    temporal_loss: bool  # whether the temporal terms enter the loss (else they shape the start only)
    upcoming: tuple[int, list[int]] | None = None  # the next frame and its neighbours: flows to prefetch
    own_last_pass: np.ndarray | None = None  # multi-pass: this frame's result of the pass before
    # A farm chunk's last frames: (the next chunk's anchor, its result, how far towards it).
    lead: tuple[int, np.ndarray, float] | None = None


@dataclass(frozen=True)
class LeadIn:
    """The finished frame after a run (a farm chunk's boundary, its next chunk's anchor) that the
    run's last `span` frames are steered into, so that the boundary pair is as steady as any other.

    A frame d frames before the anchor moves 1/(d+1) of its remaining difference towards the warped
    anchor (start image and temporal target alike): the last frame half way, the one before a third,
    ... The difference between the two independently started renders is spread evenly over the
    span + 1 pairs instead of landing on one.
    """

    frame: int
    result: np.ndarray  # caffe space, processing size
    span: int

    def share(self, distance: int) -> float:
        """How far towards the anchor a frame `distance` frames before it is pulled (0 outside the span)."""
        return 1.0 / (distance + 1) if 1 <= distance <= self.span else 0.0


def uses_previous(preset: Preset) -> bool:
    """Whether a frame reads its predecessor at all (temporal loss or a start from it)."""
    if preset.method == "feedforward":
        return False  # the network sees each frame alone
    return preset.temporal.enabled or preset.init.later in ("previous", "previous_warped")


def temporal_offsets(preset: Preset) -> tuple[int, ...]:
    """J: how far back a frame reaches (the warped-previous init alone needs only t-1)."""
    if preset.method == "feedforward":
        return ()
    if preset.temporal.enabled:
        return preset.temporal.offsets
    return (1,) if uses_previous(preset) else ()


def sequential_plan(
    preset: Preset,
    schedule: Schedule,
    finished: Mapping[int, np.ndarray],
    t: int,
    lead_in: LeadIn | None = None,
    full_budget: bool = False,
) -> FramePlan:
    """Frame t of the single pass: its finished neighbours, the first frame's budget when it has none;
    lead_in: the finished frame just after the schedule's last, which its last frames lead into;
    full_budget: every frame gets the first frame's budget (frames far apart, e.g. a farm's anchors)."""
    offsets = temporal_offsets(preset)
    neighbours = [(j, f, finished[f]) for j, f in schedule.neighbours(t, offsets)]
    nxt = schedule.next(t) if uses_previous(preset) else None
    opt = preset.optimiser
    return FramePlan(
        t=t,
        pass_index=0,
        neighbours=neighbours,
        iterations=opt.iterations if neighbours and not full_budget else opt.iterations_first,
        temporal_loss=preset.temporal.enabled,
        upcoming=None if nxt is None else (nxt, [f for _, f in schedule.neighbours(nxt, offsets)]),
        lead=_lead(lead_in, schedule, t) if uses_previous(preset) else None,
    )


def run_up(preset: Preset, schedule: Schedule) -> list[int]:
    """The frames walked before the schedule's first frame, farthest first (init.run_up of them).

    A shot's first frame starts from the content and gets one budget; every later frame starts from
    its predecessor carried along the flow, so it inherits that frame's iterations and is resampled
    on the way: without a run-up the look keeps settling over the first frames (the first one
    crisper, noisier and further from the style than the rest). Rendering frames k, ..., 2 first and
    the first frame from the second, as if the shot ran backwards into it, gives the first frame that
    history too. The run-up's own results are discarded: frames 2..k are rendered again, in order.
    """
    if not uses_previous(preset) or preset.multipass.passes > 1:
        return []
    return list(reversed(schedule.frames[1 : 1 + preset.init.run_up]))


def _lead(lead_in: LeadIn | None, schedule: Schedule, t: int) -> tuple[int, np.ndarray, float] | None:
    if lead_in is None:
        return None
    share = lead_in.share(len(schedule.frames) - schedule.index[t])  # the anchor follows the last frame
    return (lead_in.frame, lead_in.result, share) if share > 0 else None


def pass_plan(
    preset: Preset, store: PassStore, order: list[int], position: int, pass_index: int
) -> FramePlan:
    """Frame order[position] of a multi-pass pass (Ruder et al. 2016, section 4.4): pass 0 alone,
    later passes from the frame's last result blended with the neighbour this pass just finished."""
    settings = preset.multipass
    t = order[position]
    plan = FramePlan(t=t, pass_index=pass_index, neighbours=[], iterations=settings.iterations,
                     temporal_loss=False)  # fmt: skip
    if pass_index == 0:
        return plan
    plan.own_last_pass = store.get(pass_index - 1, t)
    if plan.own_last_pass is None:
        raise RuntimeError(f"pass {pass_index - 1} has no result for frame {t}")
    offsets = preset.temporal.offsets
    plan.neighbours = [(j, f, store.get(pass_index, f)) for j, f in neighbours_in(order, position, offsets)]
    plan.temporal_loss = preset.temporal.enabled and pass_index >= settings.temporal_from
    if position + 1 < len(order):
        plan.upcoming = (order[position + 1], [f for _, f in neighbours_in(order, position + 1, offsets)])
    return plan
