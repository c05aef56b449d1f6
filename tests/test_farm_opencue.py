"""OpenCue: the plan as an outline and its job spec, checked offline (no Cuebot here)."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as Et

import pytest

pytest.importorskip("outline", reason="the farm extra (opencue-pyoutline) is not installed")

from vst_node.faces.cli import main
from vst_node.farm.opencue_engine import build_outline, cuebot_configured, job_spec
from vst_node.farm.plan import ShotRequest, make_plan, read_plan
from vst_node.io.synthetic import make_shot, write_shot

from .conftest import TINY


@pytest.fixture()
def shots(tmp_path):
    a = write_shot(
        make_shot(width=32, height=24, n_frames=7, seed=1), tmp_path / "a", name="sh", first_frame=1001
    )
    b = write_shot(
        make_shot(width=32, height=24, n_frames=3, seed=2), tmp_path / "b", name="sh", first_frame=1
    )
    return [
        ShotRequest(a, str(tmp_path / "o/sh010.####.exr")),
        ShotRequest(b, str(tmp_path / "o/sh020.####.exr")),
    ]


def layers(spec: str) -> dict[str, Et.Element]:
    root = Et.fromstring(spec[spec.index("<spec>") :])
    return {layer.get("name"): layer for layer in root.iter("layer")}


def test_one_layer_per_shot_and_an_anchor_layer_it_waits_for(shots, tmp_path):
    plan = make_plan(shots, "default", list(TINY), chunk=3)
    spec = job_spec(build_outline(plan, "/farm/plan.json", show="film", user="artist"))
    found = layers(spec)
    assert sorted(found) == ["sh010", "sh010_anchors", "sh020"]  # sh020 is one chunk: no anchors
    chunks, anchors = found["sh010"], found["sh010_anchors"]
    assert chunks.findtext("range") == "1001-1007" and chunks.findtext("chunk") == "3"
    assert (
        anchors.findtext("range") == "1001,1004,1007" and anchors.findtext("chunk") == "3"
    )  # one task, in order
    command = shlex.split(chunks.findtext("cmd"))
    assert command == [
        "vst-node",
        "farm",
        "run",
        "/farm/plan.json",
        "--shot",
        "sh010",
        "--task",
        "chunk:#IFRAME#",
    ]
    assert shlex.split(anchors.findtext("cmd"))[-1] == "anchors:#IFRAME#"
    assert chunks.findtext("tags") == "general" and chunks.find("gpus") is None
    root = Et.fromstring(spec[spec.index("<spec>") :])
    depends = {(d.findtext("deplayer"), d.findtext("onlayer"), d.get("type")) for d in root.iter("depend")}
    assert ("sh010", "sh010_anchors", "LAYER_ON_LAYER") in depends
    assert root.findtext("show") == "film" and root.find("job").get("name") == f"vst-{plan.id}"
    # Every chunk's first frame, OpenCue's #IFRAME#, is a task the runner knows.
    for start in (1001, 1004, 1007):
        assert plan.task("sh010", f"chunk:{start}").first == start
    assert plan.task("sh010", "anchors:1001").frames == (1001, 1004, 1007)


def test_cuda_asks_for_a_gpu_and_fast_mode_needs_no_anchors(shots):
    plan = make_plan(shots, "default", ["method=feedforward"], chunk=2, device="cuda")
    found = layers(job_spec(build_outline(plan, "/p.json", executable=["/opt/vst/bin/vst-node"])))
    assert sorted(found) == ["sh010", "sh020"]
    layer = found["sh010"]
    assert (
        layer.findtext("gpus") == "1"
        and layer.findtext("gpu_memory") == "8g"
        and layer.findtext("tags") == "gpu"
    )
    assert layer.findtext("cmd").startswith("/opt/vst/bin/vst-node farm run /p.json")


def test_submit_without_a_cuebot_writes_the_spec(shots, tmp_path, capsys, monkeypatch):
    for name in ("CUEBOT_HOSTS", "OPENCUE_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert not cuebot_configured()
    plan_path = tmp_path / "plan.json"
    sets = [arg for item in TINY for arg in ("--set", item)]
    assert (
        main(["farm", "plan", "--json", str(plan_path), "--chunk", "3", *sets, shots[0].source, "-o",
              shots[0].output])
        == 0
    )
    capsys.readouterr()
    assert main(["farm", "submit", str(plan_path), "--engine", "opencue"]) == 0
    assert "no Cuebot configured" in capsys.readouterr().out
    spec = (tmp_path / "plan.cue.xml").read_text()
    assert set(layers(spec)) == {"sh010", "sh010_anchors"}
    monkeypatch.setenv("CUEBOT_HOSTS", "cuebot.example:8443")
    out = tmp_path / "spec.xml"
    assert (
        main(["farm", "submit", str(plan_path), "--engine", "opencue", "--dry-run", "--spec", str(out)]) == 0
    )
    assert "dry run" in capsys.readouterr().out and out.read_text() == spec
    assert read_plan(plan_path).shots[0].name == "sh010"


def test_opencue_reads_the_plans_frame_ranges_with_negative_frames():
    from FileSequence import FrameSet

    from vst_node.io.sequence import frame_spec

    frames = [-12, -11, -10, -3, 0, 1, 2, 1001]
    assert list(FrameSet(frame_spec(frames))) == frames
