"""A comparison as a terminal table, JSON (:func:`to_json`) or Markdown for a pull-request comment or CI job summary."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

from tensorscope.units import format_value

from .model import CellOutcome, Comparison

# how the Markdown report describes a schedule (Comparison.mode)
_SCHEDULES = {
    "lockstep": ", both alive at once and taking turns on one CPU, one sample each",
    "duet": " at the same time on two cores",
}

__all__ = ["STATISTIC", "format_markdown", "format_table", "render", "to_json"]

STATISTIC = "Hodges-Lehmann estimate of the paired log-ratios log(B/A), exact Wilcoxon signed-rank interval"
_ORDER = {"slower": 0, "faster": 1, "undecided": 2, "failed": 3, "skipped": 4, "same": 5}


def percent(x: float) -> str:
    """0.998 -> '99.8%', 0.99 -> '99%' (no rounding up to 100%)."""
    return f"{x * 100:.4g}%"


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _bound(log_bound: float) -> float | None:
    """An interval end as a ratio; None when it is open (too few pairs yet for the confidence)."""
    return math.exp(log_bound) if math.isfinite(log_bound) else None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _values(outcome: CellOutcome, side: str) -> list[float]:
    return [m.value for m in (outcome.a if side == "A" else outcome.b) if m.status == "ok"]


def _sorted(outcomes: list[CellOutcome]) -> list[CellOutcome]:
    def key(o: CellOutcome) -> tuple[int, float]:
        ratio = o.ratio if math.isfinite(o.ratio) else 1.0
        return _ORDER.get(o.verdict, 9), -abs(math.log(ratio)) if ratio > 0 else 0.0

    return sorted(outcomes, key=key)


def summary(comparison: Comparison) -> dict[str, int]:
    """How many cells got each verdict."""
    counts = dict.fromkeys(_ORDER, 0)
    for o in comparison.outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    return counts


def cell_json(o: CellOutcome) -> dict[str, Any]:
    """One cell's verdict and evidence as plain JSON (``seconds``: wall time spent on the cell)."""
    iv = o.interval
    return {
        "id": o.cell.id,
        "benchmark": o.cell.benchmark,
        "params": o.cell.label,
        "unit": o.cell.unit,
        "better": o.cell.better,
        "verdict": o.verdict,
        "ratio": _num(o.ratio),
        "ci_low": _bound(iv.low) if iv else None,
        "ci_high": _bound(iv.high) if iv else None,
        "pairs": o.pairs,
        "a_median": _num(_median(_values(o, "A"))),
        "b_median": _num(_median(_values(o, "B"))),
        "orders": list(o.orders),
        "looks": [
            {
                "pairs": look.pairs,
                "ratio": _num(look.interval.ratio),
                "ci_low": _bound(look.interval.low),
                "ci_high": _bound(look.interval.high),
                "verdict": look.verdict,
            }
            for look in o.looks
        ],
        "a_values": [_num(v) for v in _values(o, "A")],
        "b_values": [_num(v) for v in _values(o, "B")],
        "seconds": round(o.wall_seconds, 3),
        "note": o.note,
    }


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The whole comparison as a JSON-ready dict (per cell ``orders``: 'AB' or 'BA' per pair, which side ran first)."""
    c = comparison
    return {
        "a": {"name": c.a.name, "commit": c.a.commit, "subject": c.a.subject, "env": c.a.env_name},
        "b": {"name": c.b.name, "commit": c.b.commit, "subject": c.b.subject, "env": c.b.env_name},
        "machine": c.machine,
        "mode": c.mode,
        "threshold": c.threshold,
        "confidence": c.confidence,
        "statistic": STATISTIC,
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "minutes": round(c.seconds / 60, 3),
        "install_minutes": round(c.install_seconds / 60, 3),
        "summary": summary(c),
        "exit_code": c.exit_code,
        "controls": c.controls,
        "conditions": c.conditions,
        "results_files": c.results_files,
        "cells": [cell_json(o) for o in _sorted(c.outcomes)],
    }


def _ci(o: CellOutcome) -> str:
    if o.interval is None:
        return ""
    if not (math.isfinite(o.interval.low) and math.isfinite(o.interval.high)):
        return "open"
    return f"[{o.interval.ratio_low:.3f}, {o.interval.ratio_high:.3f}]"


def _ratio(o: CellOutcome) -> str:
    return f"{o.ratio:.3f}" if math.isfinite(o.ratio) else ""


def _headline(c: Comparison) -> str:
    counts = summary(c)
    parts = [f"{n} {v}" for v, n in counts.items() if n]
    n = len(c.outcomes)
    return f"{n} cell{'' if n == 1 else 's'}: " + (", ".join(parts) if parts else "none")


def _sides(c: Comparison) -> str:
    def one(side: Any) -> str:
        name = f" ({side.name})" if side.name and not side.commit.startswith(side.name) else ""
        return f"{side.label} {side.commit[:8]}{name}"

    return f"{one(c.a)} vs {one(c.b)}"


def format_table(comparison: Comparison) -> str:
    """Plain-text table for a terminal: the decisive cells first."""
    c = comparison
    conf = percent(c.confidence)
    head = ["verdict", "ratio", f"{conf} CI", "pairs", "A", "B", "benchmark"]
    rows = []
    for o in _sorted(c.outcomes):
        rows.append(
            [
                o.verdict,
                _ratio(o),
                _ci(o),
                str(o.pairs),
                format_value(_median(_values(o, "A")), o.cell.unit),
                format_value(_median(_values(o, "B")), o.cell.unit),
                o.cell.id + (f"  ({o.note})" if o.note else ""),
            ]
        )
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    lines = [
        f"tensorscope compare: {_sides(c)} on {c.machine or 'this machine'} [{c.a.env_name}], "
        f"threshold {c.threshold:.1%}, {conf} intervals, {c.mode}",
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
    ]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"{_headline(c)}. {c.seconds / 60:.1f} min measuring, {c.install_seconds / 60:.1f} min installing.")
    for path in c.results_files:
        lines.append(f"results written: {path}")
    return "\n".join(lines) + "\n"


def _md_row(o: CellOutcome) -> str:
    cells = [
        f"**{o.verdict}**" if o.verdict in ("slower", "faster") else o.verdict,
        f"`{o.cell.id}`" + (f" ({o.note})" if o.note else ""),
        _ratio(o),
        _ci(o),
        str(o.pairs),
        format_value(_median(_values(o, "A")), o.cell.unit),
        format_value(_median(_values(o, "B")), o.cell.unit),
    ]
    return "| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |"


def format_markdown(comparison: Comparison) -> str:
    """Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY``: changed cells in a table, the rest folded."""
    c = comparison
    conf = percent(c.confidence)
    header = f"| verdict | benchmark | ratio B/A | {conf} CI | pairs | A | B |\n|---|---|---|---|---|---|---|"
    ordered = _sorted(c.outcomes)
    shown = [o for o in ordered if o.verdict != "same"]
    same = [o for o in ordered if o.verdict == "same"]
    status = "a slowdown beyond the threshold" if c.exit_code else "no slowdown beyond the threshold"
    lines = [
        f"### tensorscope compare: {status}",
        "",
        f"{_sides(c).replace(' vs ', ' → ')} · machine `{c.machine}` · env `{c.a.env_name}` · "
        f"threshold {c.threshold:.1%} · {conf} intervals · {c.mode} · {c.seconds / 60:.1f} min",
        "",
        f"{_headline(c)}.",
        "",
    ]
    if shown:
        lines += [header, *(_md_row(o) for o in shown), ""]
    if same:
        lines += [
            f"<details><summary>{len(same)} cells within the threshold</summary>",
            "",
            header,
            *(_md_row(o) for o in same),
            "",
            "</details>",
            "",
        ]
    lines += [
        "<details><summary>How this was measured</summary>",
        "",
        f"Each pair runs A and B in fresh processes, in randomized balanced order (AB/BA){_SCHEDULES.get(c.mode, '')}; "
        f"pairs are added only to cells whose interval still straddles the threshold. Statistic: {STATISTIC}.",
        "",
        f"Controls: `{json.dumps(c.controls, sort_keys=True)}`",
        "",
        f"Conditions (recorded, not controlled): `{json.dumps(c.conditions, sort_keys=True, default=str)}`",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def render(comparison: Comparison, fmt: str) -> str:
    """``fmt`` is 'table', 'json' or 'markdown'."""
    if fmt == "json":
        return json.dumps(to_json(comparison), indent=2, allow_nan=False) + "\n"
    if fmt == "markdown":
        return format_markdown(comparison)
    return format_table(comparison)
