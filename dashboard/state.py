"""The dashboard's one cached module: where the results come from and what is kept.

Pages never open files: they ask this module, which calls the data and analysis
layers and caches their answers with ``st.cache_data`` (always bounded by ``ttl`` and
``max_entries``; the loaded result set itself is held once, read-only, with
``st.cache_resource``, see ``_load``). Cached functions are keyed by the results directory and a cheap
"stamp" of it (directory modification times), so new result files are picked up on the
next rerun; filters are applied by the pages after the cache, never inside it.

The results directory, the derived-data cache and the git repository come from the
command line (``tensorscope dashboard RESULTS_DIR`` passes them as script arguments
``--results-dir``, ``--cache-dir``, ``--repo``) or from the environment
(``TENSORSCOPE_RESULTS_DIR``, ``TENSORSCOPE_CACHE_DIR``, ``TENSORSCOPE_REPO``), never
from anything typed into a page. A results store (``tensorscope dashboard --store URL``) comes
as ``TENSORSCOPE_STORE`` (an environment variable, so a password in the URL is not on the
process's command line) when no results directory is given; its stamp is a query of what the
store last received. Triage decisions are read from and written to that store, or, when the
dashboard reads a results directory, to the embedded store (``$TENSORSCOPE_STORE``, else the file
in the user's data folder; created only by the first decision).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from tensorscope.analysis import machines as machines_analysis
from tensorscope.analysis import regressions, roofline, speedups, study_group
from tensorscope.analysis.verdicts.effect import in_effect
from tensorscope.remeasure.confirm import CONFIRMATION_COLUMNS, load_confirmations
from tensorscope.results import ResultSet, load_results

REPO_ROOT = Path(__file__).resolve().parents[1]
# Keys carry a stamp of the results directory, so new files are seen at once; the ttl
# only bounds how long an unused answer stays in memory.
TTL = "1h"
MAX_ENTRIES = 8
# Per-selection caches (one entry per filter combination) may hold more, smaller entries.
MAX_SELECTIONS = 64


# The source key of a store starts with this (a results directory's is an absolute path).
STORE_SOURCE = "store:"


@dataclass(frozen=True)
class Config:
    """Where the dashboard reads from; fixed for the life of the server process.

    ``store``: the results store's URL when the results come from a store (then ``results_dir`` is
    unused); ``triage_store``: the store that keeps triage decisions (None: the embedded file in the
    user's data folder). Both are URLs as given (see :func:`tensorscope.store.store_url`).
    """

    results_dir: Path
    cache_dir: Path | None
    repo: Path | None
    store: str | None = None
    triage_store: str | None = None

    @property
    def source(self) -> str:
        """The key of the results' origin in every cache: ``store:URL`` or the results directory."""
        return STORE_SOURCE + self.store if self.store is not None else str(self.results_dir)


def _parse_argv(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--results-dir", default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--repo", default=None)
    known, _ = parser.parse_known_args(argv)
    return known


def config() -> Config:
    """The configuration from the script arguments, then the environment, then defaults.

    A results directory (``--results-dir``, ``TENSORSCOPE_RESULTS_DIR``) comes first; without one,
    ``TENSORSCOPE_STORE`` names the store to read; without either, this checkout's ``results/``.
    """
    from tensorscope.store import ENV_VAR

    args = _parse_argv(sys.argv[1:])
    store_env = os.environ.get(ENV_VAR) or None  # checked when opened: a bad URL is the sidebar's one-line error
    results = args.results_dir or os.environ.get("TENSORSCOPE_RESULTS_DIR")
    store = store_env if results is None else None
    results = results or str(REPO_ROOT / "results")
    cache = args.cache_dir or os.environ.get("TENSORSCOPE_CACHE_DIR")
    if cache is not None and cache.strip().lower() == "none":  # as `tensorscope dashboard --cache-dir none`: no cache
        cache = None
    repo = args.repo or os.environ.get("TENSORSCOPE_REPO")
    results_dir = Path(results).expanduser().resolve()
    repo_dir = Path(repo).expanduser().resolve() if repo else (None if store else _guess_repo(results_dir))
    cache_dir = Path(cache).expanduser().resolve() if cache else None
    return Config(results_dir, cache_dir, repo_dir, store, store_env)


def source_label(cfg: Config | None = None) -> str:
    """Where the results come from, for people: ``results directory PATH`` or ``results store URL`` (password hidden)."""
    from tensorscope.store import describe

    cfg = cfg or config()
    return f"results store {describe(cfg.store)}" if cfg.store is not None else f"results directory {cfg.results_dir}"


def _guess_repo(results_dir: Path) -> Path | None:
    """The git checkout that holds ``results_dir`` (asv's layout: results/ beside .git)."""
    parent = results_dir.parent
    return parent if (parent / ".git").exists() else None


def stamp(results_dir: Path) -> str:
    """A cheap fingerprint of the tree: the modification times of it and its machine folders."""
    try:
        parts = [f"{results_dir.stat().st_mtime_ns}"]
        with os.scandir(results_dir) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                parts.append(f"{entry.name!r}:{entry.stat().st_mtime_ns}")  # repr: a name that is not UTF-8 stays hashable
        return "|".join(parts)
    except OSError:
        return "missing"


# --------------------------------------------------------------------------------------
# Cached loads, keyed by strings and the stamp.
#
# The loaded ResultSet is held once per process with st.cache_resource (bounded by the
# same ttl and max_entries) and only ever read: st.cache_data would copy the whole tidy
# table (a million rows in a large tree) out of its cache on every hit, seconds per
# rerun. Everything the pages receive comes from st.cache_data functions below, whose
# small answers are copied per hit, so a page can never change what another one sees.


@st.cache_resource(ttl=TTL, max_entries=4, show_spinner=False)
def engine(url: str) -> sa.Engine:
    """The store at ``url`` opened once per server process (its connection pool is shared by every session)."""
    from tensorscope.store import open_store

    return open_store(url)


def store_stamp(url: str) -> str:
    """A cheap fingerprint of a store's results: what it last received (every ingest or upload adds an upload row)."""
    from tensorscope.store import schema as store_schema

    uploads = store_schema.uploads
    try:
        with engine(url).connect() as conn:
            last, count = conn.execute(sa.select(sa.func.max(uploads.c.id), sa.func.count(uploads.c.id))).one()
    except sa.exc.SQLAlchemyError as exc:  # a store that went away: the next rerun tries again
        return f"unreachable: {type(exc).__name__}"
    return f"{last}:{count}"


@st.cache_resource(ttl=TTL, max_entries=2, show_spinner="Reading asv results…")
def _load(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> ResultSet:
    if results_dir.startswith(STORE_SOURCE):
        from tensorscope.store import load_store

        return load_store(engine(results_dir[len(STORE_SOURCE) :]), cache_dir=Path(cache_dir) if cache_dir else None)
    return load_results(Path(results_dir), cache_dir=Path(cache_dir) if cache_dir else None, repo=Path(repo) if repo else None)


def _key(cfg: Config | None = None) -> tuple[str, str | None, str | None, str]:
    cfg = cfg or config()
    return (
        cfg.source,
        str(cfg.cache_dir) if cfg.cache_dir else None,
        str(cfg.repo) if cfg.repo else None,
        store_stamp(cfg.store) if cfg.store is not None else stamp(cfg.results_dir),
    )


def reload() -> None:
    """Forget every cached answer (the sidebar's "Reload results" button)."""
    st.cache_data.clear()
    _load.clear()


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _summary(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> dict[str, Any]:
    rs = _load(results_dir, cache_dir, repo, stamp_)
    t: pd.DataFrame = rs.table
    out: dict[str, Any] = {
        "rows": len(t),
        "machines": sorted(t["machine"].dropna().unique().tolist()) if len(t) else [],
        "envs": sorted(t["env"].dropna().unique().tolist()) if len(t) else [],
        "benchmarks": sorted(t["benchmark"].dropna().unique().tolist()) if len(t) else [],
        "status": t["status"].value_counts().to_dict() if len(t) else {},
        "problems": [
            (str(getattr(p, "path", "")), str(getattr(p, "message", p)), str(getattr(p, "severity", "error"))) for p in (rs.problems or [])
        ],
    }
    if len(t):
        commits = t.groupby("commit", as_index=False).agg(
            commit_date=("commit_date", "max"),
            commit_order=("commit_order", "max"),
            machines=("machine", "nunique"),
            results=("value", "size"),
        )
        out["commits"] = commits.sort_values("commit_order", ascending=False).reset_index(drop=True)
        per_machine = t.groupby("machine").agg(
            commits=("commit", "nunique"),
            latest_commit_date=("commit_date", "max"),
            results=("value", "size"),
            ok=("status", lambda s: int((s == "ok").sum())),
            skipped=("status", lambda s: int((s == "skipped").sum())),
            failed=("status", lambda s: int((s == "failed").sum())),
        )
        # each machine's newest commit (by the set's commit order, not by date)
        newest = t.loc[t.groupby("machine", observed=True)["commit_order"].idxmax().to_numpy(), ["machine", "commit", "commit_order"]]
        newest = newest.astype({"machine": str, "commit": str}).set_index("machine")
        per_machine.index = per_machine.index.astype(str)
        per_machine = per_machine.join(newest.rename(columns={"commit": "newest_commit", "commit_order": "newest_order"}))
        # how complete each machine's newest commit is: its ok results there (the Overview's default machine)
        at_newest = t["commit_order"].to_numpy() == t.groupby("machine", observed=True)["commit_order"].transform("max").to_numpy()
        ok_newest = t[at_newest & (t["status"] == "ok").to_numpy()].groupby("machine", observed=True).size()
        ok_newest.index = ok_newest.index.astype(str)
        per_machine["newest_ok"] = ok_newest.reindex(per_machine.index).fillna(0).astype(int)
        out["per_machine"] = per_machine.reset_index()
        per_env = t.groupby(["machine", "env"], observed=True).agg(newest_order=("commit_order", "max"), results=("value", "size"))
        out["per_env"] = per_env.reset_index().astype({"machine": str, "env": str})
        started = t["started_at"].max() if "started_at" in t.columns else pd.NaT
        out["latest_run"] = started if not pd.isna(started) else t["commit_date"].max()
        out["units"] = sorted(t["unit"].dropna().astype(str).unique().tolist())
        param_cols = [c for c in t.columns if c.startswith("param_")]
        out["param_columns"] = param_cols
    else:
        out["commits"] = pd.DataFrame(columns=["commit", "commit_date", "commit_order", "machines", "results"])
        out["per_machine"] = pd.DataFrame()
        out["per_env"] = pd.DataFrame(columns=["machine", "env", "newest_order", "results"])
        out["units"] = []
        out["param_columns"] = []
        out["latest_run"] = None
    return out


def summary() -> dict[str, Any]:
    """Counts and lists for the sidebar and the overview (small; cheap to copy)."""
    return _summary(*_key())


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _frames(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> dict[str, pd.DataFrame]:
    rs = _load(results_dir, cache_dir, repo, stamp_)
    out = {}
    for name in ("machines", "envs", "commits"):
        frame = getattr(rs, name, None)
        out[name] = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(columns=["machine"])
    return out


def envs() -> pd.DataFrame:
    """One row per machine x env: python, requirements, ``env_var.<NAME>`` columns."""
    return _frames(*_key())["envs"]


def machines() -> pd.DataFrame:
    """One row per machine: asv's machine.json fields plus tensorscope provenance where present."""
    return _frames(*_key())["machines"]


Filters = tuple[tuple[str, tuple[str, ...]], ...]


def _mask(t: pd.DataFrame, filters: Filters) -> pd.Series:
    mask = pd.Series(True, index=t.index)
    for column, values in filters:
        if column not in t.columns:
            return pd.Series(False, index=t.index)  # asked for a column these results lack: nothing matches
        col = t[column]
        # categoricals compare on their few categories, not on a million strings
        mask &= col.isin(values) if isinstance(col.dtype, pd.CategoricalDtype) else col.astype(str).isin(values)
    return mask


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner=False)
def _subset(
    results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters, samples: bool = False
) -> pd.DataFrame:
    t: pd.DataFrame = _load(results_dir, cache_dir, repo, stamp_).table
    rows = t[_mask(t, filters)] if filters else t
    if not samples:
        rows = rows.drop(columns=["samples"], errors="ignore")
    return rows.copy()


def subset(*, samples: bool = False, **filters: list[str] | tuple[str, ...] | str | None) -> pd.DataFrame:
    """Rows of the tidy table whose columns equal the given values (a column=None or [] is no filter).

    The raw ``samples`` column comes only with ``samples=True`` (it is by far the largest).
    """
    return _subset(*_key(), _filters(filters), samples)


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner=False)
def _param_values(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters) -> dict[str, list[str]]:
    t: pd.DataFrame = _load(results_dir, cache_dir, repo, stamp_).table
    rows = t[_mask(t, filters)] if filters else t
    out = {}
    for column in (c for c in rows.columns if c.startswith("param_")):
        values = rows[column].dropna().unique()
        if len(values):
            out[column] = sorted(str(v) for v in values)
    return out


def param_values(**filters: list[str] | tuple[str, ...] | str | None) -> dict[str, list[str]]:
    """``param_<name>`` -> the values it takes in the matching rows (only parameters that occur)."""
    return _param_values(*_key(), _filters(filters))


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _combos(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> pd.DataFrame:
    t: pd.DataFrame = _load(results_dir, cache_dir, repo, stamp_).table
    if t.empty:
        return pd.DataFrame(columns=["benchmark", "params", "machine", "env", "unit", "points"])
    return t.groupby(["benchmark", "params", "machine", "env", "unit"], as_index=False, dropna=False).agg(points=("value", "size"))


def combos() -> pd.DataFrame:
    """Distinct benchmark x params x machine x env x unit, with their number of points."""
    return _combos(*_key())


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _latest(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> pd.DataFrame:
    t: pd.DataFrame = _load(results_dir, cache_dir, repo, stamp_).table
    ok = t[t["status"].astype(str) == "ok"]
    if ok.empty:
        return ok.drop(columns=["samples"], errors="ignore")
    idx = ok.groupby(["machine", "env", "benchmark", "params"], observed=True)["commit_order"].idxmax()
    return ok.loc[idx.to_numpy()].drop(columns=["samples"], errors="ignore").reset_index(drop=True)


def latest() -> pd.DataFrame:
    """Each series' newest successful measurement (one row per machine x env x benchmark x params)."""
    return _latest(*_key())


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _series_params(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> pd.DataFrame:
    t: pd.DataFrame = _load(results_dir, cache_dir, repo, stamp_).table
    columns = ["series", "type", *(c for c in t.columns if c.startswith("param_"))]
    return t[[c for c in columns if c in t.columns]].drop_duplicates("series").astype(str).replace({"nan": ""}).reset_index(drop=True)


def series_params() -> pd.DataFrame:
    """One row per series: its ``type`` and ``param_*`` values as text ('' where a series lacks one)."""
    return _series_params(*_key())


def _filters(filters: dict[str, Any]) -> Filters:
    items: list[tuple[str, tuple[str, ...]]] = []
    for column, values in sorted(filters.items()):
        if values is None or (not isinstance(values, str) and len(values) == 0):
            continue
        items.append((column, (values,) if isinstance(values, str) else tuple(str(v) for v in values)))
    return tuple(items)


# --------------------------------------------------------------------------------------
# Analysis: one typed, cached function per question the pages ask (the library does the work)


def _where(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters) -> pd.DataFrame:
    if filters:
        return _subset(results_dir, cache_dir, repo, stamp_, filters)
    return _load(results_dir, cache_dir, repo, stamp_).table


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner="Analysing…")
def _verdicts(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> dict[str, pd.DataFrame]:
    # the per-series verdicts are kept on disk beside the results cache, so a new server process
    # (or `tensorscope report` with the same --cache-dir) analyses only series that changed
    found = regressions.analyse(_load(results_dir, cache_dir, repo, stamp_), cache_dir=cache_dir)
    return {
        "steps": found.steps,
        "environment_shifts": found.environment_shifts,
        "unstable": found.unstable,
        "groups": found.groups,
        "live": found.live,
    }


def detected_changes() -> pd.DataFrame:
    """Every code step of every series (:func:`tensorscope.analysis.regressions.analyse`), undone ones too."""
    return _verdicts(*_key())["steps"]


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner=False)
def _in_effect(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, threshold: float) -> pd.DataFrame:
    found = _verdicts(results_dir, cache_dir, repo, stamp_)
    return in_effect(found["steps"], found["live"], threshold)


def changes_in_effect(threshold: float) -> pd.DataFrame:
    """One row per live series whose net change is at least ``threshold`` (regressions and improvements)."""
    return _in_effect(*_key(), threshold)


def environment_shifts() -> pd.DataFrame:
    """Level changes that are the environment's (machine-wide, or explained by run dates), once each."""
    return _verdicts(*_key())["environment_shifts"]


def unstable_series() -> pd.DataFrame:
    """Series whose values switch between two levels (no steps are reported for them)."""
    return _verdicts(*_key())["unstable"]


def runner_groups() -> pd.DataFrame:
    """Machines joined into runner groups for detection: ``machine``, ``group``, ``rule``."""
    return _verdicts(*_key())["groups"]


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner="Analysing…")
def _speedups(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters, baseline: str) -> pd.DataFrame:
    return speedups.speedups(_where(results_dir, cache_dir, repo, stamp_, filters), baseline=baseline)


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner="Analysing…")
def _fastest(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, baseline: str) -> pd.DataFrame:
    return speedups.fastest(_load(results_dir, cache_dir, repo, stamp_).table, baseline=baseline)


def fastest(baseline: str) -> pd.DataFrame:
    """Per op: the fastest backend at its largest size and its speedup over ``baseline`` (:func:`speedups.fastest`)."""
    return _fastest(*_key(), baseline)


def speedups_where(baseline: str, **where: str | None) -> pd.DataFrame:
    """Speedups over ``baseline`` in the rows matching ``where`` (column=value; None is no filter)."""
    return _speedups(*_key(), _filters(where), baseline)


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner="Analysing…")
def _env_ratios(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters, var: str) -> pd.DataFrame:
    rows = _where(results_dir, cache_dir, repo, stamp_, filters)
    return speedups.env_ratios(rows, _load(results_dir, cache_dir, repo, stamp_).envs, var=var)


def env_ratios(var: str, **where: str | None) -> pd.DataFrame:
    """Ratios between environments that differ only in the matrix variable ``var``."""
    return _env_ratios(*_key(), _filters(where), var)


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner="Analysing…")
def _device_speedups(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters) -> pd.DataFrame:
    return speedups.device_speedups(_where(results_dir, cache_dir, repo, stamp_, filters))


def device_speedups(**where: str | None) -> pd.DataFrame:
    """GPU backends over their CPU counterparts in the rows matching ``where``."""
    return _device_speedups(*_key(), _filters(where))


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner="Analysing…")
def _roofline(
    results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = _where(results_dir, cache_dir, repo, stamp_, filters)
    provenance = _load(results_dir, cache_dir, repo, stamp_).provenance
    return roofline.efficiency(rows, provenance=provenance), roofline.roofs(rows)


def roofline_points(machine: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(efficiency points, roofs) of one machine."""
    return _roofline(*_key(), _filters({"machine": machine}))


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _calibrated_runs(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> pd.DataFrame:
    return roofline.calibrated_runs(_load(results_dir, cache_dir, repo, stamp_).table)


def calibrated_runs() -> pd.DataFrame:
    """Runs (machine, commit, env) whose calibration measured roofs, newest first (:func:`roofline.calibrated_runs`)."""
    return _calibrated_runs(*_key())


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner=False)
def _roofs_at(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, filters: Filters) -> pd.DataFrame:
    return roofline.roofs(_subset(results_dir, cache_dir, repo, stamp_, filters))


def roofs_at(machine: str, commit: str, env: str) -> pd.DataFrame:
    """The roofs measured by one run's calibration (:func:`roofline.roofs` of that machine, commit and env)."""
    return _roofs_at(*_key(), _filters({"machine": machine, "commit": commit, "env": env}))


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner="Analysing…")
def _compare_machines(
    results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, reference: str, across_python: bool
) -> pd.DataFrame:
    rs = _load(results_dir, cache_dir, repo, stamp_)
    pythons = machines_analysis.env_pythons(rs.provenance)  # an `existing` env's Python, from its provenance
    return machines_analysis.compare_machines(rs.table, reference=reference, across_python=across_python, pythons=pythons)


def compare_machines(reference: str, across_python: bool = False) -> pd.DataFrame:
    """Every machine's newest values as ratios to ``reference`` (like with like; ``across_python``: Python versions may differ)."""
    return _compare_machines(*_key(), reference, across_python)


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner=False)
def _machine_facts(
    results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str, runs: tuple[tuple[str, str, str], ...]
) -> pd.DataFrame:
    rs = _load(results_dir, cache_dir, repo, stamp_)
    rows = [study_group.machine_facts(rs.provenance, rs.machines, m, c or None, e or None) for m, c, e in runs]
    return pd.DataFrame(rows, columns=["machine", "cpu", "cores", "gpu", "python", "blas", "settings", "source"])


def machine_facts(runs: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Hardware and key settings (CPU, GPU, Python, BLAS, thread counts...) of each (machine, commit, env)
    as its provenance recorded ('' commit/env: the machine's newest provenance)."""
    return _machine_facts(*_key(), tuple(runs))


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner="Analysing…")
def _study_group(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> tuple[pd.DataFrame, dict[str, str]]:
    rs = _load(results_dir, cache_dir, repo, stamp_)
    study = study_group.study_group_table(rs.table)
    return study, study_group.hardware_lines(study, rs.provenance, rs.machines)


def study_group_table() -> tuple[pd.DataFrame, dict[str, str]]:
    """(the study group's table, machine -> hardware line): :mod:`tensorscope.analysis.study_group`."""
    return _study_group(*_key())


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _machine_details(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> pd.DataFrame:
    return machines_analysis.machine_details(_load(results_dir, cache_dir, repo, stamp_))


def machine_details() -> pd.DataFrame:
    """One row per machine.json / provenance field, one column per machine."""
    return _machine_details(*_key())


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _confirmations(results_dir: str, cache_dir: str | None, repo: str | None, stamp_: str) -> pd.DataFrame:
    if results_dir.startswith(STORE_SOURCE):
        return pd.DataFrame(columns=CONFIRMATION_COLUMNS)  # confirm writes its marks beside result files, not into a store
    return load_confirmations(results_dir)


def confirmations() -> pd.DataFrame:
    """The marks ``tensorscope confirm`` left under the results directory (confirmed / refuted / undecided)."""
    return _confirmations(*_key())


# --------------------------------------------------------------------------------------
# Triage (decisions about detected changes, kept in a store; never cached across a decision)


def _triage_engine(*, create: bool) -> sa.Engine | None:
    """The store that keeps triage decisions; None when it is the embedded file and that does not
    exist yet and ``create`` is False (reading a folder writes nothing until someone decides)."""
    from tensorscope.store import store_url

    url = store_url(config().triage_store)
    if not create and url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return None
    return engine(url)


def triage_store_label() -> str:
    """Where triage decisions are kept, for people (password hidden)."""
    from tensorscope.store import describe, store_url

    return describe(store_url(config().triage_store))


TRIAGE_COLUMNS = ["id", "state", "note", "link", "who", "at"]


def triage_decisions() -> pd.DataFrame:
    """Every recorded triage decision (columns :data:`TRIAGE_COLUMNS`; ``at`` a UTC timestamp): a few
    rows per person-decision, read anew on each rerun so another person's decision shows at once."""
    from tensorscope.store.triage import decisions

    eng = _triage_engine(create=False)
    rows = decisions(eng) if eng is not None else []
    frame = pd.DataFrame([(d.id, d.state, d.note, d.link, d.who, d.at_ms) for d in rows], columns=TRIAGE_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"].astype(float), unit="ms", utc=True)
    return frame


def triage_history(change_id: str) -> pd.DataFrame:
    """Every decision recorded about one change, oldest first (columns ``state, note, link, who, at``)."""
    from tensorscope.store.triage import history

    eng = _triage_engine(create=False)
    frame = pd.DataFrame(history(eng, change_id) if eng is not None else [], columns=["state", "note", "link", "who", "at_ms"])
    frame["at"] = pd.to_datetime(frame.pop("at_ms").astype(float), unit="ms", utc=True)
    return frame


def set_triage(change: Any, state_: str, *, note: str | None, link: str | None, who: str | None) -> Any:
    """Record a decision (:func:`tensorscope.store.triage.set_state`) about ``change`` (a triage ``Change``)."""
    from tensorscope.store.triage import set_state

    eng = _triage_engine(create=True)
    assert eng is not None  # create=True always opens (and makes) the store
    return set_state(eng, change, state_, note=note, link=link, who=who)


# --------------------------------------------------------------------------------------
# Git (commit messages for a commit range; only when the repository is at hand)


@st.cache_data(ttl=TTL, max_entries=MAX_SELECTIONS, show_spinner=False)
def _commit_messages(repo: str, commits: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for commit in commits:
        if not commit or not all(c in "0123456789abcdefABCDEF" for c in commit):
            continue  # only hex hashes ever reach git
        try:
            proc = subprocess.run(
                ["git", "-C", repo, "log", "-1", "--format=%s", commit, "--"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            break
        if proc.returncode == 0:
            out[commit] = proc.stdout.strip()
    return out


def commit_messages(commits: list[str]) -> dict[str, str]:
    """Subject line of each commit, from the configured git repository ({} when there is none)."""
    repo = config().repo
    if repo is None or not commits:
        return {}
    return _commit_messages(str(repo), tuple(commits))
