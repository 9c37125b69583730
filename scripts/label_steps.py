"""Print the evidence for hand-labelling steps of the shared asv result sets (code / environment / noise).

    .venv/bin/python scripts/label_steps.py SET [SET ...] [--sample N] [--sample-old M] [--seed 1] [--old OLD_REGRESSIONS_PY] [--min-change 0.05]
    .venv/bin/python scripts/label_steps.py SET --at 'MACHINE|ENV|BENCHMARK|PARAMS' COMMIT [--at ...] [--show-detector]
    .venv/bin/python scripts/label_steps.py SET [SET ...] --clean [--k 4] [--ratio 1.1] [--sample N] [--json] [--show-detector]

Three ways to choose the steps:

* by default, steps sampled from what a detector reports (of at least ``--min-change``, by today's
  detector or, with ``--old``, by an older ``regressions.py`` loaded from that file, e.g.
  ``git show 9f79a4e:tensorscope/analysis/regressions.py``): for labelling **precision**;
* ``--at SERIES COMMIT``: any series (as the ``series`` column writes it) at any commit (a hash
  prefix; the first commit at the new level), whatever a detector says: for hand-checking **true
  steps** (recall);
* ``--clean``: candidate true steps found in the raw series alone, as
  ``../shared/tools/clean_steps.py`` finds them (``--k`` points entirely on each side, medians at
  least ``--ratio`` apart, at a boundary where at most 10% (or 3) of the machine's series have one),
  sampled with ``--sample`` per set (0: all); ``--json`` prints each candidate's identity as a
  ``true_steps`` entry of ``tests/data/labelled_steps.json`` to fill in.

With ``--at`` and ``--clean`` the detector's verdict is left out (so what is chosen and how it is
labelled do not depend on it) unless ``--show-detector`` is given. For each step it prints what a
person needs to judge it without the detector's own reasoning:

* the series around the step in commit order, each point as a ratio to the level before, with its
  run date; points run after a later commit (re-runs, backfills) are marked;
* how many other series of the same machine and env stepped the same way at the same commits
  (and in how many benchmark classes): many unrelated ones at once suggests the environment;
* the same benchmark on other machines across the same commits, and when those were run: the same
  step there, in runs made on one side of the date, is the code's;
* what today's detector says about the series (code step, environment shift, unstable, or nothing).

Commits are ordered by the set's published ``index.json`` where it has one (as asv orders them).
The labels themselves, with the evidence that decided them, live in ``tests/data/labelled_steps.json``
(``steps``: reported steps; ``true_steps``: steps chosen from the raw series);
``tests/tensorscope/test_labelled_steps.py`` computes the detector's precision and recall on them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorscope.analysis.regressions import analyse
from tensorscope.results import load_results

SHARED = Path(__file__).resolve().parents[2] / "shared" / "asv-results"


def load_set(root: Path) -> object:
    """The set's ResultSet, ordered by its published index.json when it has one."""
    index = root / "asv_publish_output" / "index.json"
    return load_results(root / "results", index_json=index if index.is_file() else None)


def old_detector(path: Path) -> object:
    spec = importlib.util.spec_from_file_location("old_regressions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_regressions"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _series(t: pd.DataFrame, key: str) -> pd.DataFrame:
    return t[(t["series"].astype(str) == key) & (t["status"].astype(str) == "ok")].sort_values("commit_order")


_WIDE: dict[tuple[int, str, str], tuple[pd.DataFrame, np.ndarray, np.ndarray]] = {}


def _wide(t: pd.DataFrame, machine: str, env: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(log values: series x commit order, each series' successive-difference spread, each series' class) of one machine and env."""
    key = (id(t), machine, env)
    if key not in _WIDE:
        same = t[
            (t["machine"].astype(str) == machine) & (t["env"].astype(str) == env) & (t["status"].astype(str) == "ok") & (t["value"] > 0)
        ]
        wide = same.pivot_table(index="series", columns="commit_order", values="value", observed=True, aggfunc="first")
        logs = np.log(wide)
        diffs = np.abs(np.diff(logs.to_numpy(), axis=1))
        with warnings.catch_warnings():  # series with no two successive points: NaN spread, as wanted
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanmedian(np.where(np.isfinite(diffs), diffs, np.nan), axis=1) if diffs.shape[1] else np.zeros(len(logs))
        names = same.drop_duplicates("series").set_index("series")["benchmark"].astype(str)
        classes = names.reindex(logs.index.astype(str)).str.rsplit(".", n=1).str[0].to_numpy()
        _WIDE[key] = (logs, np.nan_to_num(spread), classes)
    return _WIDE[key]


def _edge_median(block: np.ndarray, k: int = 3) -> np.ndarray:
    """Per row: the median of its first ``k`` finite values (NaN when fewer than 2)."""
    finite = np.isfinite(block)
    rank = np.cumsum(finite, axis=1)
    take = finite & (rank <= k)
    vals = np.where(take, block, np.nan)
    count = take.sum(axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(vals, axis=1) if block.shape[1] else np.full(len(block), np.nan)
    return np.where(count >= 2, med, np.nan)


def evidence(t: pd.DataFrame, step: pd.Series, verdicts: object | None) -> list[str]:
    """Lines of evidence for one step (see the module docstring); without ``verdicts``, not the detector's."""
    key = f"{step['machine']}|{step['env']}|{step['benchmark']}|{step['params']}"
    s = _series(t, key)
    ob, oa = int(step["order_before"]), int(step["order_after"])
    before = s[s["commit_order"] <= ob]
    base = float(before["value"].tail(5).median()) if len(before) else float(s["value"].median())
    window = s[(s["commit_order"] >= ob - 40) & (s["commit_order"] <= oa + 40)]
    latest_run = window["started_at"].cummax()
    cells = []
    for (o, v), late in zip(window[["commit_order", "value"]].itertuples(index=False), window["started_at"] < latest_run, strict=True):
        mark = "|" if o == oa else ""
        cells.append(f"{mark}{o}:{v / base:.2f}{'*' if late else ''}")
    lines = ["   values (order:ratio to the level before; * run before an older commit's run):", "     " + " ".join(cells)]
    runs = window[["commit_order", "started_at"]]
    days = runs["started_at"].dt.strftime("%y-%m-%d")
    lines.append(
        f"   run dates: {days.iloc[0]} .. {days.iloc[-1]}; around the step: "
        + ", ".join(
            f"{o}@{d:%y-%m-%d %H:%M}" for o, d in zip(runs["commit_order"], runs["started_at"], strict=True) if ob - 2 <= o <= oa + 2
        )
    )
    # the same machine and env: other series that stepped at these commits
    wide, spread, classes_of = _wide(t, str(step["machine"]), str(step["env"]))
    cols = wide.columns.to_numpy()
    sign = 1.0 if step["ratio"] > 1 else -1.0
    b = _edge_median(wide.to_numpy()[:, cols <= ob][:, ::-1])
    a = _edge_median(wide.to_numpy()[:, cols >= oa])
    ok = np.isfinite(a) & np.isfinite(b)
    lr = (a - b) * sign
    hit = ok & (lr > np.maximum(0.03, 3 * spread))
    moved, tested = int(hit.sum()), int(ok.sum())
    n_cls, n_cls_moved = len(set(classes_of[ok])), len(set(classes_of[hit]))
    lines.append(f"   same machine+env, same commits: {moved}/{tested} series moved the same way, in {n_cls_moved}/{n_cls} classes")
    # other machines
    other = t[
        (t["benchmark"].astype(str) == str(step["benchmark"]))
        & (t["machine"].astype(str) != str(step["machine"]))
        & (t["status"].astype(str) == "ok")
    ]
    notes = []
    for (m, _e, params), g in other.groupby(["machine", "env", "params"], observed=True):
        # the same parameters; where a machine's differ (paths), its only combination
        if str(params) != str(step["params"]) and other[(other["machine"] == m)]["params"].nunique() > 1:
            continue
        g = g.sort_values("commit_order")
        b = g[g["commit_order"] <= ob]
        a = g[g["commit_order"] >= oa]
        if len(b) < 2 or len(a) < 2:
            continue
        ratio = float(a["value"].head(3).median()) / float(b["value"].tail(3).median())
        adjacent = float(a["value"].iloc[0]) / float(b["value"].iloc[-1])
        when = f"ran {b['started_at'].tail(3).min():%y-%m-%d}..{a['started_at'].head(3).max():%y-%m-%d}"
        pair = f"{int(b['commit_order'].iloc[-1])}->{int(a['commit_order'].iloc[0])}"
        notes.append(f"{m} [{_e}]: {ratio:.2f}x, adjacent {pair} {adjacent:.2f}x ({when})")
    lines.append("   other machines, same benchmark, same commits: " + ("; ".join(notes[:4]) if notes else "none measured"))
    if verdicts is None:
        return lines
    v = verdicts
    ours = v.steps[(v.steps["series"] == key)]  # type: ignore[attr-defined]
    here = ours[(ours["order_after"] >= ob) & (ours["order_before"] <= oa)]
    if len(here):
        r = here.iloc[0]
        says = f"code step {r['ratio']:.2f}x at {str(r['commit_before'])[:8]}..{str(r['commit_after'])[:8]}"
    elif key in set(v.unstable["series"]):  # type: ignore[attr-defined]
        says = "unstable series (no steps)"
    else:
        shifts = v.environment_shifts  # type: ignore[attr-defined]
        near = shifts[(shifts["machine"].astype(str) == str(step["machine"])) & (shifts["env"].astype(str) == str(step["env"]))]
        says = f"no step here ({len(near)} environment shifts on this machine/env)"
    lines.append(f"   today's detector: {says}")
    return lines


def _step_row(s: pd.DataFrame, i: int, k: int) -> dict[str, object]:
    """A step of series ``s`` (ok points, commit order, one per commit) between its points ``i - 1`` and ``i``: levels of ``k`` points each side."""
    v = s["value"].to_numpy(dtype=float)
    before, after = float(np.median(v[max(0, i - k) : i])), float(np.median(v[i : i + k]))
    first = s.iloc[0]
    return {
        "series": str(first["series"]),
        "machine": str(first["machine"]),
        "env": str(first["env"]),
        "benchmark": str(first["benchmark"]),
        "params": str(first["params"]),
        "unit": str(first["unit"]),
        "version_segment": int(first["version_segment"]),
        "commit_before": str(s["commit"].iloc[i - 1]),
        "commit_after": str(s["commit"].iloc[i]),
        "order_before": int(s["commit_order"].iloc[i - 1]),
        "order_after": int(s["commit_order"].iloc[i]),
        "value_before": before,
        "value_after": after,
        "ratio": after / before,
        "n_before": i,
        "n_after": len(v) - i,
    }


def _per_commit(g: pd.DataFrame) -> pd.DataFrame:
    """One row per commit (the median value where a commit was run more than once), in commit order."""
    g = g.sort_values("commit_order")
    med = g.groupby("commit_order", observed=True)["value"].transform("median")
    return g.assign(value=med).drop_duplicates("commit_order").reset_index(drop=True)


def _best_split(v: np.ndarray, i: int, k: int) -> int:
    """Where the level changes within the clean window at ``i``: the split of ``v[i - k : i + k]`` with the least squared log deviation."""
    lo, hi = max(0, i - k), min(len(v), i + k)
    y = np.log(v[lo:hi])
    cost = [
        float(((y[: j - lo] - y[: j - lo].mean()) ** 2).sum() + ((y[j - lo :] - y[j - lo :].mean()) ** 2).sum()) for j in range(lo + 1, hi)
    ]
    return lo + 1 + int(np.argmin(cost))


def clean_steps(t: pd.DataFrame, k: int = 4, ratio: float = 1.3) -> pd.DataFrame:
    """Candidate true steps from the raw series alone, found as ``../shared/tools/clean_steps.py`` finds them.

    Per series and benchmark version, in commit order: a boundary where the ``k`` points before lie
    entirely below (or above) the ``k`` points after and their medians are at least ``ratio`` apart,
    moved to where the level changes within those ``2 k`` points (the tool reports the first
    boundary whose window is clean, which can be a few commits early). As in the tool, boundaries
    where more than 10% (and more than 3) of the machine's series have one are left out.
    """
    ok = t[(t["status"].astype(str) == "ok") & t["value"].notna() & (t["value"] > 0)]
    found: list[dict[str, object]] = []
    per_machine: dict[str, int] = {}
    for (machine, _seg), g in ok.groupby(["machine", "version_segment"], observed=True, sort=False):
        per_machine[str(machine)] = per_machine.get(str(machine), 0) + int(g["series"].nunique())
    for _, g in ok.groupby(["series", "version_segment"], observed=True, sort=False):
        s = _per_commit(g)
        v = s["value"].to_numpy(dtype=float)
        i = k
        while i <= len(v) - k:
            before, after = v[i - k : i], v[i : i + k]
            r = float(np.median(after) / np.median(before))
            if (r >= ratio and before.max() < after.min()) or (r <= 1 / ratio and before.min() > after.max()):
                found.append(_step_row(s, _best_split(v, i, k), k) | {"found_at": str(s["commit"].iloc[i])})
                i += k
            else:
                i += 1
    steps = pd.DataFrame(found)
    if steps.empty:
        return steps
    # the tool's filter, at the boundaries it finds
    at = steps.groupby(["machine", "found_at"])["series"].transform("size")
    limit = steps["machine"].map(lambda m: max(3.0, 0.10 * per_machine[m]))
    return steps[at <= limit].drop(columns="found_at").drop_duplicates(["series", "commit_after"]).reset_index(drop=True)


def step_at(t: pd.DataFrame, series: str, commit: str, k: int = 4) -> pd.Series:
    """The step of ``series`` whose first commit at the new level is ``commit`` (a hash prefix)."""
    s = _series(t, series)
    if s.empty:
        raise KeyError(f"no ok points of series {series!r}")
    s = _per_commit(s)
    hits = np.flatnonzero(s["commit"].astype(str).str.startswith(commit).to_numpy())
    if len(hits) != 1 or hits[0] == 0:
        raise KeyError(f"{commit!r} is not one commit of {series!r} after its first point")
    return pd.Series(_step_row(s, int(hits[0]), k))


def true_step_record(set_name: str, step: pd.Series) -> dict[str, object]:
    """A ``true_steps`` entry of ``tests/data/labelled_steps.json`` for ``step``, label and evidence to fill in."""
    return {
        "set": set_name,
        "machine": step["machine"],
        "env": step["env"],
        "benchmark": step["benchmark"],
        "params": step["params"],
        "commit_before": step["commit_before"],
        "commit_after": step["commit_after"],
        "value_before": float(f"{step['value_before']:.4g}"),
        "value_after": float(f"{step['value_after']:.4g}"),
        "unit": step["unit"],
        "label": "",
        "evidence": "",
    }


def _print_step(n: int, set_name: str, step: pd.Series, lines: list[str]) -> None:
    print(
        f"\n#{n} [{set_name}] {step['machine']} | {step['env']} | {step['benchmark']}({step['params']}) "
        f"{step['value_before']:.4g} -> {step['value_after']:.4g} {step['unit']} ({step['ratio']:.3g}x) "
        f"{step['commit_before']}..{step['commit_after']} orders {step['order_before']}..{step['order_after']} "
        f"n={step['n_before']}/{step['n_after']}"
    )
    print("\n".join(lines))


def chosen_main(args: argparse.Namespace) -> int:
    """--at / --clean: the evidence for steps chosen from the raw series (see the module docstring)."""
    rng = np.random.default_rng(args.seed)
    n = 0
    records = []
    for name in args.sets:
        root = Path(name) if Path(name).is_dir() else SHARED / name
        rs = load_set(root)
        t = rs.results  # type: ignore[attr-defined]
        if args.at:
            chosen = pd.DataFrame([step_at(t, series, commit) for series, commit in args.at])
        else:
            chosen = clean_steps(t, args.k, args.ratio)
            if args.sample and len(chosen) > args.sample:
                chosen = chosen.iloc[np.sort(rng.permutation(len(chosen))[: args.sample])]
            print(
                f"\n######## {root.name}: {len(chosen)} clean steps of {args.ratio}x or more (k={args.k})",
                file=sys.stderr if args.json else sys.stdout,
            )
        v = analyse(rs) if args.show_detector else None
        for _, step in chosen.iterrows():
            n += 1
            if args.json:
                records.append(true_step_record(root.name, step))
                continue
            _print_step(n, root.name, step, evidence(t, step, v))
    if args.json:
        print(json.dumps(records, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+")
    ap.add_argument(
        "--sample",
        type=int,
        default=None,
        help="steps today's detector reports, per set (default 20); with --clean, candidates per set (default 0: all)",
    )
    ap.add_argument("--sample-old", type=int, default=5, help="steps only the --old detector reports, per set (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--old", type=Path, default=None, help="an older regressions.py whose steps join the sample")
    ap.add_argument("--min-change", type=float, default=0.05)
    ap.add_argument(
        "--at", nargs=2, action="append", metavar=("SERIES", "COMMIT"), help="the step of this series at this commit (repeatable)"
    )
    ap.add_argument("--clean", action="store_true", help="candidate true steps found in the raw series (see --k, --ratio)")
    ap.add_argument("--k", type=int, default=4, help="--clean: points entirely on each side (default 4)")
    ap.add_argument("--ratio", type=float, default=1.3, help="--clean: the medians at least this far apart (default 1.3)")
    ap.add_argument("--json", action="store_true", help="--at / --clean: print true_steps entries to fill in, not the evidence")
    ap.add_argument("--show-detector", action="store_true", help="--at / --clean: say what today's detector reports there too")
    args = ap.parse_args(argv)
    if args.at or args.clean:
        if args.at and len(args.sets) != 1:
            ap.error("--at needs exactly one SET")
        args.sample = args.sample or 0
        return chosen_main(args)
    args.sample = 20 if args.sample is None else args.sample
    rng = np.random.default_rng(args.seed)
    old = old_detector(args.old) if args.old else None
    n = 0
    for name in args.sets:
        root = Path(name) if Path(name).is_dir() else SHARED / name
        rs = load_set(root)
        t = rs.results  # type: ignore[attr-defined]
        v = analyse(rs)
        new = v.steps.assign(by="new")
        frames = [new]
        if old is not None:
            frames.append(old.detect_changes(t).assign(by="old"))  # type: ignore[attr-defined]
        steps = pd.concat(frames, ignore_index=True)
        steps = steps[(steps["factor"] - 1).abs() >= args.min_change]
        # one row per (series, commit range), saying which detectors reported it
        steps["key"] = steps["series"].astype(str) + "@" + steps["commit_after"].astype(str)
        who = steps.groupby("key")["by"].agg(lambda b: "+".join(sorted(set(b))))
        steps = steps.drop_duplicates("key")
        steps = steps.assign(by=steps["key"].map(who))
        reported = steps[steps["by"].str.contains("new")]
        old_only = steps[~steps["by"].str.contains("new")]
        pick = pd.concat(
            [reported.iloc[rng.permutation(len(reported))[: args.sample]], old_only.iloc[rng.permutation(len(old_only))[: args.sample_old]]]
        ).sort_values(["series", "order_after"])
        print(
            f"\n######## {root.name}: {len(reported)} steps of {args.min_change:.0%} or more reported today, {len(old_only)} only by --old; "
            f"{len(pick)} sampled"
        )
        for _, step in pick.iterrows():
            n += 1
            print(
                f"\n#{n} [{root.name}] {step['machine']} | {step['env']} | {step['benchmark']}({step['params']}) "
                f"{step['ratio']:.3g}x {step['commit_before']}..{step['commit_after']} orders {step['order_before']}..{step['order_after']} "
                f"n={step['n_before']}/{step['n_after']} by {step['by']}"
            )
            print("\n".join(evidence(t, step, v)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
