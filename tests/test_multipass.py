"""Multi-pass (Ruder et al. 4.4): order, blend, when the temporal loss starts, stores, CLI resume."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from vst_node.engine.multipass import (
    DiskPassStore,
    MemoryPassStore,
    blended_init,
    last_complete_pass,
    pass_order,
)
from vst_node.engine.node import StyleTransferNode
from vst_node.engine.optimise import Cancelled, OptimiseResult
from vst_node.faces.progress import Progress
from vst_node.faces.render import RenderJob, render_sequence
from vst_node.io.image_io import read_frame
from vst_node.io.sequence import SequencePattern
from vst_node.settings import load_preset

from .conftest import TINY

PASSES = (*TINY, "multipass.passes=4", "multipass.iterations=3", "multipass.temporal_from=2")


def test_passes_alternate_direction():
    assert pass_order([1, 2, 3], 0) == [1, 2, 3]
    assert pass_order([1, 2, 3], 1) == [3, 2, 1]
    assert pass_order([1, 2, 3], 2) == [1, 2, 3]


def test_blend_follows_the_formula():
    warped, own = torch.full((1, 3, 2, 2), 10.0), torch.full((1, 3, 2, 2), 2.0)
    c = torch.tensor([[[[1.0, 0.0], [0.5, 1.0]]]])
    out = blended_init(warped, c, own, blend=0.5)
    expected = 0.5 * c * 10.0 + (1 - 0.5 * c) * 2.0
    torch.testing.assert_close(out, expected.expand_as(out))


class _Spy:
    """Stands in for the optimiser: records what each call got and returns its init unchanged."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int, torch.Tensor]] = []  # (pass, frame, n terms, init)

    def install(self, node: StyleTransferNode) -> None:
        def optimise(content, init, terms, iterations, on_window=None):
            pass_index, frame = node.rendering
            self.calls.append((pass_index, frame, len(terms), init.clone()))
            return OptimiseResult(init.clone(), iterations, 0.0, False, [0.0])

        node._optimise = optimise  # type: ignore[method-assign]


def test_schedule_blend_and_temporal_start(tiny_frames):
    static = [tiny_frames[0]] * 4  # no motion: zero flow, c = 1 inside the frame
    node = StyleTransferNode(load_preset("default", PASSES), device="cpu")
    spy = _Spy()
    spy.install(node)
    node.begin_sequence(range(4))
    node.render(2, lambda t: static[t])
    order = [(p, f) for p, f, _, _ in spy.calls]
    assert order == [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 3), (1, 2), (1, 1), (1, 0),
        (2, 0), (2, 1), (2, 2), (2, 3), (3, 3), (3, 2), (3, 1), (3, 0),
    ]  # fmt: skip
    terms = {(p, f): n for p, f, n, _ in spy.calls}
    assert all(n == 0 for (p, _), n in terms.items() if p < 2)  # temporal loss only from pass 2
    assert terms[(2, 1)] == 1 and terms[(2, 0)] == 0  # the first frame of a pass has no neighbour
    # pass 1, frame 2: init = 0.5 c warp(x_3 of pass 1) + (1 - 0.5 c) x_2 of pass 0; with the spy
    # returning inits, x_3(pass 1) = x_3(pass 0), so where c = 1 it is the mean of the two.
    pass0 = {f: init for p, f, _, init in spy.calls if p == 0}
    init_1_2 = next(init for p, f, _, init in spy.calls if (p, f) == (1, 2))
    centre = (slice(None), slice(None), slice(8, -8), slice(8, -8))  # away from the blurred border
    torch.testing.assert_close(init_1_2[centre], (0.5 * (pass0[3] + pass0[2]))[centre], atol=1e-3, rtol=0)


def test_multipass_result_is_the_same_in_any_render_order(tiny_frames):
    preset = load_preset("default", PASSES)
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    a = StyleTransferNode(preset, device="cpu")
    a.begin_sequence(range(4))
    in_order = [a.render(t, fetch) for t in range(4)]
    b = StyleTransferNode(preset, device="cpu")
    b.begin_sequence(range(4))
    for t in (3, 1, 0, 2):
        np.testing.assert_array_equal(b.render(t, fetch), in_order[t])
    single = StyleTransferNode(load_preset("default", TINY), device="cpu")
    single.begin_sequence(range(4))
    assert not np.array_equal(single.render(3, fetch), in_order[3])
    assert a.frames_needed(0) == [0, 1, 2, 3]  # a pass that walks backwards makes t depend on t+1
    assert isinstance(a.pass_store, MemoryPassStore)
    assert last_complete_pass(a.pass_store, 4) == 3 and a.pass_store.get(2, 0) is None  # old passes go


def test_disk_store_keeps_whole_files_and_forgets_other_fingerprints(tmp_path):
    store = DiskPassStore(tmp_path / "p", "one")
    store.put(0, 1001, np.ones((2, 2, 3), np.float32))
    store.mark_complete(0)
    assert store.is_complete(0) and store.get(0, 1001).sum() == 12
    assert not list((tmp_path / "p").rglob("*.tmp"))
    again = DiskPassStore(tmp_path / "p", "one")
    assert again.is_complete(0) and again.get(0, 1001) is not None
    other = DiskPassStore(tmp_path / "p", "two")  # another preset or other source frames
    assert not other.is_complete(0) and other.get(0, 1001) is None


def _job(tiny_sequence: str, out: Path, cache: Path, resume: bool = False) -> RenderJob:
    return RenderJob(
        source=SequencePattern.parse(tiny_sequence),
        output=SequencePattern.parse(str(out / "styl.####.exr")),
        preset=load_preset("default", PASSES),
        device="cpu",
        resume=resume,
        cache_dir=cache,
    )


def test_render_resumes_per_pass_with_identical_pixels(tiny_sequence, tmp_path):
    reference = render_sequence(_job(tiny_sequence, tmp_path / "ref", tmp_path / "c1"), _quiet())
    assert reference.ok and reference.written == [1004, 1003, 1002, 1001]  # pass 4 walks backwards
    assert not (tmp_path / "c1" / "passes").exists() or not any((tmp_path / "c1" / "passes").iterdir())

    calls = {"n": 0}

    def cancel_in_pass_three() -> bool:  # each frame checks once per window: 4 frames x 3 passes
        calls["n"] += 1
        return calls["n"] > 10

    out, cache = tmp_path / "out", tmp_path / "c2"
    with pytest.raises(Cancelled):
        render_sequence(_job(tiny_sequence, out, cache), _quiet(), cancel=cancel_in_pass_three)
    assert not out.exists() or not list(out.iterdir())  # the last pass never started
    stream = io.StringIO()
    resumed = render_sequence(_job(tiny_sequence, out, cache, resume=True), Progress(16, stream, tty=False))
    assert resumed.ok and resumed.written == reference.written
    log = stream.getvalue()
    assert "resuming: pass 1-2 of 4 done earlier" in log
    assert "pass 3/4 frame 1001 (9/16) done earlier" in log  # pass 3 resumes at its first missing frame
    assert "pass 4/4 frame 1001 (16/16)" in log
    assert sum(resumed.iterations.values()) < sum(reference.iterations.values())  # work was kept
    for frame in reference.written:
        np.testing.assert_array_equal(
            read_frame(out / f"styl.{frame}.exr").rgba,
            read_frame(tmp_path / "ref" / f"styl.{frame}.exr").rgba,
        )


def test_cli_passes_flag(tiny_sequence, tmp_path, capsys):
    from vst_node.faces.cli import main

    code = main(
        ["render", tiny_sequence, "-o", str(tmp_path / "o"), "--passes", "2", "--frames", "1001-1002",
         "--cache-dir", str(tmp_path / "c"), "--set=multipass.iterations=3", *(f"--set={s}" for s in TINY)]
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "pass 1/2 frame 1001 (1/4)" in err and "pass 2/2 frame 1001 (4/4)" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["render", tiny_sequence, "-o", str(tmp_path / "o"), "--passes", "0"])
    assert exit_info.value.code == 2
    assert "--passes: expected a whole number >= 1, got '0'" in capsys.readouterr().err


def _quiet() -> Progress:
    return Progress(16, stream=io.StringIO(), tty=False)
