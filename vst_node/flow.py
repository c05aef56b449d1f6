"""Optical flow between two frames through OpenCV (DIS, DeepFlow, Farneback)."""

from __future__ import annotations

from dataclasses import dataclass

FLOW_BACKENDS = ("dis", "deepflow", "farneback")
DIS_PRESETS = ("ultrafast", "fast", "medium")


@dataclass(frozen=True)
class FlowSettings:
    """Everything that changes the flow field; its key() is part of the on-disk cache key."""

    backend: str = "dis"
    dis_preset: str = "medium"

    def key(self) -> str:
        return f"{self.backend}-{self.dis_preset}" if self.backend == "dis" else self.backend
