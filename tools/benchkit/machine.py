"""Where a benchmark ran (for its JSON and the README), synchronised timing, and the JSON writer."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def synchronize(device) -> None:
    """Wait for queued CUDA work (device: str or torch.device), so a clock reads what it really took."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, work: Callable[[], T]) -> tuple[T, float]:
    """`work()` and the seconds it took, with the device's queue drained before and after."""
    synchronize(device)
    started = time.perf_counter()
    result = work()
    synchronize(device)
    return result, time.perf_counter() - started


def describe() -> str:
    """A one-line description of this machine's CPU and system."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def device_name(device: str) -> str | None:
    """The GPU's name for a CUDA device (None for the CPU, or where torch sees no CUDA)."""
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return None


def banner(device: str) -> str:
    """The machine line the scripts print above their tables."""
    import torch

    return f"machine: {describe()}, torch threads {torch.get_num_threads()}, device {device}"


def write_results(path: Path | None, device: str, payload: dict) -> None:
    """The benchmark's JSON, stamped with where it ran (machine, torch threads, device, GPU name)."""
    if path is None:
        return
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = {"machine": describe(), "torch_threads": torch.get_num_threads(), "device": device}
    if name := device_name(device):
        stamp["device_name"] = name
    path.write_text(json.dumps({**stamp, **payload}, indent=2) + "\n")
