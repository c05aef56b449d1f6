"""Markdown report and PNG charts from a benchmark suite's `suite.json`, one module per section.

`write_report(suite, out_dir)` writes `report.md` and the charts (`sintel_temporal_error.png`,
`sintel_style_vs_temporal.png`, `peer.png`, `flow.png`, `scaling.png`). Every section of the suite is
optional: a missing one is reported as "not run", and a missing field gives a warning on stderr and
an empty cell, never an exception. Without matplotlib the report is written without charts.

    summary      the header and the targets of every section
    sintel, peer, convergence, flow, scaling    the sections, in the report's order
    cells, charts   field access, formats and tables; chart helpers
"""

from __future__ import annotations

from pathlib import Path

from benchkit.report import convergence, fields, flow, peer, scaling, sintel
from benchkit.report.cells import cell
from benchkit.report.charts import pyplot
from benchkit.report.summary import header, targets_section

SECTIONS = [
    ("sintel", "Sintel (Ruder et al. Table 1 protocol)", sintel.render),
    ("peer", "Peer: vst-node vs pastiche", peer.render),
    ("convergence", "Convergence", convergence.render),
    ("flow", "Optical flow", flow.render),
    ("scaling", "Scaling", scaling.render),
]


def write_report(suite: dict, out_dir: Path) -> list[Path]:
    """Write `report.md` and the charts into `out_dir`; return the paths written (report first)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not isinstance(suite, dict):
        fields.warn("suite is not a JSON object")
        suite = {}
    sections = suite.get("sections")
    if not isinstance(sections, dict):
        fields.warn("suite: no 'sections' object")
        sections = {}
    known = {key for key, _, _ in SECTIONS}
    for key in sections:
        if key not in known:
            fields.warn(f"suite: unknown section '{key}' is not reported")
    plt = pyplot() if any(isinstance(sections.get(k), dict) for k in known) else None
    charts: list[Path] = []
    lines = header(suite)
    lines += ["", *targets_section(sections)]
    for key, title, render in SECTIONS:
        lines.append("")
        section = sections.get(key)
        if section is None:
            lines += [f"## {title}", "", "not run."]
            continue
        if not isinstance(section, dict):
            fields.warn(f"{key}: section is not an object")
            lines += [f"## {title}", "", "not run (section is not an object)."]
            continue
        before = len(charts)
        try:
            rendered = render(section, out_dir, plt, charts)
            run = section.get("run")
            if isinstance(run, dict) and rendered:  # a section kept from an earlier run says which
                command, commit = cell(run.get("command", "?")), cell(run.get("commit", "?"))
                started = cell(run.get("started", "?"))
                rendered[1:1] = ["", f"Measured by `{command}` at commit {commit}, {started}."]
            lines += rendered
        except Exception as exc:  # a report that is half-written is worth more than a traceback
            fields.warn(f"{key}: could not be reported ({type(exc).__name__}: {exc})")
            lines += [f"## {title}", "", f"could not be reported: {type(exc).__name__}: {cell(exc)}"]
        for chart in charts[before:]:
            lines += ["", f"![{chart.stem}]({chart.name})"]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return [report, *charts]
