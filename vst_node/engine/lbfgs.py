"""L-BFGS whose every number stays on the device: no host read inside an iteration.

torch.optim.LBFGS converts the loss to a Python float, branches on tensors (curvature, descent and
tolerance checks) and hands 0-dim tensors to kernels as `alpha=`, each of which makes the host wait
for the GPU's queue: about 50 reads per iteration, 200 once the history is full. This is the same
algorithm without line search (Nocedal & Wright, algorithm 7.4: the two-loop recursion; the first
step scaled by 1/|g|_1 and H0 = y.s / y.y, as torch does), written so that the host only counts
iterations:

- the curvature check (y.s > 1e-10) is a `torch.where`: a rejected pair is stored with rho = 0,
  which makes it a no-op in the recursion (torch drops it instead, so here it takes a history slot
  until it ages out; the only difference in the iterates);
- a direction that climbs (g.d > 0) gives a zero step (torch ends the call there; the next call,
  like the next iteration here, starts from the same point);
- torch's tolerance checks on the gradient, the step and the loss change are left out: vst-node
  calls LBFGS with those tolerances at 0, and its own stopping rule reads the loss once per window.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

CURVATURE_EPS = 1e-10  # torch's threshold on y.s for keeping a pair
# torch stops a call when g.d > -tolerance_change; vst-node ran it with tolerance_change = 0.
DESCENT_TOLERANCE = 0.0


class DeviceLBFGS:
    """Minimises the closure's loss over one tensor `x` (updated in place)."""

    def __init__(self, x: Tensor, lr: float = 1.0, history_size: int = 100) -> None:
        if history_size < 1:
            raise ValueError(f"history_size must be >= 1, got {history_size}")
        self.x = x
        self.lr = lr
        self.history_size = history_size
        self.n_iter = 0  # over the optimiser's lifetime, like torch's state["n_iter"]
        self._dirs: list[Tensor] = []  # y_k = g_{k+1} - g_k
        self._steps: list[Tensor] = []  # s_k = t_k d_k
        self._rhos: list[Tensor] = []  # 1 / (y_k . s_k), 0 for a rejected pair
        self._newest = -1  # ring index of the newest pair
        self._h_diag: Tensor | None = None
        self._direction: Tensor | None = None
        self._step_size: Tensor | None = None
        self._previous_grad: Tensor | None = None
        self._grad: Tensor | None = None  # at the current x; None: evaluate it first

    def _evaluate(self, closure: Callable[[], Tensor]) -> Tensor:
        with torch.enable_grad():
            closure()
        if self.x.grad is None:
            raise RuntimeError("the closure did not compute a gradient for x")
        return self.x.grad.detach().reshape(-1)

    def _remember(self, y: Tensor, s: Tensor, rho: Tensor) -> None:
        if len(self._dirs) < self.history_size:
            self._dirs.append(y)
            self._steps.append(s)
            self._rhos.append(rho)
            self._newest = len(self._dirs) - 1
        else:
            self._newest = (self._newest + 1) % self.history_size
            self._dirs[self._newest], self._steps[self._newest], self._rhos[self._newest] = y, s, rho

    def _two_loop(self, grad: Tensor) -> Tensor:
        """-H grad by the two-loop recursion over the stored pairs, newest first."""
        count = len(self._dirs)
        order = [(self._newest - k) % count for k in range(count)]
        q = grad.neg()
        alphas = []
        for i in order:
            alpha = self._steps[i].dot(q) * self._rhos[i]
            q.addcmul_(self._dirs[i], alpha, value=-1.0)
            alphas.append(alpha)
        assert self._h_diag is not None
        r = q.mul_(self._h_diag)
        for i, alpha in zip(reversed(order), reversed(alphas), strict=True):
            beta = self._dirs[i].dot(r) * self._rhos[i]
            r.addcmul_(self._steps[i], alpha - beta)
        return r

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor], iterations: int) -> int:
        """Run `iterations` iterations (one closure evaluation each, plus the starting point's on the
        first call); returns how many ran."""
        grad = self._grad if self._grad is not None else self._evaluate(closure)
        for _ in range(iterations):
            self.n_iter += 1
            if self.n_iter == 1:
                direction = grad.neg()
                self._h_diag = torch.ones((), dtype=grad.dtype, device=grad.device)
                step_size = (grad.abs().sum().reciprocal().clamp(max=1.0) * self.lr).to(grad.dtype)
            else:
                assert self._previous_grad is not None and self._direction is not None
                y = grad - self._previous_grad
                s = self._direction * self._step_size
                ys = y.dot(s)
                accept = ys > CURVATURE_EPS
                self._remember(y, s, torch.where(accept, ys.reciprocal(), torch.zeros_like(ys)))
                self._h_diag = torch.where(accept, ys / y.dot(y), self._h_diag)
                direction = self._two_loop(grad)
                step_size = torch.full((), self.lr, dtype=grad.dtype, device=grad.device)
            self._previous_grad = grad
            descent = grad.dot(direction) <= -DESCENT_TOLERANCE
            step_size = torch.where(descent, step_size, torch.zeros_like(step_size))
            self.x.addcmul_(direction.view_as(self.x), step_size)
            self._direction, self._step_size = direction, step_size
            grad = self._evaluate(closure)
        # Evaluated at the new point, unlike torch's last iteration of a call: the caller's loss then
        # belongs to the x it holds (a window's "best" image is the one its loss was read for), and the
        # next call starts from this gradient, so the iterates and the evaluation count stay torch's
        # (one more in all, after the last call).
        self._grad = grad
        return iterations
