"""Verdicts on every benchmark series of an asv history: code regressions and improvements, environment shifts, unstable series.

Public API
==========

``analyse(results, *, alpha=1e-3, min_change=0.0, min_points=3, group_machines="auto", cache_dir=None,
direction=None, retired_after_days=90) -> Verdicts``
    The whole analysis, once. ``results``: a :class:`~tensorscope.results.ResultSet` (its
    ``machines`` frame lets machines of equal hardware form runner groups) or its tidy table.
    ``Verdicts`` holds DataFrames:

    ``steps``               every **code** step of every series (the history: undone and retired ones too),
                            columns :data:`CHANGE_COLUMNS`;
    ``environment_shifts``  level changes that are the environment's, once per machine, env and run
                            boundary, columns :data:`SHIFT_COLUMNS`;
    ``unstable``            series that switch between two levels (no steps reported for them),
                            columns :data:`UNSTABLE_COLUMNS`;
    ``groups``              the runner groups formed: ``machine``, ``group``, ``rule``;
    ``live``                the live series (see :mod:`.verdicts.effect`);

    and ``Verdicts.in_effect(threshold)``: one row per live series whose net change since the level it
    left is at least ``threshold`` (regressions and improvements, ``kind`` says which; extra columns
    ``steps``, ``commit_latest``).

``detect_changes(table, **kw) -> DataFrame``
    ``analyse(table, **kw).steps``: every code step.

``regressions(table, *, threshold=0.05, since=None, **kw)`` / ``improvements(...)``
    ``detect_changes`` filtered to one kind with ``|factor - 1| >= threshold`` (improvements:
    ``factor <= 1 / (1 + threshold)``) and, with ``since`` (a commit hash or prefix, or a commit_order),
    to steps after that commit.

``latest_regressions(table, *, threshold=0.05, **kw) -> DataFrame``
    The regressions **in effect**: ``analyse(table, **kw).in_effect(threshold)`` restricted to
    regressions, one row per live series, largest first. This is what ``tensorscope report`` gates
    on and what ``tensorscope confirm`` re-measures.

``environment_shifts(table, **kw)`` / ``unstable_series(table, **kw)``
    ``analyse(table, **kw).environment_shifts`` / ``.unstable``.

``find_steps``, ``asv_steps``, ``Step`` (one series; :mod:`.verdicts.steps`), ``Direction`` (which way is
better; :mod:`.verdicts.direction`).

Columns of a step (:data:`CHANGE_COLUMNS`)
    series, machine, machines, env, benchmark, params, unit, version, version_segment,
    commit_before, commit_after   the commit range where it happened: last commit surely at the old
                                  level and first commit surely at the new one (bisect within it);
    order_before, order_after, date_after (commit date), run_before, run_after (when those were run),
    value_before, value_after     medians of the two levels; ratio = after / before; change = after - before;
    better                        'lower' | 'higher'; kind 'regression' | 'improvement';
    factor                        how many times worse (>1) or better (<1);
    pvalue, confidence            of the step against the series' own noise; noise (sigma of log value);
    n_before, n_after             points on each level; bimodal_runs: runs of the series whose raw
                                  samples are bimodal within the run;
    evidence                      what else is true of the step ('' when nothing): that it happened at an
                                  environment shift of its machine (the shift's factor removed: the rest
                                  is the code's), or that one level was run in one sitting apart from
                                  the other (run time and commit order confounded).
    ``machine`` is a runner group's name for a group's series, ``machines`` its members (else the machine).

How the verdicts are reached, in order (each module's docstring says more):

1. runner groups of ephemeral machines (:mod:`.verdicts.runs`);
2. machine-wide environment shifts, and what each explains of every series, removed from it
   (:mod:`.verdicts.environment`);
3. per series, whole: its unstable stretches, its code steps, and steps that run order explains better
   than commit order (:mod:`.verdicts.series`, :mod:`.verdicts.stability`, :mod:`.verdicts.steps`) -
   computed once per series content and kept on disk (:mod:`tensorscope.analysis.detection_cache`);
4. what is in effect (:mod:`.verdicts.effect`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .detection_cache import SCHEMA, AnalysisStore, VerdictStore, series_hashes, settings_key, table_fingerprint
from .verdicts.direction import DEFAULT_DIRECTION, Direction
from .verdicts.effect import in_effect, live_series
from .verdicts.environment import MEASURES, Explained, machine_shifts, unseen_elsewhere
from .verdicts.points import Points, detection_keys, prepare, series_names, text
from .verdicts.runs import runner_groups
from .verdicts.series import SeriesInput, SeriesVerdict, analyse_series
from .verdicts.stability import MIN_MODE_POINTS
from .verdicts.steps import CONFOUNDED, DEFAULT_ALPHA, DEFAULT_MIN_POINTS, ONE_SITTING, Step, asv_steps, find_steps

__all__ = [
    "CHANGE_COLUMNS",
    "DEFAULT_ALPHA",
    "DEFAULT_DIRECTION",
    "DEFAULT_MIN_POINTS",
    "SHIFT_COLUMNS",
    "UNSTABLE_COLUMNS",
    "Direction",
    "Step",
    "Verdicts",
    "analyse",
    "asv_steps",
    "detect_changes",
    "environment_shifts",
    "find_steps",
    "improvements",
    "latest_regressions",
    "regressions",
    "select",
    "since_order",
    "unstable_series",
]

CHANGE_COLUMNS = [
    "series",
    "machine",
    "machines",
    "env",
    "benchmark",
    "params",
    "unit",
    "version",
    "version_segment",
    "commit_before",
    "commit_after",
    "order_before",
    "order_after",
    "date_after",
    "run_before",
    "run_after",
    "value_before",
    "value_after",
    "ratio",
    "change",
    "better",
    "kind",
    "factor",
    "pvalue",
    "confidence",
    "noise",
    "n_before",
    "n_after",
    "bimodal_runs",
    "evidence",
]
SHIFT_COLUMNS = [
    "machine",
    "machines",
    "env",
    "run_before",
    "run_after",
    "commit_before",
    "commit_after",
    "series",
    "tested",
    "benchmarks",
    "measure",
    "factor",
    "evidence",
]
UNSTABLE_COLUMNS = [
    "series",
    "machine",
    "machines",
    "env",
    "benchmark",
    "params",
    "unit",
    "version_segment",
    "low",
    "high",
    "share_high",
    "switches",
    "points",
    "bimodal_runs",
    "commit_last",
]
RETIRED_AFTER_DAYS = 90.0


@dataclass
class Verdicts:
    """The analysis of one table; see the module docstring."""

    steps: pd.DataFrame
    environment_shifts: pd.DataFrame
    unstable: pd.DataFrame
    groups: pd.DataFrame
    live: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)

    def in_effect(self, threshold: float = 0.05) -> pd.DataFrame:
        """One row per live series with a net change of at least ``threshold`` (see :mod:`.verdicts.effect`)."""
        return in_effect(self.steps, self.live, threshold)


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _sample_arrays(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(flat samples, offsets per row of ``table``), or None when no row has samples."""
    if "samples" not in table.columns or len(table) == 0:
        return None
    col = table["samples"]
    try:
        arr = pa.chunked_array(col.array.__arrow_array__()).combine_chunks()
    except (AttributeError, TypeError, pa.ArrowException):
        arr = pa.array([None if not isinstance(v, list | np.ndarray) else [float(x) for x in v] for v in col], type=pa.list_(pa.float64()))
    if arr.null_count == len(arr):
        return None
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(arr).to_numpy(zero_copy_only=False).astype(float)
    return flat, np.r_[0, np.cumsum(lengths)]


def _ranks(p: Points) -> tuple[np.ndarray, np.ndarray]:
    """Per point: its commit's rank and its run's rank within its series."""
    n = len(p.series)
    first_of = p.starts[p.series]
    new_commit = np.r_[True, (p.series[1:] != p.series[:-1]) | (p.commit_order[1:] != p.commit_order[:-1])]
    cum = np.cumsum(new_commit)
    commit_rank = cum - cum[first_of]
    perm = np.lexsort((p.run, p.series))
    run_rank = np.empty(n, dtype=np.int64)
    run_rank[perm] = np.arange(n) - p.starts[p.series[perm]]
    return commit_rank, run_rank


def _verdict_rows(h1: np.ndarray, h2: np.ndarray, verdicts: list[SeriesVerdict]) -> pa.Table:
    def steps(v: SeriesVerdict) -> list[dict[str, Any]]:
        return [
            {
                "env": env,
                "before": s.before,
                "after": s.after,
                "cut": s.cut,
                "value_before": s.value_before,
                "value_after": s.value_after,
                "pvalue": s.pvalue,
                "n_before": s.n_before,
                "n_after": s.n_after,
                "flags": s.flags,
            }
            for env, group in ((False, v.steps), (True, v.env_steps))
            for s in group
        ]

    m = [v.modes for v in verdicts]
    return _verdict_table(
        h1,
        h2,
        noise=[v.noise for v in verdicts],
        bimodal_runs=[v.bimodal_runs for v in verdicts],
        unstable=[x is not None for x in m],
        mode_low=[x.low if x else math.nan for x in m],
        mode_high=[x.high if x else math.nan for x in m],
        share_high=[x.share_high if x else math.nan for x in m],
        switches=[x.switches if x else 0 for x in m],
        steps=[steps(v) for v in verdicts],
    )


def _empty_verdict_rows(h1: np.ndarray, h2: np.ndarray) -> pa.Table:
    """Verdict rows of series with nothing found (no steps, stable, no noise figure), built without per-series work."""
    n = len(h1)
    nan, zero = np.full(n, math.nan), np.zeros(n, dtype=np.int32)
    no_steps = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], type=SCHEMA.field("steps").type.value_type))
    return _verdict_table(
        h1,
        h2,
        noise=nan,
        bimodal_runs=zero,
        unstable=np.zeros(n, dtype=bool),
        mode_low=nan,
        mode_high=nan,
        share_high=nan,
        switches=zero,
        steps=no_steps,
    )


def _verdict_table(h1: np.ndarray, h2: np.ndarray, **columns: Any) -> pa.Table:
    """Rows of the verdict cache (:data:`SCHEMA`) from per-series columns (lists or arrays, converted to its types)."""
    return pa.Table.from_pydict({"h1": h1, "h2": h2, "used": np.zeros(len(h1), dtype=np.int32), **columns}, schema=SCHEMA)


def _series_inputs(
    p: Points, s: int, commit_rank: np.ndarray, run_rank: np.ndarray, explained: Explained, samples: Any, grouped: bool
) -> SeriesInput:
    lo, hi = int(p.starts[s]), int(p.starts[s + 1])
    flat = offsets = None
    if samples is not None:
        all_flat, all_off = samples
        rows = p.table_rows[p.rows[lo:hi]]
        pieces = [all_flat[all_off[r] : all_off[r + 1]] for r in rows]
        counts = np.array([len(x) for x in pieces], dtype=np.int64)
        if counts.any():
            flat, offsets = np.concatenate(pieces), np.r_[0, np.cumsum(counts)]
    return SeriesInput(
        logy=p.logy[lo:hi] + explained.offset[lo:hi],
        rel_ci=p.rel_ci[lo:hi],
        commit=commit_rank[lo:hi],
        run=run_rank[lo:hi],
        run_time=p.run_time[lo:hi],
        member=p.member[lo:hi] if grouped else None,
        band=(explained.band_lo[lo:hi], explained.band_hi[lo:hi]) if np.isfinite(explained.band_lo[lo:hi]).any() else None,
        samples=flat,
        sample_offsets=offsets,
    )


def analyse(
    results: Any,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = 0.0,
    min_points: int = DEFAULT_MIN_POINTS,
    group_machines: str = "auto",
    cache_dir: str | Path | None = None,
    direction: Callable[[str, str | None, str | None], str] | None = None,
    retired_after_days: float = RETIRED_AFTER_DAYS,
) -> Verdicts:
    """Code steps, environment shifts, unstable series and what is live, for a ResultSet or tidy table; see the module docstring."""
    table: pd.DataFrame = results.results if hasattr(results, "results") else results
    machines_info = getattr(results, "machines", None)
    # an unchanged table with the default rules is read back whole (a new dashboard server)
    whole = AnalysisStore(Path(cache_dir) if cache_dir is not None and direction is None else None)
    fingerprint = ""
    if whole.root is not None:
        fingerprint = table_fingerprint(
            table,
            machines_info,
            settings_key(alpha=alpha, min_change=min_change, min_points=min_points, group=group_machines, retired=retired_after_days),
        )
        frames = whole.load(fingerprint, list(_FRAMES))
        if frames is not None:
            return Verdicts(**frames, stats={"whole_analysis_cached": True})
    found = _analyse(table, machines_info, alpha, min_change, min_points, group_machines, cache_dir, direction, retired_after_days)
    whole.save(fingerprint, {name: getattr(found, name) for name in _FRAMES})
    return found


_FRAMES = ("steps", "environment_shifts", "unstable", "groups", "live")


def _analyse(
    table: pd.DataFrame,
    machines_info: Any,
    alpha: float,
    min_change: float,
    min_points: int,
    group_machines: str,
    cache_dir: str | Path | None,
    direction: Callable[[str, str | None, str | None], str] | None,
    retired_after_days: float,
) -> Verdicts:
    direction = direction or DEFAULT_DIRECTION
    groups = runner_groups(machines_info, table["machine"].astype(str).unique() if len(table) else [], group_machines)
    keys = detection_keys(table, groups)
    group_frame = pd.DataFrame(
        [(m, g, "equal hardware" + (", ephemeral names" if group_machines == "auto" else "")) for m, (g, _) in sorted(groups.items())],
        columns=["machine", "group", "rule"],
    )
    live = live_series(table, keys, retired_after_days)
    if table.empty:
        return Verdicts(_frame(CHANGE_COLUMNS), _frame(SHIFT_COLUMNS), _frame(UNSTABLE_COLUMNS), group_frame, live)
    p = prepare(table, keys)
    if p.n_series == 0:
        return Verdicts(_frame(CHANGE_COLUMNS), _frame(SHIFT_COLUMNS), _frame(UNSTABLE_COLUMNS), group_frame, live)
    shifts, explained = machine_shifts(p)
    samples = _sample_arrays(table)
    commit_rank, run_rank = _ranks(p)
    fields = [
        p.logy + explained.offset,
        np.nan_to_num(explained.band_lo),
        np.nan_to_num(explained.band_hi),
        p.rel_ci,
        commit_rank,
        run_rank,
    ]
    fields += [p.run_time, p.member if groups else np.zeros(len(p.logy), dtype=np.int64)]
    if samples is not None:
        flat, offsets = samples
        counts = np.diff(offsets)
        sums = np.add.reduceat(np.r_[flat, 0.0], offsets[:-1]) if len(flat) else np.zeros(len(counts))
        sums = np.where(counts > 0, sums, 0.0)
        at = p.table_rows[p.rows]
        fields += [sums[at], counts[at]]
    settings = settings_key(alpha=alpha, min_change=min_change, min_points=min_points)
    h1, h2 = series_hashes(p.starts, fields, settings)
    store = VerdictStore(Path(cache_dir) if cache_dir is not None else None, settings)
    found = store.lookup(h1, h2)
    # a series too short for two levels (min_points each side for a step, MIN_MODE_POINTS for
    # modes) has nothing to find: no per-series work (a 250 MB file of one run is millions of them)
    can_change = np.diff(p.starts) >= max(2 * min_points, MIN_MODE_POINTS)
    missing = np.flatnonzero((found < 0) & can_change)
    short = np.flatnonzero((found < 0) & ~can_change)
    new = _verdict_rows(
        h1[missing],
        h2[missing],
        [
            analyse_series(
                _series_inputs(p, int(s), commit_rank, run_rank, explained, samples, bool(groups)),
                alpha=alpha,
                min_change=min_change,
                min_points=min_points,
            )
            for s in missing
        ],
    )
    store.save(new)
    hits = np.flatnonzero(found >= 0)
    parts = ([store.rows(found[hits])] if len(hits) else []) + [new, _empty_verdict_rows(h1[short], h2[short])]
    verdicts = pa.concat_tables(parts)
    owner = np.r_[hits, missing, short]  # row of `verdicts` -> series
    stats = {"series": p.n_series, "analysed": len(missing), "cached": len(hits), "too_short": len(short), "points": len(p.logy)}
    return _assemble(p, groups, shifts, explained.epoch, verdicts, owner, direction, group_frame, live, stats)


def _assemble(
    p: Points,
    groups: dict[str, tuple[str, list[str]]],
    shifts: list[Any],
    epoch: np.ndarray,
    verdicts: pa.Table,
    owner: np.ndarray,
    direction: Callable[[str, str | None, str | None], str],
    group_frame: pd.DataFrame,
    live: pd.DataFrame,
    stats: dict[str, Any],
) -> Verdicts:
    ok = p.ok

    def col(name: str, rows: np.ndarray) -> np.ndarray:
        """Text of an ok column at some rows ('' where the table lacks it)."""
        return text(ok, name, rows) if name in ok.columns else np.full(len(rows), "", dtype=object)

    members = {g: ", ".join(m) for g, m in groups.values()}

    def describe(sids: np.ndarray) -> dict[str, np.ndarray]:
        """Names of some series (only those reported: a table may hold millions of series)."""
        first_row = p.rows[p.starts[sids]]  # per series: a row of ok
        machine = p.dm_names[p.dmachine[p.starts[sids]]].astype(str)
        d = {name: col(name, first_row) for name in ("env", "benchmark", "params", "unit")}
        kind = col("type", first_row) if "type" in ok.columns else np.full(len(sids), None, dtype=object)
        # direction is asked once per distinct (benchmark, unit, type), not per series
        better_of: dict[tuple[str, str, Any], str] = {}
        d["better"] = np.array(
            [
                better_of.setdefault((b, u, t), direction(b, u, None if t is None or t != t else str(t)))
                for b, u, t in zip(d["benchmark"], d["unit"], kind, strict=True)
            ],
            dtype=object,
        )
        d["series"] = series_names(ok, machine, first_row)
        d["machine"] = machine
        d["machines"] = np.array([members.get(m, m) for m in machine], dtype=object)
        return d

    s_segment = p.segment[p.starts[:-1]]
    n_points = np.diff(p.starts)

    # per series columns of the verdicts, in series order
    row_of = np.empty(p.n_series, dtype=np.int64)
    row_of[owner] = np.arange(len(owner))
    noise = verdicts.column("noise").to_numpy()[row_of]
    bimodal = verdicts.column("bimodal_runs").to_numpy()[row_of]
    unstable = verdicts.column("unstable").to_numpy(zero_copy_only=False)[row_of]

    steps_col = verdicts.column("steps").combine_chunks() if verdicts.num_rows else pa.array([], type=SCHEMA.field("steps").type)
    flat = pc.list_flatten(steps_col)
    parent = pc.list_parent_indices(steps_col).to_numpy() if len(flat) else np.zeros(0, dtype=np.int64)
    st = {
        name: flat.field(name).to_numpy(zero_copy_only=False)
        for name in ("env", "before", "after", "value_before", "value_after", "pvalue", "n_before", "n_after", "flags")
    }
    s_of = owner[parent] if len(parent) else np.zeros(0, dtype=np.int64)
    is_env = st["env"].astype(bool) if len(flat) else np.zeros(0, dtype=bool)
    # a confounded code step that another machine measured at the same commits without moving is the environment's
    unseen = np.full(len(is_env), "", dtype=object)
    for i in np.flatnonzero(~is_env & ((st["flags"] & CONFOUNDED) != 0) if len(flat) else np.zeros(0, dtype=np.int64)):
        first = p.starts[s_of[i]]
        change = math.log(st["value_after"][i] / st["value_before"][i])
        unseen[i] = unseen_elsewhere(p, int(first + st["before"][i]), int(first + st["after"][i]), change)
    is_env |= unseen != ""

    # code steps
    code = ~is_env
    cs = s_of[code]
    base = p.starts[cs]
    rb, ra = p.rows[base + st["before"][code]], p.rows[base + st["after"][code]]
    vb, va = st["value_before"][code], st["value_after"][code]
    ratio = va / vb
    named = describe(cs)
    better = named["better"]
    factor = np.where(better == "lower", ratio, 1.0 / ratio)
    dates = ok["commit_date"].take(ra).reset_index(drop=True) if "commit_date" in ok.columns else np.full(len(ra), None)
    run_time = pd.to_datetime(p.run_time, unit="s", utc=True)
    steps = pd.DataFrame(
        {
            "series": named["series"],
            "machine": named["machine"],
            "machines": named["machines"],
            "env": named["env"],
            "benchmark": named["benchmark"],
            "params": named["params"],
            "unit": named["unit"],
            "version": col("version", rb),
            "version_segment": s_segment[cs],
            "commit_before": col("commit", rb),
            "commit_after": col("commit", ra),
            "order_before": p.commit_order[base + st["before"][code]],
            "order_after": p.commit_order[base + st["after"][code]],
            "date_after": dates,
            "run_before": run_time[base + st["before"][code]],
            "run_after": run_time[base + st["after"][code]],
            "value_before": vb,
            "value_after": va,
            "ratio": ratio,
            "change": va - vb,
            "better": better,
            "kind": np.where(factor > 1, "regression", "improvement"),
            "factor": factor,
            "pvalue": st["pvalue"][code],
            "confidence": 1.0 - st["pvalue"][code],
            "noise": noise[cs],
            "n_before": st["n_before"][code].astype(np.int64),
            "n_after": st["n_after"][code].astype(np.int64),
            "bimodal_runs": bimodal[cs].astype(np.int64),
            "evidence": _evidence(p, shifts, epoch, base + st["before"][code], base + st["after"][code], st["flags"][code]),
        },
        columns=CHANGE_COLUMNS,
    )
    steps = steps.sort_values(["order_after", "series"], kind="stable").reset_index(drop=True)

    # environment shifts: machine-wide, then those only run order shows (once per machine, env and run)
    shift_rows = []
    run_commit = col("commit", p.run_commit_row)
    run_env = col("env", p.run_commit_row)
    run_dm = np.empty(len(p.run_group), dtype=object)
    run_dm[p.run] = p.dm_names[p.dmachine]

    def when(r: int) -> Any:
        t = p.run_first[r]
        return pd.Timestamp(t, unit="s", tz="UTC") if np.isfinite(t) else pd.NaT

    for sh in shifts:
        b = sh.run
        shift_rows.append(
            {
                "machine": run_dm[b],
                "machines": members.get(str(run_dm[b]), run_dm[b]),
                "env": run_env[b],
                "run_before": when(b),
                "run_after": when(b + 1),
                "commit_before": run_commit[b],
                "commit_after": run_commit[b + 1],
                "series": sh.moved,
                "tested": sh.tested,
                "benchmarks": sh.benchmarks,
                "measure": MEASURES[sh.measure],
                "factor": math.exp(sh.log_factor),
                "evidence": "machine-wide",
            }
        )
    if is_env.any():
        es = s_of[is_env]
        pb = p.starts[es] + st["before"][is_env]
        pa_ = p.starts[es] + st["after"][is_env]
        env_steps = pd.DataFrame(
            {
                "run_before": p.run[pb],
                "run_after": p.run[pa_],
                "log": np.log(st["value_after"][is_env] / st["value_before"][is_env]),
                "measure": p.measure[pa_],
                "evidence": [
                    f"not on {m} at the same commits" if m else ("one sitting" if fl & ONE_SITTING else "run order")
                    for m, fl in zip(unseen[is_env], st["flags"][is_env], strict=True)
                ],
            }
        )
        for (key, evidence), g in env_steps.groupby(["run_after", "evidence"], sort=True):
            r_after, r_before = int(str(key)), int(g["run_before"].max())
            shift_rows.append(
                {
                    "machine": run_dm[r_after],
                    "machines": members.get(str(run_dm[r_after]), run_dm[r_after]),
                    "env": run_env[r_after],
                    "run_before": when(r_before),
                    "run_after": when(r_after),
                    "commit_before": run_commit[r_before],
                    "commit_after": run_commit[r_after],
                    "series": len(g),
                    "tested": np.nan,
                    "benchmarks": np.nan,
                    "measure": ", ".join(sorted({MEASURES[k] for k in g["measure"]})),
                    "factor": math.exp(float(np.median(g["log"]))),
                    "evidence": evidence,
                }
            )
    shift_frame = pd.DataFrame(shift_rows, columns=SHIFT_COLUMNS) if shift_rows else _frame(SHIFT_COLUMNS)

    # unstable series
    us = np.flatnonzero(unstable)
    named = describe(us)
    vrow = row_of[us]
    last_row = p.rows[p.starts[us + 1] - 1]
    unstable_frame = pd.DataFrame(
        {
            "series": named["series"],
            "machine": named["machine"],
            "machines": named["machines"],
            "env": named["env"],
            "benchmark": named["benchmark"],
            "params": named["params"],
            "unit": named["unit"],
            "version_segment": s_segment[us],
            "low": np.exp(verdicts.column("mode_low").to_numpy()[vrow]),
            "high": np.exp(verdicts.column("mode_high").to_numpy()[vrow]),
            "share_high": verdicts.column("share_high").to_numpy()[vrow],
            "switches": verdicts.column("switches").to_numpy()[vrow].astype(np.int64),
            "points": n_points[us].astype(np.int64),
            "bimodal_runs": bimodal[us].astype(np.int64),
            "commit_last": col("commit", last_row),
        },
        columns=UNSTABLE_COLUMNS,
    )
    stats.update(code_steps=len(steps), environment_shifts=len(shift_frame), unstable=len(unstable_frame))
    return Verdicts(steps, shift_frame, unstable_frame, group_frame, live, stats)


def _evidence(p: Points, shifts: list[Any], epoch: np.ndarray, before: np.ndarray, after: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """The ``evidence`` text of code steps (points ``before`` and ``after`` of each; its flags)."""
    out = np.full(len(before), "", dtype=object)
    run_commit = text(p.ok, "commit", p.run_commit_row) if "commit" in p.ok.columns else np.full(len(p.run_group), "", dtype=object)
    for i in np.flatnonzero((epoch[before] != epoch[after]) | ((flags & CONFOUNDED) != 0)):
        parts = []
        r0, r1 = sorted((int(p.run[before[i]]), int(p.run[after[i]])))
        at = [sh for sh in shifts if r0 <= sh.run < r1 and p.run_group[sh.run] == p.dme[before[i]]]
        if at:
            named = ", ".join(f"{math.exp(sh.log_factor):.2f}x at {str(run_commit[sh.run + 1])[:8]}" for sh in at)
            parts.append(f"at an environment shift ({named}); its part removed, the rest is the code's")
        if flags[i] & CONFOUNDED:
            parts.append("confounded with a run boundary: the old level was run in one sitting, apart from the new one")
        out[i] = "; ".join(parts)
    return out


def detect_changes(table: Any, **kw: Any) -> pd.DataFrame:
    """Every code step of every series (``analyse(table, **kw).steps``); see the module docstring."""
    return analyse(table, **kw).steps


def since_order(table: pd.DataFrame, since: str | int | None) -> int | None:
    """The commit order of ``since`` (a commit hash or prefix, or an order already); KeyError when unknown."""
    if since is None:
        return None
    if isinstance(since, int | np.integer):
        return int(since)
    commits = table[["commit", "commit_order"]].drop_duplicates()
    hits = commits[commits["commit"].astype(str).str.startswith(str(since))]
    if hits.empty:
        raise KeyError(f"commit {since!r} is not in these results")
    return int(hits["commit_order"].min())


def select(changes: pd.DataFrame, kind: str, threshold: float, since_order: int | None = None) -> pd.DataFrame:
    """Rows of ``changes`` of one ``kind`` beyond ``threshold`` (improvements: factor <= 1/(1+threshold)), after ``since_order``."""
    keep = changes["kind"] == kind
    keep &= (changes["factor"] - 1.0 >= threshold) if kind == "regression" else (changes["factor"] <= 1.0 / (1.0 + threshold))
    if since_order is not None:
        keep &= changes["order_after"] > since_order
    return changes[keep].reset_index(drop=True)


def regressions(table: Any, *, threshold: float = 0.05, since: str | int | None = None, **kw: Any) -> pd.DataFrame:
    """Code steps that made a benchmark worse by at least ``threshold`` (0.05 = 5%), after ``since``."""
    t = table.results if hasattr(table, "results") else table
    order = since_order(t, since)
    return select(detect_changes(table, **kw), "regression", threshold, order)


def improvements(table: Any, *, threshold: float = 0.05, since: str | int | None = None, **kw: Any) -> pd.DataFrame:
    """Code steps that made a benchmark better by at least ``threshold`` (factor <= 1/(1+threshold)), after ``since``."""
    t = table.results if hasattr(table, "results") else table
    order = since_order(t, since)
    return select(detect_changes(table, **kw), "improvement", threshold, order)


def latest_regressions(table: Any, *, threshold: float = 0.05, **kw: Any) -> pd.DataFrame:
    """Regressions in effect: one row per live series whose net change is a regression of at least ``threshold``, largest first."""
    found = analyse(table, **kw).in_effect(threshold)
    found = found[found["kind"] == "regression"]
    return found.sort_values("factor", ascending=False, kind="stable").reset_index(drop=True)


def environment_shifts(table: Any, **kw: Any) -> pd.DataFrame:
    """Level changes that are the environment's, once per machine, env and run boundary."""
    return analyse(table, **kw).environment_shifts


def unstable_series(table: Any, **kw: Any) -> pd.DataFrame:
    """Series that switch between two levels (their switches are not reported as steps)."""
    return analyse(table, **kw).unstable
