"""How much a frame leans on its warped neighbour when the flow may be wrong.

The temporal loss and the warped start help only where the flow follows the picture; where it does
not (a cut, motion no backend can follow), they drag strokes the wrong way and the frame flickers
more than one stylized on its own. The evidence is the share of the frame the flow tracks (mean
reliability c, forward-backward consistency): a frame's trust in its neighbour rises linearly from 0
at `temporal.trust_from` to 1 at `temporal.trust_full`. Trust scales the temporal weights, blends
the start towards the frame's own fresh start (content, network or noise, as a first frame) and
gives back the first frame's budget, so a frame the flow cannot follow is rendered exactly as a
frame on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vst_node.engine.stylize import TemporalTerm
from vst_node.settings import OptimiserSettings, Preset


def trust(reliable: float, trust_from: float, trust_full: float) -> float:
    """0 below trust_from, 1 above trust_full, linear in between (trust_full <= trust_from: a step)."""
    if reliable >= trust_full:
        return 1.0
    if reliable <= trust_from:
        return 0.0
    return (reliable - trust_from) / (trust_full - trust_from)


def trusted_budget(later: int, first: int, trust_in_neighbour: float) -> int:
    """Iterations between the later budget (full trust) and the first frame's (none)."""
    return round(later + (1.0 - trust_in_neighbour) * max(first - later, 0))


@dataclass(frozen=True)
class GiveWay:
    """One frame's trust in its neighbour, and what it does to start, terms and budget."""

    trust: float

    @classmethod
    def for_frame(cls, preset: Preset, reliable: float) -> GiveWay:
        t = preset.temporal
        return cls(trust(reliable, t.trust_from, t.trust_full))

    @property
    def full(self) -> bool:
        return self.trust >= 1.0

    def start(self, warped_start: torch.Tensor, fresh_start: torch.Tensor) -> torch.Tensor:
        return self.trust * warped_start + (1.0 - self.trust) * fresh_start

    def terms(self, terms: list[TemporalTerm]) -> list[TemporalTerm]:
        if self.trust <= 0.0:
            return []
        return [TemporalTerm(term.warped, term.weights * self.trust) for term in terms]

    def budget(self, optimiser: OptimiserSettings) -> int:
        return trusted_budget(optimiser.iterations, optimiser.iterations_first, self.trust)
