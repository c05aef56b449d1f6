"""What a CUDA run relies on, checked on the CPU with torch.cuda's answers mocked where needed."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from vst_node.engine import device as dev
from vst_node.engine import stylize
from vst_node.engine.flow_cache import CACHE_FORMAT_VERSION, FlowCache, cache_key
from vst_node.engine.node import StyleTransferNode
from vst_node.engine.vgg import load_vgg19
from vst_node.errors import VstError
from vst_node.settings import FlowSettings


@pytest.fixture()
def two_gpus(monkeypatch):
    """torch.cuda answering as on a machine with two GPUs, device 1 current."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Mock GPU")


def test_cuda_without_an_index_is_pinned_once(two_gpus):
    assert dev.resolve_device("cuda") == torch.device("cuda", 1)
    assert dev.resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(VstError, match="2 CUDA device"):
        dev.resolve_device("cuda:5")
    with pytest.raises(VstError, match="--device cuda:x"):
        dev.resolve_device("cuda:x")


def test_bfloat16_needs_compute_capability_8(two_gpus, monkeypatch):
    gpu = torch.device("cuda", 1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # emulation says yes
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    with pytest.raises(VstError, match=r"compute capability 7\.5\) has no bfloat16 units"):
        dev.resolve_precision("bfloat16", gpu)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    assert dev.resolve_precision("bfloat16", gpu) is torch.bfloat16
    assert dev.resolve_precision("bfloat16", torch.device("cpu")) is torch.bfloat16


@pytest.fixture()
def backend_flags():
    """Restores the process-wide cuDNN / matmul flags a test changes."""
    names = [
        (torch.backends.cudnn, "allow_tf32"),
        (torch.backends.cuda.matmul, "allow_tf32"),
        (torch.backends.cudnn, "deterministic"),
        (torch.backends.cudnn, "benchmark"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name in names]
    yield
    for owner, name, value in saved:
        setattr(owner, name, value)


def test_float32_means_ieee_float32_and_kernels_are_deterministic_on_cuda(backend_flags):
    torch.backends.cudnn.allow_tf32 = True  # torch's default for convolutions
    torch.backends.cudnn.benchmark = True
    dev.configure_numerics(torch.device("cpu"))
    assert torch.backends.cudnn.allow_tf32 and torch.backends.cudnn.benchmark  # the CPU changes nothing
    dev.configure_numerics(torch.device("cuda", 0))
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_flow_cache_entries_of_cpu_and_gpu_are_never_mixed(tmp_path):
    prev = np.zeros((4, 6), np.uint8)
    cur = np.full((4, 6), 7, np.uint8)
    settings = FlowSettings()
    cpu = cache_key(prev, cur, settings, 0.8)
    assert cache_key(prev, cur, settings, 0.8, "cuda") != cpu
    # CPU keys are those of the previous version: caches on disk stay valid
    digest = hashlib.sha256(f"vst-flow-v{CACHE_FORMAT_VERSION}|{settings.key()}|{0.8!r}".encode())
    for gray in (prev, cur):
        digest.update(f"|{gray.shape}|{gray.dtype}|".encode())
        digest.update(gray.tobytes())
    assert cpu == digest.hexdigest()
    rgb_prev, rgb_cur = (np.repeat(g[..., None], 3, axis=2).astype(np.float32) / 255 for g in (prev, cur))
    on_cpu, on_gpu = FlowCache(tmp_path / "a", device="cpu"), FlowCache(tmp_path / "b", device="cuda")
    with on_cpu, on_gpu:  # keys only: nothing runs on the (absent) GPU
        assert on_cpu.key(rgb_prev, rgb_cur, settings, 0.8) == cpu
        assert on_gpu.key(rgb_prev, rgb_cur, settings, 0.8) == cache_key(prev, cur, settings, 0.8, "cuda")


def test_purge_caches_releases_the_process_wide_caches(tiny_preset, tiny_frames):
    node = StyleTransferNode(tiny_preset, device="cpu")
    node.begin_sequence(range(1))
    node.render(0, lambda t: tiny_frames[t])
    assert stylize._style_targets and load_vgg19.cache_info().currsize >= 1
    node.purge_caches()
    assert not stylize._style_targets and load_vgg19.cache_info().currsize == 0
    first = node.render(0, lambda t: tiny_frames[t])  # re-rendered on demand, identically
    node.purge_caches()
    np.testing.assert_array_equal(node.render(0, lambda t: tiny_frames[t]), first)


def test_style_targets_are_bounded_by_bytes(monkeypatch, tiny_preset):
    stylize.clear_style_targets()
    stylizer = stylize.Stylizer(tiny_preset, torch.device("cpu"))
    first = stylizer.style_targets((32, 48))
    one = stylize._nbytes(first)
    assert one > 0
    monkeypatch.setattr(stylize, "STYLE_TARGETS_BYTES", int(one * 2.5))  # room for two of this size
    for size in ((32, 48), (40, 48), (48, 48), (56, 48)):
        stylizer.style_targets(size)
    kept = sum(stylize._nbytes(t) for t in stylize._style_targets.values())
    assert kept <= one * 2.5 * 1.5 and len(stylize._style_targets) in (2, 3)
    assert (*stylizer._style_key, (56, 48)) in stylize._style_targets  # the newest always stays
    monkeypatch.setattr(stylize, "STYLE_TARGETS_BYTES", 1)  # smaller than any entry: still the newest
    stylizer.style_targets((64, 48))
    assert list(stylize._style_targets) == [(*stylizer._style_key, (64, 48))]
    stylize.clear_style_targets()


def test_lbfgs_history_is_a_preset_key(tiny_preset, monkeypatch):
    from dataclasses import replace

    from vst_node.engine import optimise
    from vst_node.settings import load_preset, preset_digest

    short = load_preset("default", ["optimiser.history=5"])
    assert short.optimiser.history == 5 and load_preset("default").optimiser.history == 100
    assert preset_digest(short, ["optimiser"]) != preset_digest(load_preset("default"), ["optimiser"])
    made = []
    real = optimise._optimiser
    monkeypatch.setattr(optimise, "_optimiser", lambda *a, **k: made.append(k) or real(*a, **k))
    x = torch.zeros(1, 3, 4, 4)
    optimise.optimise_image(x, lambda y: (y - 1).square().sum(), iterations=3, history_size=7)
    assert made[0]["history_size"] == 7
    opt = real("lbfgs", x.clone().requires_grad_(True), 1.0, 4, history_size=7)
    assert opt.history_size == 7
    preset = replace(tiny_preset, optimiser=replace(tiny_preset.optimiser, history=3))
    stylizer = stylize.Stylizer(preset, torch.device("cpu"))
    content = torch.rand(1, 3, 32, 48)
    made.clear()
    stylizer.stylize(content, torch.zeros_like(content), None, 2)
    assert made[0]["history_size"] == 3
