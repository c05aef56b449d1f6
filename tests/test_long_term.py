"""Long-term consistency (Ruder et al. 4.3): c_long, frames needed, bounded state, cached flows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vst_node.engine.evaluation import network_frames
from vst_node.engine.node import StyleTransferNode
from vst_node.errors import PresetError
from vst_node.io.synthetic import make_shot
from vst_node.ops.reliability import long_term_weights
from vst_node.settings import load_preset

from .conftest import TINY

LONG = (*TINY, "temporal.offsets=[1, 2, 4]")


def test_long_term_weights_link_each_pixel_to_its_closest_reliable_frame():
    c1 = torch.tensor([[1.0, 0.0, 0.0, 0.3]])
    c2 = torch.tensor([[1.0, 1.0, 0.0, 0.5]])
    c4 = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    out = long_term_weights({4: c4, 1: c1, 2: c2})  # any insertion order
    assert list(out) == [1, 2, 4]
    torch.testing.assert_close(out[1], c1)  # the short-term weights are untouched
    torch.testing.assert_close(out[2], torch.tensor([[0.0, 1.0, 0.0, 0.2]]))  # max(c2 - c1, 0)
    torch.testing.assert_close(out[4], torch.tensor([[0.0, 0.0, 1.0, 0.2]]))  # max(c4 - c1 - c2, 0)
    assert long_term_weights({1: c1})[1] is c1


def test_binary_weights_never_link_a_pixel_twice():
    gen = torch.Generator().manual_seed(0)
    weights = {j: (torch.rand(8, 8, generator=gen) > 0.5).float() for j in (1, 2, 4, 8)}
    total = sum(long_term_weights(weights).values())
    torch.testing.assert_close(total, torch.stack(list(weights.values())).amax(0))


def test_frames_needed_follow_the_offsets():
    node = StyleTransferNode(load_preset("default", LONG), device="cpu")
    node.begin_sequence(range(10, 20))
    assert node.frames_needed(10) == [10, 11, 12, 13]  # the first frame and its run-up (init.run_up 3)
    assert node.frames_needed(11) == [10, 11]
    assert node.frames_needed(13) == [11, 12, 13]
    assert node.frames_needed(16) == [12, 14, 15, 16]


def test_state_is_bounded_by_the_largest_offset():
    frames = network_frames(make_shot(width=48, height=32, n_frames=7, seed=2))
    node = StyleTransferNode(load_preset("default", LONG), device="cpu", max_cached_frames=None)
    node.begin_sequence(range(7))
    held = []
    for t in range(7):
        node.render(t, lambda f: frames[f])
        held.append(sorted(node._finished))
    assert max(len(h) for h in held) == 4  # max J, never the shot length
    assert held[-1] == [3, 4, 5, 6]  # exactly what frame 7 would need (7-4 .. 7-1)
    # every pair (t-j, t) with t-j in range was computed once: 1+2+2+3+3+3 for t = 1..6
    assert node.flows.computed == 14


def test_long_term_changes_the_result_and_scrubbing_gives_the_same_pixels(tiny_frames, tmp_path):
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    short = StyleTransferNode(load_preset("default", TINY), device="cpu")
    short.begin_sequence(range(4))
    long_node = StyleTransferNode(load_preset("default", LONG), device="cpu", cache_dir=tmp_path)
    long_node.begin_sequence(range(4))
    in_order = [long_node.render(t, fetch) for t in range(4)]
    assert not np.array_equal(short.render(3, fetch), in_order[3])  # frames 1 and 2 now pull too
    scrubber = StyleTransferNode(
        load_preset("default", LONG), device="cpu", cache_dir=tmp_path, max_cached_frames=None
    )
    scrubber.begin_sequence(range(4))
    for t in (3, 0, 2, 1, 3):
        np.testing.assert_array_equal(scrubber.render(t, fetch), in_order[t])
    assert scrubber.flows.computed == 0  # every pair came from the on-disk cache


@pytest.mark.parametrize(
    ("value", "message"),
    [("[2, 4]", "includes 1"), ("[1, 1]", "distinct"), ("[1, 0]", ">= 1"), ("two", "offsets")],
)
def test_offsets_are_validated(value, message):
    with pytest.raises(PresetError, match=message) as info:
        load_preset("default", [f"temporal.offsets={value}"])
    assert "temporal.offsets" in str(info.value)


def test_resume_rebuilds_every_frame_the_offsets_reach(tiny_sequence, tmp_path):
    import io

    from vst_node.faces.progress import Progress
    from vst_node.faces.render import RenderJob, render_sequence
    from vst_node.io.sequence import SequencePattern

    seeded: list[int] = []

    class Recording(StyleTransferNode):
        def seed_finished(self, t, stylized_rgb):
            seeded.append(t)
            super().seed_finished(t, stylized_rgb)

    def job(frames: str, resume: bool) -> RenderJob:
        return RenderJob(
            source=SequencePattern.parse(tiny_sequence),
            output=SequencePattern.parse(str(tmp_path / "o" / "s.####.exr")),
            preset=load_preset("default", (*TINY, "temporal.offsets=[1, 2]")),
            frame_spec=frames,
            device="cpu",
            resume=resume,
        )

    render_sequence(job("1001-1003", False), Progress(3, io.StringIO()))
    report = render_sequence(job("1001-1004", True), Progress(4, io.StringIO()), node_factory=Recording)
    assert report.skipped == [1001, 1002, 1003] and report.written == [1004]
    assert seeded == [1002, 1003]  # 1004 needs 1003 (j=1) and 1002 (j=2); 1001 is not read back


def test_scrubbing_with_gaps_in_the_cache_keeps_what_the_run_reads(tiny_frames):
    """Frames 0 and 2 finished, 1 not: rendering 3 (J={1,2}) must re-render 1 without evicting 2."""
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    preset = load_preset("default", (*TINY, "temporal.offsets=[1, 2]"))
    reference = StyleTransferNode(preset, device="cpu")
    reference.begin_sequence(range(4))
    expected = [reference.render(t, fetch) for t in range(4)]
    node = StyleTransferNode(preset, device="cpu", max_cached_frames=None)
    node.begin_sequence(range(4))
    node.render(2, fetch)
    node._finished.pop(1)  # as if evicted, while a host-side cache still had frame 0
    node._finished[0] = reference._finished[0]
    assert sorted(node._finished) == [0, 2]
    np.testing.assert_array_equal(node.render(3, fetch), expected[3])
