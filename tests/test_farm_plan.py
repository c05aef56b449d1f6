"""The farm's chunk plan: shots, chunks, anchors, JSON, shot lists and the `farm plan` command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from vst_node.errors import InputError
from vst_node.faces.cli import main
from vst_node.farm.plan import ANCHORS, CHUNK, FarmPlan, ShotRequest, frame_spec, make_plan, read_plan
from vst_node.farm.shots import read_shot_list
from vst_node.io.synthetic import make_shot, write_shot
from vst_node.settings import load_preset

from .conftest import TINY


@pytest.fixture()
def two_shots(tmp_path):
    a = write_shot(
        make_shot(width=32, height=24, n_frames=7, seed=1), tmp_path / "a", name="sh", first_frame=1
    )
    b = write_shot(
        make_shot(width=32, height=24, n_frames=3, seed=2), tmp_path / "b", name="sh", first_frame=11
    )
    return a, b


def test_chunks_anchors_and_tasks(two_shots, tmp_path):
    a, b = two_shots
    shots = [
        ShotRequest(a, str(tmp_path / "out/a.####.exr")),
        ShotRequest(b, str(tmp_path / "out/b.####.exr")),
    ]
    plan = make_plan(shots, "default", list(TINY), chunk=3, lead_in=2, anchor_step=3)
    first, second = plan.shots
    assert plan.lead_in == 2 and make_plan(shots, "default", list(TINY), chunk=3).lead_in == 2  # the chunk
    assert (first.name, second.name) == ("a", "b")
    assert first.chunks == [[1, 2, 3], [4, 5, 6], [7]]
    assert first.anchors == [1, 4, 7]
    tasks = first.tasks()
    # The anchors in one task, in order; the last chunk is its anchor alone, so it is no task.
    assert [(t.kind, t.first, t.frames, t.needs) for t in tasks] == [
        (ANCHORS, 1, (1, 4, 7), ()),
        (CHUNK, 1, (1, 2, 3), (1, 4)),
        (CHUNK, 4, (4, 5, 6), (4, 7)),
    ]
    assert first.next_anchor(4) == 7 and first.next_anchor(7) is None
    assert plan.task("a", "chunk:7").frames == (
        7,
    )  # OpenCue runs every chunk: it resolves, with nothing to do
    # A shot of one chunk needs no anchors: one task renders it from its first frame (with the run-up).
    assert second.frames == [11, 12, 13] and second.anchors == [] and second.keyframes == []
    assert [(t.kind, t.first, t.frames, t.needs) for t in second.tasks()] == [(CHUNK, 11, (11, 12, 13), ())]
    # Key frames between the anchors: the anchors task walks every second frame, publishing anchors.
    stepped = make_plan(shots, "default", list(TINY), chunk=3, anchor_step=2).shots[0]
    assert stepped.anchors == [1, 4, 7] and stepped.keyframes == [1, 3, 4, 6, 7]
    assert stepped.tasks()[0].frames == (1, 3, 4, 6, 7)
    assert first.folder == tmp_path / "out" / ".vst-farm" / "a"
    with pytest.raises(InputError, match="no task 'chunk:2'"):
        plan.task("a", "chunk:2")


def test_plan_round_trips_through_json_and_its_id_is_stable(two_shots, tmp_path):
    a, _b = two_shots
    shots = [ShotRequest(a, str(tmp_path / "o/x.####.exr"), frames="1-3,6")]
    plan = make_plan(shots, "default", list(TINY), chunk=2)
    again = FarmPlan.from_json(plan.to_json())
    assert again == plan
    assert again.shots[0].frames == [1, 2, 3, 6] and again.shots[0].chunks == [[1, 2], [3, 6]]
    assert make_plan(shots, "default", list(TINY), chunk=2).id == plan.id  # same request, same plan
    assert make_plan(shots, "default", list(TINY), chunk=3).id != plan.id
    assert frame_spec([1, 2, 3, 5, 7, 8]) == "1-3,5,7-8"
    with pytest.raises(InputError, match="not a vst-node farm plan"):
        FarmPlan.from_json(json.dumps({"shots": []}))


def test_independent_frames_need_no_anchors_and_multipass_is_one_chunk(two_shots, tmp_path):
    a, _b = two_shots
    shots = [ShotRequest(a, str(tmp_path / "o/x.####.exr"))]
    fast = make_plan(shots, "default", ["method=feedforward"], chunk=3)
    assert fast.shots[0].anchors == [] and [t.kind for t in fast.tasks()] == [CHUNK] * 3
    assert all(t.needs == () for t in fast.tasks())
    passes = make_plan(shots, "default", [*TINY, "multipass.passes=3"], chunk=3)
    assert passes.shots[0].chunks == [[1, 2, 3, 4, 5, 6, 7]] and passes.shots[0].anchors == []


def test_every_problem_is_reported_before_anything_is_planned(two_shots, tmp_path):
    a, b = two_shots
    (tmp_path / "a" / "sh.0005.exr").unlink()
    shots = [
        ShotRequest(a, str(tmp_path / "o/x.####.exr"), frames="1-7"),
        ShotRequest(b, str(tmp_path / "o/x.####.exr")),
        ShotRequest(b, str(tmp_path / "o/still.exr")),
    ]
    with pytest.raises(InputError) as caught:
        make_plan(shots, "default", [], chunk=2)
    message = str(caught.value)
    assert re.search(r"1 of 7 requested frames missing for .*: 5\b", message), message
    assert "frame number token" in message
    with pytest.raises(InputError, match="--chunk, --anchor-step and --threads must be >= 1"):
        make_plan(shots[1:2], "default", [], chunk=0)


def test_preset_must_resolve_to_the_same_settings_on_the_workers(two_shots, tmp_path):
    a, _b = two_shots
    preset = tmp_path / "look.yaml"
    preset.write_text("extends: default\nweights:\n  style: 50\n")
    plan = make_plan([ShotRequest(a, str(tmp_path / "o/x.####.exr"))], str(preset), [])
    assert plan.preset == str(preset.resolve())
    assert plan.load_preset().weights.style == 50
    preset.write_text("extends: default\nweights:\n  style: 60\n")
    with pytest.raises(InputError, match="other settings here"):
        plan.load_preset()
    # The output step counts too: a worker with another strength would write other pixels.
    preset.write_text("extends: default\nweights:\n  style: 50\nstrength: 0.5\n")
    with pytest.raises(InputError, match="other settings here"):
        plan.load_preset()


def test_shot_list_file(two_shots, tmp_path):
    a, b = two_shots
    listing = tmp_path / "shots.yaml"
    listing.write_text(
        f"shots:\n  - {{source: {a}, output: o/a.####.exr, frames: 1-4, name: sh010}}\n"
        f"  - source: {b}\n    output: o/b.####.exr\n"
    )
    requests = read_shot_list(listing)
    assert requests[0] == ShotRequest(a, str(tmp_path / "o/a.####.exr"), "1-4", None, "sh010")
    assert requests[1].output == str(tmp_path / "o/b.####.exr")
    listing.write_text("- {source: x.####.exr, outptu: y}\n- 3\n")
    with pytest.raises(InputError) as caught:
        read_shot_list(listing)
    assert "shot 1: unknown key(s) outptu" in str(caught.value) and "missing output" in str(caught.value)
    assert "shot 2: expected a mapping" in str(caught.value)


def test_farm_plan_command_takes_repeated_pairs(two_shots, tmp_path, capsys):
    a, b = two_shots
    out = tmp_path / "plan.json"
    sets = [arg for item in TINY for arg in ("--set", item)]
    code = main(
        [
            "farm",
            "plan",
            a,
            "-o",
            str(tmp_path / "o/a.####.exr"),
            b,
            "-o",
            str(tmp_path / "o/b.####.exr"),
            "--chunk",
            "4",
            "--json",
            str(out),
            *sets,
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "a      7 frames    2 chunks    2 anchors    3 tasks" in printed.out
    plan = read_plan(out)
    assert [s.name for s in plan.shots] == ["a", "b"] and plan.chunk == 4
    code = main(["farm", "plan", a, "-o", str(tmp_path / "x.####.exr"), b, "--json", str(out)])
    assert code == 1 and "2 input(s) but 1 -o output(s)" in capsys.readouterr().err


def test_the_core_and_the_plan_do_not_import_the_engines(two_shots, tmp_path):
    a, _b = two_shots
    script = (
        "import sys\n"
        "import vst_node.api, vst_node.faces.cli\n"
        "from vst_node.faces.cli import main\n"
        f"assert main(['farm', 'plan', {a!r}, '-o', {str(tmp_path / 'o/a.####.exr')!r},"
        f" '--json', {str(tmp_path / 'p.json')!r}]) == 0\n"
        "from vst_node.farm.plan import read_plan\n"
        "from vst_node.farm.status import plan_progress\n"
        f"plan_progress(read_plan({str(tmp_path / 'p.json')!r}))\n"
        "engines = ('dask', 'distributed', 'outline', 'opencue')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in engines)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_plan_holds_paths_every_machine_can_use(two_shots, tmp_path, monkeypatch):
    """Relative paths in --set and the preset, resolved where the plan is made: a worker runs from
    another folder. `ink.yaml` that is no file here is the built-in preset `ink`."""
    a, _ = two_shots
    monkeypatch.chdir(tmp_path)
    shutil.copy(load_preset("default").style.image, tmp_path / "look.png")
    plan = make_plan([ShotRequest(a, "out/x.####.exr")], "ink.yaml", ["style.image=look.png", *TINY])
    assert plan.preset == "ink"
    assert f"style.image={tmp_path / 'look.png'}" in plan.overrides
    assert plan.shots[0].output == str(tmp_path / "out" / "x.####.exr")
    monkeypatch.chdir(tmp_path / "a")  # a worker elsewhere resolves the same preset
    assert plan.load_preset().style.image == tmp_path / "look.png"


def test_anchor_states_outlive_a_plan_made_again(two_shots, tmp_path):
    """Another shot added, other threads: a new plan id, the same lineage, so the published anchors'
    states stay usable; other settings make another lineage."""
    from vst_node.farm.runner import state_store

    a, b = two_shots
    first = [ShotRequest(a, str(tmp_path / "out/a.####.exr"))]
    both = [*first, ShotRequest(b, str(tmp_path / "out/b.####.exr"))]
    one = make_plan(first, "default", list(TINY), chunk=3, threads=1)
    again = make_plan(both, "default", list(TINY), chunk=3, threads=2)
    assert one.id != again.id
    assert state_store(one, one.shots[0]).key == state_store(again, again.shots[0]).key
    other = make_plan(first, "default", [*TINY, "weights.style=7"], chunk=3)
    assert state_store(other, other.shots[0]).key != state_store(one, one.shots[0]).key
