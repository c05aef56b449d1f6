"""The per-frame optimiser: L-BFGS (or Adam) on the image pixels with the reference stopping rule.

Stopping rule (artistic-videos): every `window` iterations compare the loss with the loss `window`
iterations earlier and stop once the relative change is below `tolerance`. Losses stay on the device
between checks; the host reads one number per window, not one per iteration.

L-BFGS runs without a line search, like the reference code: fast, but on rare frames a step
overshoots and the loss runs off (to 10x its starting value, inf or NaN). Then the best image so far
is restored and the rest of the budget runs with a strong-Wolfe line search, which cannot diverge
that way; a second divergence (or one with Adam) ends the frame. The result is always the
lowest-loss image seen at a check (or the start), never a worse one; only a loss that is not finite
at the start raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from vst_node.engine.lbfgs import DeviceLBFGS
from vst_node.settings.choices import OPTIMISERS

CancelCheck = Callable[[], bool]
# (iterations done, loss): called at each stopping check, where the loss is read anyway.
WindowCallback = Callable[[int, float], None]
DIVERGED = 10.0  # a window ending above this many times the best loss so far has diverged


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
    history_size: int = 100,
    on_window: WindowCallback | None = None,
) -> OptimiseResult:
    """Minimise loss_fn over the pixels of x0 (which is not modified); on_window reports progress."""
    x = x0.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    window = max(1, min(window, iterations))
    if method not in OPTIMISERS:
        raise ValueError(f"unknown optimiser {method!r}; expected one of {', '.join(OPTIMISERS)}")
    opt = _optimiser(method, x, learning_rate, window, history_size=history_size)
    best: tuple[float, torch.Tensor] | None = None  # (loss, image) at the start or a check
    safe = False  # switched to the line search after a divergence

    last_loss: list[torch.Tensor] = []
    start_loss: list[torch.Tensor] = []  # the loss at x0, from the first evaluation

    def closure() -> torch.Tensor:
        x.grad = None
        loss = loss_fn(x)
        loss.backward()
        last_loss[:] = [loss.detach()]
        if not start_loss:
            start_loss.append(loss.detach())
        return loss

    done = 0
    history: list[float] = []
    previous: float | None = None
    stopped_early = False
    while done < iterations:
        if cancel is not None and cancel():
            raise Cancelled()
        chunk = min(window, iterations - done)
        if isinstance(opt, DeviceLBFGS):
            done += opt.step(closure, chunk)  # no host read inside: the loss is read below
        elif method == "lbfgs":  # torch's, with its line search, after a divergence
            opt.param_groups[0]["max_iter"] = chunk
            opt.param_groups[0]["max_eval"] = int(chunk * 1.25) + 1
            before = int(opt.state[opt._params[0]].get("n_iter", 0))
            opt.step(closure)
            ran = int(opt.state[opt._params[0]].get("n_iter", before + chunk)) - before
            done += max(ran, 1)
        else:
            for _ in range(chunk):
                opt.step(closure)
            done += chunk
        if best is None:  # the first window reads the starting loss with its own: still one read
            current, first = torch.stack([last_loss[0], start_loss[0]]).tolist()
            best = (first, x0.detach().clone())
        else:
            current = float(last_loss[0])  # one host read per window
        if not math.isfinite(current) or current > DIVERGED * best[0]:
            if not math.isfinite(best[0]):
                raise FloatingPointError(f"loss became {current} after {done} iterations")
            if method != "lbfgs" or safe:  # no way left to go on: keep the best image
                with torch.no_grad():
                    x.copy_(best[1])
                stopped_early = True
                break
            safe = True
            with torch.no_grad():
                x.copy_(best[1])
            opt = _optimiser(method, x, learning_rate, window, line_search=True, history_size=history_size)
            continue
        history.append(current)
        if on_window is not None:
            on_window(done, current)
        if current < best[0]:
            best = (current, x.detach().clone())
        if previous is not None and abs(previous - current) <= tolerance * abs(previous):
            stopped_early = done < iterations
            break
        previous = current
    assert best is not None
    if not history or best[0] < history[-1]:
        return OptimiseResult(best[1], done, best[0], stopped_early, [*history, best[0]])
    return OptimiseResult(x.detach(), done, history[-1], stopped_early, history)


def _optimiser(
    method: str,
    x: torch.Tensor,
    learning_rate: float,
    window: int,
    line_search: bool = False,
    history_size: int = 100,
) -> torch.optim.Optimizer | DeviceLBFGS:
    if method == "adam":
        return torch.optim.Adam([x], lr=learning_rate)
    if not line_search:
        return DeviceLBFGS(x, lr=learning_rate, history_size=history_size)
    return torch.optim.LBFGS(
        [x],
        lr=learning_rate,
        max_iter=window,
        max_eval=int(window * 1.25) + 1,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        history_size=history_size,  # 2 x this many image-sized vectors: ~5 GB at 1080p with 100
        line_search_fn="strong_wolfe" if line_search else None,
    )
