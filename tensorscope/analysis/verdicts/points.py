"""The tidy table's successful points as flat arrays, one series after another (the analysis' working form).

A **series** here is one (machine or runner group, env, benchmark, params, benchmark version
segment): its points sit together, in commit order, then run order. Every array has one entry per
point; ``starts[s]:starts[s + 1]`` are series ``s``'s points. ``rows`` maps a point back to its row
of ``ok`` (the successful rows of the table), where the strings live.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .runs import SESSION_GAP, seconds

__all__ = ["Keys", "Points", "codes", "detection_keys", "prepare", "series_names", "text"]


@dataclass
class Keys:
    """Per row of a table: its detection machine (the machine, or its runner group) as a code into ``names``, and its version segment."""

    machine: np.ndarray  # int64 codes into names
    names: np.ndarray  # str
    segment: np.ndarray

    def text(self) -> np.ndarray:
        """The detection machine of every row, as text."""
        return self.names[self.machine]


@dataclass
class Points:
    """See the module docstring."""

    ok: pd.DataFrame  # the successful rows (index 0..n-1), without the raw samples
    table_rows: np.ndarray  # row of ok -> its position in the table
    rows: np.ndarray  # point -> row of ok
    starts: np.ndarray  # series s = points starts[s]:starts[s + 1]
    series: np.ndarray  # point -> series id
    logy: np.ndarray
    rel_ci: np.ndarray
    commit_order: np.ndarray
    run_time: np.ndarray  # seconds since the epoch (started_at, else commit date; NaN when neither)
    run: np.ndarray  # global run id: runs numbered by (machine/group + env, time)
    run_group: np.ndarray  # run id -> its (machine/group, env) code
    run_first: np.ndarray  # run id -> first point's run time
    run_commit_row: np.ndarray  # run id -> a row of ok from that run (for its commit)
    dme: np.ndarray  # point -> (machine/group, env) code
    dmachine: np.ndarray  # point -> detection machine code (into dm_names)
    dm_names: np.ndarray  # detection machine code -> name (a machine or its group's)
    bench: np.ndarray  # point -> benchmark code
    bench_class: np.ndarray  # point -> benchmark class code (``module.Class`` of the name)
    cell: np.ndarray  # point -> (benchmark, params) code: the same cell on any machine
    segment: np.ndarray  # point -> version segment of its series
    member: np.ndarray  # point -> machine code (differs within a series only in a runner group)
    measure: np.ndarray  # point -> 0 time, 1 memory, 2 anything else (environment.MEASURES)

    @property
    def n_series(self) -> int:
        return len(self.starts) - 1


def codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 code per row, text per code) of a column: categories are used as they are, other columns factorized."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64), np.asarray(values.cat.categories.astype(str), dtype=object)
    c, uniques = pd.factorize(values.astype(str))
    return c.astype(np.int64), np.asarray(uniques, dtype=object)


def _codes(values: pd.Series) -> np.ndarray:
    return codes(values)[0]


def text(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """``frame[column]`` at ``rows`` as text, without turning the whole column into strings."""
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # only the picked categories become text
        picked = values.cat.codes.to_numpy(dtype=np.int64)[rows]
        cats = values.cat.categories
        if not len(cats):
            return np.full(len(picked), "", dtype=object)
        out = np.asarray(cats.take(np.clip(picked, 0, None)).astype(str), dtype=object)
        return np.where(picked < 0, "", out).astype(object)
    c, names = codes(values)
    picked = c[rows]
    out = names[np.clip(picked, 0, max(len(names) - 1, 0))] if len(names) else np.full(len(picked), "", dtype=object)
    return np.where(picked < 0, "", out).astype(object)


def series_names(frame: pd.DataFrame, detection_machine: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The series name of each of ``rows`` of ``frame``, whose detection machines are ``detection_machine`` (text per row).

    The one place analysis names a series. A row detected on its own machine keeps the results
    table's ``series`` (unique even where user text holds the ``|`` separator: the loader makes it
    so), which is what confirm marks and the dashboard join on. A runner group's series spans
    several machines, so it is named ``group|env|benchmark|params``.
    """
    machine = text(frame, "machine", rows)
    own = machine == detection_machine
    if "series" in frame.columns:
        out = text(frame, "series", rows)
    else:  # a hand-built tidy table without the loader's column
        out = np.full(len(rows), "", dtype=object)
        own[:] = False
    joined = np.flatnonzero(~own)
    if len(joined):
        r = rows[joined]
        out[joined] = (
            pd.Series(detection_machine[joined], dtype=object)
            + "|"
            + text(frame, "env", r)
            + "|"
            + text(frame, "benchmark", r)
            + "|"
            + text(frame, "params", r)
        ).to_numpy(dtype=object)
    return out


def detection_keys(table: pd.DataFrame, groups: dict[str, tuple[str, list[str]]]) -> Keys:
    """Per row of ``table``: its detection machine (the machine, or its runner group's name) and version segment.

    In a group, members count their version segments separately: the version itself joins them.
    """
    machine, names = codes(table["machine"])
    if groups:
        mapped = np.array([groups[m][0] if m in groups else m for m in names], dtype=object)
        uniq, inverse = np.unique(mapped, return_inverse=True)
        machine, names = inverse[machine].astype(np.int64), uniq.astype(object)
    if groups and "version" in table.columns:
        segment = codes(table["version"])[0]
    elif "version_segment" in table.columns:
        segment = table["version_segment"].to_numpy(dtype=np.int64)
    else:
        segment = np.zeros(len(table), dtype=np.int64)
    return Keys(machine, names, segment)


def prepare(table: pd.DataFrame, keys: Keys) -> Points:
    """The successful rows of ``table`` as :class:`Points` (``keys``: from :func:`detection_keys`)."""
    mask = table["value"].to_numpy(dtype=float) > 0
    if "status" in table.columns:
        mask &= (
            (table["status"].astype(str) == "ok").to_numpy()
            if not isinstance(table["status"].dtype, pd.CategoricalDtype)
            else (table["status"] == "ok").to_numpy()
        )
    # the raw samples (by far the largest column) are read apart, by table row (see table_rows)
    ok = table.loc[mask, [c for c in table.columns if c != "samples"]].reset_index(drop=True)
    dm_codes = keys.machine[mask]
    env = _codes(ok["env"])
    bench, bench_names = codes(ok["benchmark"])
    names = pd.Series(bench_names, dtype=object)
    class_of = pd.factorize(names.str.rsplit(".", n=1).str[0])[0].astype(np.int64)
    method = names.str.rsplit(".", n=1).str[-1]
    measure_of = np.where(method.str.startswith(("time", "timeraw")), 0, np.where(method.str.contains(r"^(?:peak)?mem", regex=True), 1, 2))
    bench_class = class_of[bench] if len(class_of) else np.zeros(len(ok), dtype=np.int64)
    params = _codes(ok["params"])
    segment = np.asarray(keys.segment)[mask]
    commit_order = ok["commit_order"].to_numpy(dtype=np.int64)
    run_time = seconds(ok["started_at"]) if "started_at" in ok.columns else np.full(len(ok), np.nan)
    if "commit_date" in ok.columns:
        missing = np.isnan(run_time)
        if missing.any():
            run_time[missing] = seconds(ok["commit_date"])[missing]
    values = ok["value"].to_numpy(dtype=float)
    if "ci_99_a" in ok.columns:
        rel_ci = (ok["ci_99_b"].to_numpy(dtype=float) - ok["ci_99_a"].to_numpy(dtype=float)) / 2.0 / values
    else:
        rel_ci = np.full(len(ok), np.nan)

    # series = (detection machine, env, benchmark, params, segment); points in commit, then run order
    n_b, n_p, n_e = bench.max(initial=0) + 1, params.max(initial=0) + 1, env.max(initial=0) + 1
    dme = dm_codes * n_e + env
    key = ((dme * n_b + bench) * n_p + params) * (segment.max(initial=0) + 1) + segment
    tie = np.where(np.isnan(run_time), np.inf, run_time)
    perm = np.lexsort((tie, commit_order, key))
    k = key[perm]
    new = np.r_[True, k[1:] != k[:-1]]
    series = np.cumsum(new) - 1
    starts = np.r_[np.flatnonzero(new), len(perm)]

    # runs: the rows of one file in one sitting, numbered per (machine/group, env) in time order
    file_codes = (
        _codes(ok["file"])
        if "file" in ok.columns
        else pd.factorize(pd.Series(commit_order).astype(str) + "|" + pd.Series(env).astype(str))[0]
    )
    order = np.lexsort((tie, dme))
    gap = np.diff(tie[order])
    new_session = np.r_[True, (dme[order][1:] != dme[order][:-1]) | ~(gap <= SESSION_GAP)]
    session = np.empty(len(ok), dtype=np.int64)
    session[order] = np.cumsum(new_session)
    run_key = pd.factorize(pd.Series(file_codes * (session.max(initial=0) + 1) + session))[0]
    n_runs = int(run_key.max(initial=-1)) + 1
    first = np.full(n_runs, np.inf)
    np.minimum.at(first, run_key, tie)
    run_dme = np.zeros(n_runs, dtype=np.int64)
    run_dme[run_key] = dme
    run_commit = np.zeros(n_runs, dtype=np.int64)
    run_commit[run_key] = commit_order
    run_row = np.zeros(n_runs, dtype=np.int64)
    run_row[run_key] = np.arange(len(ok))
    run_rank = np.lexsort((run_commit, first, run_dme))
    renumber = np.empty(n_runs, dtype=np.int64)
    renumber[run_rank] = np.arange(n_runs)
    run = renumber[run_key]

    return Points(
        ok=ok,
        table_rows=np.flatnonzero(mask),
        rows=perm,
        starts=starts,
        series=series,
        logy=np.log(values[perm]),
        rel_ci=rel_ci[perm],
        commit_order=commit_order[perm],
        run_time=run_time[perm],
        run=run[perm],
        run_group=run_dme[run_rank],
        run_first=np.where(np.isinf(first[run_rank]), np.nan, first[run_rank]),
        run_commit_row=run_row[run_rank],
        dme=dme[perm],
        dmachine=dm_codes[perm],
        dm_names=keys.names,
        bench=bench[perm],
        bench_class=bench_class[perm],
        cell=(bench * n_p + params)[perm],
        segment=segment[perm],
        member=_codes(ok["machine"])[perm],
        measure=(measure_of[bench] if len(measure_of) else np.zeros(len(ok), dtype=np.int64))[perm].astype(np.int64),
    )
