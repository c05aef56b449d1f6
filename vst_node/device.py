"""Choosing the torch device: CUDA when present (or asked for), CPU otherwise."""

from __future__ import annotations

import torch

from .errors import VstError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


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
