"""Choosing the torch device (CUDA when present, CPU otherwise) and the network's precision."""

from __future__ import annotations

import contextlib

import torch

from vst_node.errors import VstError
from vst_node.settings.choices import DEVICE_CHOICES, PRECISION_CHOICES

BF16_CAPABILITY = (8, 0)  # the first compute capability with bfloat16 tensor cores


def resolve_device(choice: str = "auto") -> torch.device:
    """'auto' picks CUDA when available; asking for CUDA without one is an error, not a silent CPU run."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VstError(f"--device {choice}: no CUDA GPU is available to torch {torch.__version__}")
        try:
            device = torch.device(choice)
        except RuntimeError as exc:
            raise VstError(f"--device {choice}: {exc}") from exc
        # "cuda" alone means the current device of whichever thread asks: pin it once, so that an
        # OFX host calling from another thread (or the flow worker) uses the same GPU.
        index = torch.cuda.current_device() if device.index is None else device.index
        if not 0 <= index < torch.cuda.device_count():
            raise VstError(f"--device {choice}: torch sees {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    raise VstError(f"--device: expected one of {', '.join(DEVICE_CHOICES)}, got {choice!r}")


def resolve_precision(choice: str, device: torch.device) -> torch.dtype:
    """The dtype VGG runs in; asking for bfloat16 on a GPU without it is an error, not a slow run."""
    if choice == "float32":
        return torch.float32
    if choice == "bfloat16":
        # is_bf16_supported() also accepts emulation, and asks about the current device, not this
        # one: bfloat16 units arrive with compute capability 8.0 (Ampere).
        if device.type == "cuda" and torch.cuda.get_device_capability(device) < BF16_CAPABILITY:
            major, minor = torch.cuda.get_device_capability(device)
            raise VstError(
                f"--precision bfloat16: {torch.cuda.get_device_name(device)} (compute capability "
                f"{major}.{minor}) has no bfloat16 units; they need {BF16_CAPABILITY[0]}.{BF16_CAPABILITY[1]}"
            )
        return torch.bfloat16
    raise VstError(f"--precision: expected one of {', '.join(PRECISION_CHOICES)}, got {choice!r}")


def configure_numerics(device: torch.device) -> None:
    """IEEE float32 and deterministic kernels on CUDA, for the whole process.

    torch lets cuDNN convolutions use TF32 by default on Ampere and later, which is not the float32
    the results are measured in; and cuDNN's autotuner may pick other kernels from run to run
    (by free workspace memory), which L-BFGS and the temporal chain amplify, so the same frame
    rendered in another order could differ. Both are switched off. The flags are process-wide
    (torch has no per-thread setting); nothing changes on the CPU.
    """
    if device.type != "cuda":
        return
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def network_precision(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast for the network's forward (and so its backward) when dtype is not float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
