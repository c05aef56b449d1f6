"""The report's header (machine, device, commit, command) and the targets of every section."""

from __future__ import annotations

from typing import Any

from benchkit.report import fields
from benchkit.report.cells import DASH, cell, fmt_auto, fmt_g, table


def header(suite: dict) -> list[str]:
    for key in ["machine", "device", "torch_threads", "commit", "command", "started", "wall_seconds"]:
        if suite.get(key) is None:
            fields.warn(f"suite: missing field '{key}'")
    device = suite.get("device")
    if suite.get("device_name"):
        device = f"{device or '?'} ({suite['device_name']})"
    wall = suite.get("wall_seconds")
    wall_text = None
    if fields.finite(wall):
        wall_text = f"{wall:.2f} s ({wall / 60:.1f} min)" if wall >= 60 else f"{wall:.2f} s"
    command = suite.get("command")
    items = [
        ("Machine", suite.get("machine")),
        ("Device", device),
        ("Network precision", suite.get("precision", "float32")),
        ("Torch threads", suite.get("torch_threads")),
        ("Commit", suite.get("commit")),
        ("Command", f"`{command}`" if command else None),
        ("Date", suite.get("started")),
        ("Total wall time", wall_text),
    ]
    lines = ["# Benchmark report", ""]
    lines += [f"- **{name}:** {DASH if value is None else value}" for name, value in items]
    return lines


def flat(value: Any) -> str:
    """A free-form value on one line: dicts as `key value, ...`, lists comma-separated."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt_auto(v)}" for k, v in value.items()) or DASH
    if isinstance(value, list):
        return ", ".join(fmt_auto(v) for v in value) or DASH
    return fmt_auto(value)


def target_rows(section_name: str, targets: Any) -> tuple[list[dict], list[str]]:
    """Target dicts with a 'section' key, and free-form items (`key: value`) that are not targets."""
    found: list[dict] = []
    other: list[str] = []
    if targets is None:
        return found, other
    if isinstance(targets, dict):
        for key, value in targets.items():
            if isinstance(value, dict) and ("passed" in value or "value" in value):
                found.append({"name": key, **value, "section": section_name})
            else:
                other.append(f"{key}: {flat(value)}")
        return found, other
    if isinstance(targets, list):
        for t in targets:
            if isinstance(t, dict):
                found.append({**t, "section": section_name})
            else:
                fields.warn(f"{section_name}: skipped a target that is not an object ({t!r})")
        return found, other
    fields.warn(f"{section_name}: 'targets' is neither a list nor an object")
    return found, other


def targets_section(sections: dict) -> list[str]:
    lines = ["## Targets", ""]
    found: list[dict] = []
    for name, section in sections.items():
        if isinstance(section, dict):
            found += target_rows(name, section.get("targets"))[0]
    if not found:
        return [*lines, "No targets recorded."]
    rows = []
    passed = 0
    for t in found:
        where = f"{t['section']} target"
        name = fields.text(t, "name", where)
        ok = t.get("passed")
        if ok is None:
            fields.warn(f"{where} '{name}': missing field 'passed'")
            verdict = "?"
        elif ok:
            verdict = "pass"
            passed += 1
        else:
            verdict = "**FAIL**"
        if "value" not in t:
            fields.warn(f"{where} '{name}': missing field 'value'")
        rows.append(
            [
                cell(t["section"]),
                cell(name),
                fmt_g(t.get("value")),
                fmt_g(t.get("threshold")),
                verdict,
                cell(t.get("detail", "")),
            ]
        )
    lines.append(
        table(
            ["Section", "Target", "Measured", "Threshold", "Result", "Detail"],
            rows,
            ["l", "l", "r", "r", "l", "l"],
        )
    )
    lines += ["", f"{passed} of {len(found)} targets passed."]
    return lines
