"""The per-frame optimiser: L-BFGS (or Adam) on the image pixels with the reference stopping rule.

Stopping rule (artistic-videos): every `window` iterations compare the loss with the loss `window`
iterations earlier and stop once the relative change is below `tolerance`. Losses stay on the device
between checks; the host reads one number per window, not one per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside the loop when the caller's cancel check says so; nothing partial is returned."""


@dataclass
class OptimiseResult:
    image: torch.Tensor
    iterations: int
    final_loss: float
    stopped_early: bool
    history: list[float] = field(default_factory=list)  # loss at each stopping-rule check


def optimise_image(
    x0: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    method: str = "lbfgs",
    iterations: int = 200,
    tolerance: float = 1e-4,
    window: int = 50,
    learning_rate: float = 1.0,
    cancel: CancelCheck | None = None,
) -> OptimiseResult:
    """Minimise loss_fn over the pixels of x0 (which is not modified)."""
    x = x0.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    window = max(1, min(window, iterations))
    if method == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [x],
            lr=learning_rate,
            max_iter=window,
            max_eval=int(window * 1.25) + 1,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            history_size=100,
        )
    elif method == "adam":
        opt = torch.optim.Adam([x], lr=learning_rate)
    else:
        raise ValueError(f"unknown optimiser {method!r}; expected 'lbfgs' or 'adam'")

    last_loss: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x)
        loss.backward()
        last_loss[:] = [loss.detach()]
        return loss

    done = 0
    history: list[float] = []
    previous: float | None = None
    stopped_early = False
    while done < iterations:
        if cancel is not None and cancel():
            raise Cancelled()
        chunk = min(window, iterations - done)
        if method == "lbfgs":
            opt.param_groups[0]["max_iter"] = chunk
            opt.param_groups[0]["max_eval"] = int(chunk * 1.25) + 1
            opt.step(closure)
            state = opt.state[opt._params[0]]
            ran = int(state.get("n_iter", done + chunk)) - done
            done += max(ran, 1)
        else:
            for _ in range(chunk):
                opt.step(closure)
            done += chunk
        current = float(last_loss[0])  # one host read per window
        history.append(current)
        if not math.isfinite(current):
            raise FloatingPointError(f"loss became {current} after {done} iterations")
        if previous is not None and abs(previous - current) <= tolerance * abs(previous):
            stopped_early = done < iterations
            break
        previous = current
    return OptimiseResult(x.detach(), done, history[-1], stopped_early, history)
