"""Choosing the torch device (CUDA when present, CPU otherwise) and the network's precision."""

from __future__ import annotations

import contextlib

import torch

from vst_node.errors import VstError
from vst_node.settings.choices import DEVICE_CHOICES, PRECISION_CHOICES


def resolve_device(choice: str = "auto") -> torch.device:
    """'auto' picks CUDA when available; asking for CUDA without one is an error, not a silent CPU run."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VstError(f"--device {choice}: no CUDA GPU is available to torch {torch.__version__}")
        return torch.device(choice)
    raise VstError(f"--device: expected one of {', '.join(DEVICE_CHOICES)}, got {choice!r}")


def resolve_precision(choice: str, device: torch.device) -> torch.dtype:
    """The dtype VGG runs in; asking for bfloat16 on a GPU without it is an error, not a slow run."""
    if choice == "float32":
        return torch.float32
    if choice == "bfloat16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise VstError(
                f"--precision bfloat16: {torch.cuda.get_device_name(device)} has no bfloat16 support"
            )
        return torch.bfloat16
    raise VstError(f"--precision: expected one of {', '.join(PRECISION_CHOICES)}, got {choice!r}")


def network_precision(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast for the network's forward (and so its backward) when dtype is not float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
