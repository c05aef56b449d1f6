"""`vst-node train`: the training loop as a long job done right.

The package flows one way: content (the photographs) -> crops (random views) -> objective (the
preset's content and style losses through VGG-19) and stability (noise and compound terms) -> here.

Budgets in steps and minutes (whichever ends first), a checkpoint written atomically every minute
and on Ctrl-C or SIGTERM (after the step in progress) beside the model (`model.pt.ckpt`),
`--resume` from it, and the same network for the same seed and step count: every random draw of
step k comes from a generator seeded by (seed, k), so an interrupted and resumed run equals an
uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from vst_node.engine.device import configure_numerics, resolve_device
from vst_node.engine.network_file import NetworkFile, atomic_save, look_digest, save_network
from vst_node.engine.transformer import Architecture, TransformerNet
from vst_node.errors import VstError
from vst_node.ops.losses import total_variation
from vst_node.settings import Preset, TrainingSettings
from vst_node.training.content import TrainingImage, builtin_images, summary, user_images
from vst_node.training.crops import prepared, random_batch, step_generator
from vst_node.training.objective import PerceptualObjective
from vst_node.training.stability import compound_loss, noise_loss

CHECKPOINT_FORMAT = "vst-node-training-checkpoint"
CHECKPOINT_SECONDS = 60.0
# Settings that may change between a run and its resumption: the budget only.
BUDGET_FIELDS = ("steps", "minutes")


class TrainingError(VstError):
    """Training cannot start or continue (bad checkpoint, no images)."""


@dataclass
class TrainJob:
    preset: Preset
    output: Path
    images: Sequence[Path] = ()  # empty: the built-in photographs
    resume: bool = False
    device: str = "auto"


@dataclass
class TrainReport:
    steps: int
    seconds: float
    device: str
    losses: dict[str, float]  # mean over the last steps, weighted terms
    network: NetworkFile
    stopped_by: str  # "steps" | "minutes" | "interrupted"
    history: list[dict[str, float]] = field(default_factory=list)


def checkpoint_path(output: Path) -> Path:
    return Path(str(output) + ".ckpt")


def _settings_dict(settings: TrainingSettings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def _weighted_terms(
    net: TransformerNet,
    objective: PerceptualObjective,
    x: torch.Tensor,
    settings: TrainingSettings,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Every weighted loss term of one batch; their sum is what the optimiser minimises."""
    styled = net(x)
    perceptual = objective(styled, x)
    terms = {
        "content": settings.content * perceptual["content"],
        "style": settings.style * perceptual["style"],
    }
    if settings.tv > 0:
        terms["tv"] = settings.tv * total_variation(styled)
    # With both stability terms on, each takes half the batch: one extra forward pass per step
    # instead of two (the network's own passes are a third of a CPU step's time).
    both = settings.noise > 0 and settings.compound > 0 and x.shape[0] > 1
    half = x.shape[0] // 2 if both else x.shape[0]
    if settings.noise > 0:
        amplitude = settings.noise_range / 255.0
        terms["noise"] = settings.noise * noise_loss(
            net, x[:half], styled[:half], settings.noise_pixels, amplitude, generator
        )
    if settings.compound > 0:
        rest = slice(half, None) if both else slice(None)
        terms["compound"] = settings.compound * compound_loss(
            net, x[rest], styled[rest], settings.compound_shift, settings.compound_sigma, generator
        )
    return terms


class Trainer:
    """One training run; `run()` until a budget ends, checkpointing on the way."""

    def __init__(self, job: TrainJob, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.job = job
        self.settings = job.preset.training
        self.device = resolve_device(job.device)
        configure_numerics(self.device)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        images: list[TrainingImage] = (
            user_images(job.images, job.preset.colour.input) if job.images else builtin_images()
        )
        self.data = summary(images, builtin=not job.images)
        self.crops = [x.to(self.device) for x in prepared(images, self.settings.crop)]
        # The look as the style image is read now: repainting the file mid-run must not relabel the
        # network (the digest hashes the image's bytes).
        self.look = look_digest(job.preset)
        self.objective = PerceptualObjective(job.preset, self.device)
        architecture = Architecture(self.settings.width, self.settings.residual_blocks)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.settings.seed)
            self.net = TransformerNet(architecture).to(self.device)
        self.optimiser = torch.optim.Adam(self.net.parameters(), lr=self.settings.learning_rate)
        self.step = 0
        self.elapsed = 0.0  # seconds over every run of this training, resumed ones included
        self.history: list[dict[str, float]] = []
        if job.resume:
            self._load_checkpoint()

    # -- checkpoints ------------------------------------------------------------------------------

    def _identity(self) -> dict[str, Any]:
        """What a checkpoint must share with this run to be continued by it."""
        settings = {k: v for k, v in _settings_dict(self.settings).items() if k not in BUDGET_FIELDS}
        return {"look": self.look, "settings": settings, "data": self.data}

    def save_checkpoint(self) -> None:
        atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
                "identity": self._identity(),
                "net": self.net.state_dict(),
                "optimiser": self.optimiser.state_dict(),
                "step": self.step,
                "elapsed": self.elapsed,
                "history": self.history[-2000:],
            },
            checkpoint_path(self.job.output),
        )

    def _load_checkpoint(self) -> None:
        path = checkpoint_path(self.job.output)
        if not path.is_file():
            raise TrainingError(f"--resume: no checkpoint {path} (start without --resume)")
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as exc:
            raise TrainingError(f"--resume: {path} is not a readable checkpoint ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise TrainingError(f"--resume: {path} is not a vst-node training checkpoint")
        mine, theirs = self._identity(), state["identity"]
        for key, what in (("look", "the preset's style"), ("settings", "the training settings"),
                          ("data", "the training images")):  # fmt: skip
            if mine[key] != theirs.get(key):
                detail = ""
                if key == "settings":
                    changed = sorted(k for k in mine[key] if mine[key][k] != theirs[key].get(k))
                    detail = f" ({', '.join(changed)})"
                raise TrainingError(
                    f"--resume: {path} was made with other {what}{detail}; resume with the same ones, or"
                    " start again without --resume"
                )
        self.net.load_state_dict(state["net"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        self.history = list(state.get("history", []))

    # -- the loop ---------------------------------------------------------------------------------

    def train_step(self) -> dict[str, float]:
        generator = step_generator(self.settings.seed, self.step)
        x = random_batch(self.crops, self.settings.crop, self.settings.batch, generator)
        self.optimiser.zero_grad(set_to_none=True)
        terms = _weighted_terms(self.net, self.objective, x, self.settings, generator)
        total = sum(terms.values())
        total.backward()
        self.optimiser.step()
        self.step += 1
        read = torch.stack([value.detach() for value in terms.values()]).tolist()  # one host read a step
        values = dict(zip(terms, read, strict=True))
        values["total"] = sum(values.values())
        if not math.isfinite(values["total"]):
            raise TrainingError(
                f"the loss became {values['total']} at step {self.step} ({values}); nothing was written"
                " after the last checkpoint: lower training.learning_rate or check the training images"
            )
        return values

    def run(self, on_step: Callable[[int, dict[str, float]], None] | None = None) -> TrainReport:
        settings = self.settings
        budget = settings.minutes * 60.0
        progress = _TrainProgress(settings.steps, self.stream, self.tty, start=self.step)
        progress.message(
            f"training {self.job.preset.name!r} on {self.device} ({torch.get_num_threads()} threads):"
            f" {self.data['count']} images, {settings.crop} px crops, batch {settings.batch},"
            f" width {settings.width}; budget {settings.steps} steps or {settings.minutes:g} min"
            + (f", resuming at step {self.step}" if self.step else "")
        )
        stopped_by = "steps"
        last_checkpoint = time.perf_counter()
        stop = _StopBetweenSteps()
        try:
            while self.step < settings.steps:
                stop.check()
                if self.elapsed >= budget:
                    stopped_by = "minutes"
                    break
                started = time.perf_counter()
                values = self.train_step()
                self.elapsed += time.perf_counter() - started
                self.history.append(values)
                progress.update(self.step, values, self.elapsed)
                if on_step is not None:
                    on_step(self.step, values)
                if time.perf_counter() - last_checkpoint >= CHECKPOINT_SECONDS:
                    self.save_checkpoint()
                    last_checkpoint = time.perf_counter()
        except _Stopped:
            self.save_checkpoint()  # between steps: the state of a whole number of steps
            progress.close()
            progress.message(
                f"interrupted at step {self.step}: checkpoint {checkpoint_path(self.job.output)} kept;"
                " continue with --resume"
            )
            raise KeyboardInterrupt from None
        finally:
            stop.restore()
        progress.close()
        self.save_checkpoint()
        recent = self.history[-50:]
        losses = {k: sum(v[k] for v in recent) / len(recent) for k in recent[0]} if recent else {}
        record = save_network(
            self.job.output, self.net, self.job.preset, self._training_record(losses), look=self.look
        )
        progress.message(
            f"wrote {self.job.output} after {self.step} steps in {self.elapsed / 60:.1f} min on {self.device}"
            f" (stopped by the {stopped_by} budget); loss {losses.get('total', float('nan')):.4f}"
        )
        return TrainReport(
            self.step, self.elapsed, str(self.device), losses, record, stopped_by, self.history
        )

    def _training_record(self, losses: dict[str, float]) -> dict[str, Any]:
        return {
            "settings": _settings_dict(self.settings),
            "data": self.data,
            "steps": self.step,
            "seconds": round(self.elapsed, 1),
            "device": str(self.device),
            "torch": str(torch.__version__),
            "losses": losses,
            "style_loss": self.job.preset.style_loss,
            "layers": {
                "content": list(self.job.preset.layers.content),
                "style": list(self.job.preset.layers.style),
            },
        }


class _Stopped(Exception):
    """Ctrl-C or SIGTERM arrived; raised between steps, never inside one."""


class _StopBetweenSteps:
    """Ctrl-C / SIGTERM only set a flag, so a checkpoint never holds half an optimiser step. The
    first signal waits for the step to end; a second Ctrl-C stops at once (the checkpoint of the last
    minute is kept)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, _frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: at once

    def check(self) -> None:
        if self.requested:
            raise _Stopped()

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}


class _TrainProgress:
    """A tqdm bar with the loss terms on a terminal; a plain line every LINE_SECONDS otherwise."""

    LINE_SECONDS = 30.0

    def __init__(self, total: int, stream: TextIO, tty: bool, start: int = 0) -> None:
        self.stream = stream
        self.tty = tty
        self._last_line = time.perf_counter()
        self.total = total
        self.bar = None
        if tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, file=stream, unit="step", dynamic_ncols=True)

    def update(self, step: int, values: dict[str, float], elapsed: float) -> None:
        shown = {k: f"{v:.3g}" for k, v in values.items()}
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix(shown, refresh=False)
            return
        now = time.perf_counter()
        if now - self._last_line >= self.LINE_SECONDS or step == self.total:
            self._last_line = now
            terms = " ".join(f"{k} {v}" for k, v in shown.items())
            self.stream.write(f"step {step}/{self.total} ({elapsed / max(step, 1):.2f} s/step) {terms}\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def train(job: TrainJob, stream: TextIO | None = None) -> TrainReport:
    return Trainer(job, stream).run()
