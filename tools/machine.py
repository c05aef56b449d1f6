"""A one-line description of the machine a benchmark ran on, for its JSON and the README."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def synchronize(device) -> None:
    """Wait for queued CUDA work (device: str or torch.device), so a clock reads what it really took."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def describe() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def write_results(path: Path | None, device: str, payload: dict) -> None:
    """The benchmark's JSON, stamped with where it ran (machine, torch threads, device)."""
    if path is None:
        return
    import json

    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = {"machine": describe(), "torch_threads": torch.get_num_threads(), "device": device}
    path.write_text(json.dumps({**stamp, **payload}, indent=2))
