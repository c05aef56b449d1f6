"""Counting host reads: the calls that make the CPU wait for the device to finish its queue.

On a GPU every `.item()`, `float(t)`, `bool(t)`, `int(t)` or `.tolist()` of a device tensor drains the
queue, and so does a 0-dim tensor handed to a kernel as `alpha=` (torch reads it on the host). On
the CPU they cost nothing, but they are the same calls: counted here, a CPU run shows how often a
GPU run would stall.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

READS = {
    torch.Tensor.item,
    torch.Tensor.tolist,
    torch.Tensor.__float__,
    torch.Tensor.__bool__,
    torch.Tensor.__int__,
    torch.Tensor.__index__,
}


class HostReadCounter(TorchFunctionMode):
    """with HostReadCounter() as reads: ...; reads.count is the number of host reads inside."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.by_kind: dict[str, int] = {}

    def _add(self, kind: str) -> None:
        self.count += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in READS:
            self._add(getattr(func, "__name__", str(func)))
        elif isinstance(kwargs.get("alpha"), torch.Tensor):
            self._add("alpha=tensor")
        return func(*args, **kwargs)
