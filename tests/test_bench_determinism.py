"""tools/determinism_check.py and the host-read counter, on the CPU at a tiny size."""

from __future__ import annotations

import json

import determinism_check
import numpy as np
import torch
from benchkit.host_reads import HostReadCounter


def test_the_counter_counts_each_kind_of_host_read():
    x = torch.arange(4.0)
    with HostReadCounter() as reads:
        x.sum().item()
        float(x[0])
        bool(x[1] > 0)
        int(x[2])
        x.tolist()
        x.add(x, alpha=torch.tensor(2.0))  # a 0-dim tensor as alpha: read on the host
        x.add(x, alpha=2.0)  # a Python number: no read
        y = x * 2  # device work only
    assert reads.count == 6, reads.by_kind
    assert reads.by_kind["alpha=tensor"] == 1 and y.shape == x.shape


def test_in_and_out_of_order_renders_are_compared_and_reads_reported(tmp_path):
    out = tmp_path / "det.json"
    argv = ["--device", "cpu", "--size", "48x32", "--frames", "3", "--iterations", "4", "--json", str(out)]
    assert determinism_check.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["order"]["differing_frames"] == [] and result["order"]["order"] == [2, 0, 1]
    assert result["reads"]["iterations"] == 4 and result["reads"]["host_reads"] > 0


def test_a_differing_frame_fails_the_check(monkeypatch):
    real = determinism_check.render

    def nudged(preset, frames, device, order, cache):
        out = real(preset, frames, device, order, cache)
        if cache == 1:  # the out-of-order render
            out[1] = np.nextafter(out[1], np.float32(2))  # one bit on every pixel of frame 1
        return out

    monkeypatch.setattr(determinism_check, "render", nudged)
    argv = ["--device", "cpu", "--size", "48x32", "--frames", "3", "--iterations", "2"]
    assert determinism_check.main(argv) == 1
