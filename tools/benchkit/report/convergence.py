"""The convergence section: iterations until the stopping rule, per init."""

from __future__ import annotations

from benchkit.report import fields
from benchkit.report.cells import DASH, cell, fmt_auto, fmt_int, fmt_s, table


def render(sec: dict, *_: object) -> list[str]:
    """The section's lines (it draws no chart)."""
    where = "convergence"
    cap = sec.get("cap")
    lines = ["## Convergence", ""]
    lines += [
        f"Iterations until the stopping rule, per init (cap {fmt_int(cap)}); "
        "'cap' where it did not stop; seconds in brackets.",
        "",
    ]
    if cap is None:
        fields.warn(f"{where}: missing field 'cap'")
    rows = fields.rows(sec, "rows", where)
    if not rows:
        return [*lines, "No rows."]
    cells: dict[tuple[str, str], dict[str, str]] = {}
    iters: dict[str, list[float]] = {}
    inits = fields.ordered(str(r.get("init", "?")) for r in rows)
    known = ["random", "warped", "warped_temporal"]
    inits = [i for i in known if i in inits] + [i for i in inits if i not in known]
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        key = (fields.text(r, "sequence", w), fields.text(r, "style", w))
        init = fields.text(r, "init", w)
        n = r.get("iterations")
        if n is None:
            fields.warn(f"{w}: missing field 'iterations'")
        seconds = fields.number(r, "seconds", w)
        stopped = r.get("stopped")
        if stopped is None:
            fields.warn(f"{w}: missing field 'stopped'")
        text = fmt_int(n) if stopped or stopped is None else f"cap ({fmt_int(n)})"
        if seconds is not None:
            text += f" [{fmt_s(seconds)} s]"
        cells.setdefault(key, {})[init] = text
        if isinstance(n, (int, float)):
            iters.setdefault(init, []).append(float(n))
    out = [[cell(s), cell(st), *(cells[(s, st)].get(i, DASH) for i in inits)] for s, st in cells]
    out.append(["**mean**", "", *(fmt_auto(fields.mean(iters.get(i, []))) for i in inits)])
    lines.append(table(["Sequence", "Style", *inits], out, ["l", "l"] + ["r"] * len(inits)))
    return lines
