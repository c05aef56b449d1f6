"""The fast mode: the transformer network, its model file, training, and rendering with it."""

from __future__ import annotations

import io
import os
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from vst_node.engine.feedforward import FeedForwardStylizer, sample_frames
from vst_node.engine.network_file import check_look, load_network_file, look_digest, save_network
from vst_node.engine.node import StyleTransferNode
from vst_node.engine.transformer import Architecture, TransformerNet, channel_moments
from vst_node.errors import InputError, PresetError
from vst_node.faces.cli import main
from vst_node.io.image_io import probe_frame, write_image
from vst_node.settings import load_preset
from vst_node.training.content import user_images
from vst_node.training.crops import prepared, random_batch, step_generator
from vst_node.training.objective import training_layers
from vst_node.training.stability import add_sparse_noise, compound_loss, noise_loss, random_smooth_flow
from vst_node.training.trainer import Trainer, TrainingError, TrainJob, checkpoint_path

from .conftest import DEVICES

# A network and a training small enough for a 2-core CI machine: 32 px crops, width 4.
TINY_TRAINING = (
    "training.crop=32",
    "training.batch=2",
    "training.width=4",
    "training.residual_blocks=1",
    "training.style_side=48",
    "training.steps=4",
)


@pytest.fixture(scope="module")
def tiny_training_preset():
    return load_preset("default", TINY_TRAINING)


def train_tiny(preset, output: Path, **changes) -> Trainer:
    trainer = Trainer(TrainJob(preset, output, **changes), stream=io.StringIO(), tty=False)
    trainer.run()
    return trainer


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tiny_training_preset) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    train_tiny(tiny_training_preset, path)
    return path


def sets_of(items) -> list[str]:
    """`--set` arguments for each override."""
    return [arg for item in items for arg in ("--set", item)]


def feedforward_preset(model: Path, *more: str):
    return load_preset("default", [*TINY_TRAINING, "method=feedforward", f"network.model={model}", *more])


# -- the network ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1, 3, 32, 48), (2, 3, 37, 53), (1, 3, 16, 16)])
def test_network_keeps_any_shape_and_range(shape, device):
    net = TransformerNet(Architecture(width=4, residual_blocks=1)).to(device).eval()
    x = torch.rand(shape, device=device)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape and y.device == x.device
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1, 4, 9, 13), (3, 2, 16, 16)])
def test_channel_moments_match_torch(shape, device):
    x = torch.randn(shape, device=device) * 3 + 1.5
    mean, var = channel_moments(x)
    want_var, want_mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    assert mean.shape == var.shape == (shape[0], shape[1], 1, 1)
    torch.testing.assert_close(mean, want_mean)
    torch.testing.assert_close(var, want_var, rtol=1e-4, atol=1e-6)


def test_channel_moments_keep_a_small_spread_under_a_large_mean():
    """E[x^2] - E[x]^2 alone returns 0 or noise here (float32 keeps ~7 digits of 1e8)."""
    x = 1e4 + torch.randn(1, 2, 32, 32, dtype=torch.float64).float() * 1e-2
    _, var = channel_moments(x)
    want = torch.var(x, dim=(2, 3), keepdim=True, correction=0)
    torch.testing.assert_close(var, want, rtol=1e-2, atol=0)
    assert float(var.min()) > 0.5e-4


@pytest.mark.parametrize("device", DEVICES)
def test_rendering_layout_gives_the_same_frame(device):
    net = TransformerNet(Architecture(width=4, residual_blocks=1)).to(device).eval()
    x = torch.rand(1, 3, 37, 53, device=device)
    with torch.no_grad():
        want = net(x)
        got = net.for_rendering()(x)
    assert net.channels_last and not net.training
    assert got.is_contiguous() and got.shape == x.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_shot_statistics_of_one_frame_equal_its_own():
    torch.manual_seed(0)
    net = TransformerNet(Architecture(width=4, residual_blocks=1)).eval()
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 0.3
    with torch.no_grad():
        own = net(a)
        net.set_statistics_mode("collect")
        net(a)
        net.set_statistics_mode("shot")
        frozen = net(a)
        torch.testing.assert_close(frozen, own, atol=1e-5, rtol=1e-4)
        net.set_statistics_mode("frame")
        per_frame = net(b)
        net.set_statistics_mode("collect")
        net(a)
        net.set_statistics_mode("shot")
        # with a's statistics frozen, b is not re-normalised to its own: the output differs
        assert not torch.allclose(net(b), per_frame, atol=1e-3)


def test_shot_statistics_pool_the_frames():
    net = TransformerNet(Architecture(width=4, residual_blocks=1)).eval()
    frames = [torch.rand(1, 3, 16, 16) * s for s in (0.2, 1.0)]
    with torch.no_grad():
        net.set_statistics_mode("collect")
        for frame in frames:
            net(frame)
        net.set_statistics_mode("shot")
    first = net.norms()[0]
    assert first.shot_mean is not None and first.shot_mean.shape == (1, 4, 1, 1)
    with pytest.raises(RuntimeError, match="no frames"):
        net.set_statistics_mode("collect")
        net.set_statistics_mode("shot")


def test_sample_frames_spread_over_the_shot():
    assert sample_frames(list(range(1001, 1101)), 5) == [1001, 1026, 1051, 1075, 1100]
    assert sample_frames([1, 2, 3], 16) == [1, 2, 3]


# -- stability terms -----------------------------------------------------------------------------


def test_noise_touches_the_asked_share_of_pixels():
    x = torch.full((2, 3, 64, 64), 0.5)
    noisy = add_sparse_noise(x, 0.05, 30 / 255, step_generator(0, 0))
    changed = (noisy != x).any(dim=1).float().mean()
    assert 0.03 < float(changed) < 0.07
    assert float((noisy - x).abs().max()) <= 30 / 255 + 1e-6
    assert noise_loss(lambda v: v, x, x, 0.05, 30 / 255, step_generator(0, 0)) > 0


def test_compound_loss_is_zero_for_a_network_that_moves_with_its_input():
    x = torch.rand(2, 3, 32, 32)
    identity = compound_loss(lambda v: v, x, x, 3.0, 0.0, step_generator(1, 0))
    assert float(identity) < 1e-10
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32)
    anchored = lambda v: (v + ramp).clamp(0, 1)  # noqa: E731  a pattern fixed to the frame, not the content
    assert float(compound_loss(anchored, x, anchored(x), 3.0, 0.0, step_generator(1, 0))) > 1e-5


def test_random_flow_is_bounded_and_smooth():
    flow = random_smooth_flow(3, 40, 50, 4.0, step_generator(2, 0))
    assert flow.shape == (3, 2, 40, 50)
    assert float(flow.abs().max()) <= 4.5
    assert float((flow[..., 1:] - flow[..., :-1]).abs().max()) < 0.5  # no jumps between neighbours


def test_crops_are_reproducible_per_step(tiny_training_preset):
    from vst_node.training.content import builtin_images

    images = prepared(builtin_images()[:3], 32)
    a = random_batch(images, 32, 3, step_generator(5, 7))
    b = random_batch(images, 32, 3, step_generator(5, 7))
    c = random_batch(images, 32, 3, step_generator(5, 8))
    assert a.shape == (3, 3, 32, 32)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


def test_training_layers_cap_the_depth():
    preset = load_preset("default")
    content, style = training_layers(preset)
    assert content == ("relu4_1",)  # relu4_2 lies beyond the relu4_1 cap
    assert style == ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    deep = load_preset("default", ["training.max_layer=relu5_1"])
    assert training_layers(deep) == (("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"))


# -- training --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_training_is_deterministic_and_resumes_exactly(tmp_path, tiny_training_preset):
    straight = train_tiny(tiny_training_preset, tmp_path / "straight.pt")
    again = train_tiny(tiny_training_preset, tmp_path / "again.pt")
    half = replace(tiny_training_preset, training=replace(tiny_training_preset.training, steps=2))
    first = train_tiny(half, tmp_path / "resumed.pt")
    assert first.step == 2
    resumed = train_tiny(tiny_training_preset, tmp_path / "resumed.pt", resume=True)
    assert resumed.step == 4
    for name, value in straight.net.state_dict().items():
        torch.testing.assert_close(again.net.state_dict()[name], value, rtol=0, atol=0)
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)
    assert [h["total"] for h in resumed.history] == [h["total"] for h in straight.history]
    assert set(straight.history[0]) == {"content", "style", "noise", "compound", "total"}


@pytest.mark.slow
def test_resume_refuses_other_settings(tmp_path, tiny_training_preset):
    train_tiny(tiny_training_preset, tmp_path / "m.pt")
    other = replace(tiny_training_preset, training=replace(tiny_training_preset.training, crop=48))
    with pytest.raises(TrainingError, match="crop"):
        Trainer(TrainJob(other, tmp_path / "m.pt", resume=True), stream=io.StringIO(), tty=False)
    with pytest.raises(TrainingError, match="no checkpoint"):
        Trainer(TrainJob(tiny_training_preset, tmp_path / "x.pt", resume=True), io.StringIO(), tty=False)
    assert checkpoint_path(tmp_path / "m.pt").is_file()


# -- the model file --------------------------------------------------------------------------------


def test_model_file_round_trip(tmp_path, tiny_training_preset):
    torch.manual_seed(3)
    net = TransformerNet(Architecture(width=4, residual_blocks=1)).eval()
    record = save_network(tmp_path / "n.pt", net, tiny_training_preset, {"steps": 0})
    loaded = load_network_file(tmp_path / "n.pt")
    assert loaded.architecture == Architecture(4, 1) and loaded.digest == record.digest
    x = torch.rand(1, 3, 24, 24)
    torch.testing.assert_close(loaded.network(torch.device("cpu"))(x), net(x), atol=5e-3, rtol=0)
    assert (tmp_path / "n.pt").stat().st_size < 100_000
    check_look(loaded, tiny_training_preset, tmp_path / "n.pt")
    other = load_preset("ink")
    with pytest.raises(PresetError, match="retrain"):
        check_look(loaded, other, tmp_path / "n.pt")


def test_model_file_errors(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(PresetError, match="not a vst-node model file"):
        load_network_file(tmp_path / "foreign.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(PresetError, match="not a vst-node model file"):
        load_network_file(tmp_path / "text.pt")
    with pytest.raises(PresetError, match="no such file"):
        load_network_file(tmp_path / "missing.pt")


def test_preset_needs_a_model_for_feedforward():
    with pytest.raises(PresetError, match=r"network\.model"):
        load_preset("default", ["method=feedforward", "network.model=/nonexistent/model.pt"])


# -- rendering ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_node_renders_each_frame_alone(tiny_model, tiny_frames):
    preset = feedforward_preset(tiny_model)
    node = StyleTransferNode(preset, device="cpu")
    node.begin_sequence(range(len(tiny_frames)))
    assert node.frames_needed(3) == [3] and not node.multipass
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    jumped = node.render(3, fetch)
    assert node.is_finished(3) and not node.is_finished(2)  # nothing before it was rendered
    fresh = StyleTransferNode(preset, device="cpu")
    fresh.begin_sequence(range(len(tiny_frames)))
    in_order = [fresh.render(t, fetch) for t in range(4)]
    np.testing.assert_array_equal(jumped, in_order[3])
    assert fresh.stats[2].iterations == 0 and fresh.total_iterations == 0
    assert not np.allclose(in_order[0], tiny_frames[0], atol=0.02)


@pytest.mark.slow
def test_shot_statistics_are_order_independent(tiny_model, tiny_frames):
    preset = feedforward_preset(tiny_model, "network.statistics=shot")
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    a = StyleTransferNode(preset, device="cpu")
    a.begin_sequence(range(4))
    first_a = a.render(2, fetch)
    b = StyleTransferNode(preset, device="cpu")
    b.begin_sequence(range(4))
    [b.render(t, fetch) for t in (0, 1)]
    np.testing.assert_array_equal(b.render(2, fetch), first_a)
    per_frame = StyleTransferNode(feedforward_preset(tiny_model), device="cpu")
    per_frame.begin_sequence(range(4))
    assert not np.array_equal(per_frame.render(2, fetch), first_a)


def test_a_model_for_another_look_is_refused(tiny_model, tiny_frames):
    preset = feedforward_preset(tiny_model, "style.scale=2.0")
    with pytest.raises(PresetError, match="trained for preset 'default'"):
        FeedForwardStylizer(preset, torch.device("cpu"))
    # Other loss weights are another network too (a preset extending one that ships a model).
    stronger = feedforward_preset(tiny_model, "training.style=12")
    with pytest.raises(PresetError, match=r"training.style 12.0 \(trained with 6.0\)"):
        FeedForwardStylizer(stronger, torch.device("cpu"))
    # The budget is not the look: more steps asked of the same network are fine.
    FeedForwardStylizer(feedforward_preset(tiny_model, "training.steps=9"), torch.device("cpu"))


@pytest.mark.slow
def test_cli_trains_and_renders(tmp_path, tiny_sequence, capsys):
    model = tmp_path / "look.pt"
    assert main(["train", "-o", str(model), "--steps", "2", *sets_of(TINY_TRAINING)]) == 0
    assert model.is_file() and "after 2 steps" in capsys.readouterr().err
    out = tmp_path / "out" / "o.####.exr"
    sets = [*TINY_TRAINING, "method=feedforward", f"network.model={model}"]
    code = main(["render", tiny_sequence, "-o", str(out), "--no-cache", *sets_of(sets)])
    assert code == 0
    spec = probe_frame(Path(str(out).replace("####", "1003")))
    assert spec.get_string_attribute("vst:method") == "feedforward"
    assert spec.get_string_attribute("vst:network_digest") == load_network_file(model).digest
    assert " ms" in capsys.readouterr().err  # frames report milliseconds, not iterations


@pytest.mark.slow
def test_preview_of_one_file_keeps_its_size_and_space(tiny_model, tmp_path):
    from vst_node.faces.preview import preview_file
    from vst_node.io.image_io import write_image

    rng = np.random.default_rng(0)
    source = rng.random((30, 50, 3)).astype(np.float32)
    write_image(tmp_path / "still.png", source, colorspace="sRGB", pixel_type="uint8")
    source = np.round(source * 255) / 255
    preset = load_preset("default", [*TINY_TRAINING, f"network.model={tiny_model}"])  # method stays optimise
    result = preview_file(preset, tmp_path / "still.png", device="cpu", max_side=32)
    assert result.rgba.shape == (30, 50, 4)
    assert result.network_digest == load_network_file(tiny_model).digest
    np.testing.assert_allclose(result.rgba[..., 3], 1.0)
    assert not np.allclose(result.rgba[..., :3], source, atol=0.05)
    with pytest.raises(PresetError, match="no trained network"):
        preview_file(replace(preset, network=replace(preset.network, model=tmp_path / "none.pt")),
                     tmp_path / "still.png")  # fmt: skip


@pytest.mark.slow
def test_hybrid_starts_from_the_network(tiny_model, tiny_frames):
    """init.first: network and temporal.fill_disoccluded: network start the optimisation painted."""
    from vst_node.engine.optimise import OptimiseResult

    preset = load_preset("default", [*TINY_TRAINING, f"network.model={tiny_model}", "init.first=network",
                                     "temporal.fill_disoccluded=network", "init.run_up=0"])  # fmt: skip
    node = StyleTransferNode(preset, device="cpu")
    starts = []

    def spy(content, init, terms, iterations, on_window=None):
        starts.append(init.clone())
        return OptimiseResult(init.clone(), iterations, 0.0, False, [0.0])

    node._optimise = spy  # type: ignore[method-assign]
    node.begin_sequence(range(2))
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    node.render(1, fetch)
    network = FeedForwardStylizer(preset, torch.device("cpu"))
    content = [torch.from_numpy(np.clip(tiny_frames[t], 0, 1)).permute(2, 0, 1)[None] for t in range(2)]
    torch.testing.assert_close(starts[0], network.stylize(content[0]))
    # frame 1 starts from frame 0 warped where the flow holds, the network's frame 1 elsewhere
    fill = network.stylize(content[1])
    assert not torch.allclose(starts[1], fill) and not torch.allclose(starts[1], starts[0])
    with pytest.raises(PresetError, match=r"init\.first is network"):
        load_preset("default", ["init.first=network", "network.model=null"])


@pytest.mark.parametrize("name", ["default", "ink", "mosaic", "swirls"])
def test_shipped_network_was_trained_by_the_command_in_its_preset(name):
    """The file records the settings it was trained with: they must be the preset's own, so that
    the command in the preset's comment (its steps and minutes) rebuilds it."""
    import dataclasses
    import re

    from vst_node.settings.loading import builtin_presets_dir
    from vst_node.training.trainer import BUDGET_FIELDS

    preset = load_preset(name)
    record = load_network_file(preset.network.model)
    check_look(record, preset, preset.network.model)
    trained = {k: v for k, v in record.training["settings"].items() if k not in BUDGET_FIELDS}
    wanted = {k: v for k, v in dataclasses.asdict(preset.training).items() if k not in BUDGET_FIELDS}
    assert trained == wanted
    command = re.search(r"vst-node train --preset (\S+) -o (\S+) --steps (\d+) --minutes (\d+)",
                        (builtin_presets_dir() / f"{name}.yaml").read_text())  # fmt: skip
    assert command is not None
    assert command.group(1) == name and command.group(2) == f"presets/models/{name}.pt"
    assert record.training["steps"] == int(command.group(3))
    assert record.training["settings"]["minutes"] == float(command.group(4))


def test_shot_statistics_of_a_part_sample_the_whole_shot(tiny_model, tiny_frames, monkeypatch):
    """A farm chunk (frames 2-3 of a 0-3 shot): the statistics come from the shot's frames, which
    frames_needed lists, so two chunks of one shot share them."""
    from vst_node.engine.feedforward import FeedForwardStylizer

    seen = []
    real = FeedForwardStylizer.prepare_shot
    monkeypatch.setattr(
        FeedForwardStylizer,
        "prepare_shot",
        lambda self, key, frames, source: (seen.append(list(frames)), real(self, key, frames, source)),
    )
    preset = feedforward_preset(tiny_model, "network.statistics=shot", "network.shot_samples=4")
    node = StyleTransferNode(preset, device="cpu")
    node.begin_sequence([2, 3], shot_frames=range(4))
    assert node.frames_needed(3) == [3, 0, 1, 2]
    node.render(3, lambda t: tiny_frames[t])
    assert seen == [[0, 1, 2, 3]]
    whole = StyleTransferNode(preset, device="cpu")
    whole.begin_sequence(range(4))
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    np.testing.assert_array_equal(node.render(2, fetch), whole.render(2, fetch))


@pytest.mark.slow
def test_ctrl_c_inside_a_step_checkpoints_after_it_and_resumes_exactly(tmp_path, tiny_training_preset):
    """The signal lands between the optimiser's update and the step counter: the checkpoint must
    still hold a whole number of steps, so the resumed network equals an uninterrupted one."""
    straight = train_tiny(tiny_training_preset, tmp_path / "straight.pt")
    trainer = Trainer(TrainJob(tiny_training_preset, tmp_path / "cut.pt"), stream=io.StringIO(), tty=False)
    real_step, calls = trainer.optimiser.step, []

    def step_then_ctrl_c(*args, **kwargs):
        result = real_step(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    trainer.optimiser.step = step_then_ctrl_c
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert torch.load(checkpoint_path(tmp_path / "cut.pt"), weights_only=True)["step"] == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    resumed = train_tiny(tiny_training_preset, tmp_path / "cut.pt", resume=True)
    for name, value in straight.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)


def test_the_model_records_the_style_image_training_read(tmp_path, tiny_training_preset):
    """Repainting the style image during a run does not relabel the network with the new look."""
    style = tmp_path / "style.png"
    shutil.copy(tiny_training_preset.style.image, style)
    preset = load_preset("default", [*TINY_TRAINING, "training.steps=1", f"style.image={style}"])
    trainer = Trainer(TrainJob(preset, tmp_path / "m.pt"), stream=io.StringIO(), tty=False)
    learned = look_digest(preset)
    write_image(style, np.zeros((40, 40, 3), np.float32), colorspace="sRGB", pixel_type="uint8")
    trainer.run()
    assert load_network_file(tmp_path / "m.pt").look == learned != look_digest(preset)


def test_training_images_take_the_presets_colour_input_and_lose_nan(tmp_path):
    """An untagged EXR with primaries no known space has: refused without colour.input (as a render
    would), read with it; NaN fireflies become 0 instead of poisoning every weight."""
    spec = oiio.ImageSpec(8, 8, 3, "half")
    odd = (0.6, 0.3, 0.3, 0.6, 0.2, 0.1, 0.3127, 0.329)
    spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), odd)
    pixels = np.full((8, 8, 3), 0.2, np.float32)
    pixels[2, 3] = np.nan
    path = tmp_path / "plate.exr"
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(pixels) and out.close()
    with pytest.raises(InputError, match="chromaticities"):
        user_images([path])
    [image] = user_images([path], "lin_ap1_scene")
    assert np.isfinite(image.rgb).all() and image.rgb[2, 3].max() == 0.0
