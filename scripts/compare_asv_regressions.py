"""Compare tensorscope's regression verdicts with asv's own ``regressions.json`` on published sets.

    .venv/bin/python scripts/compare_asv_regressions.py [SET_DIR ...]   (default: the shared sets that have one)

For each set: asv's regressions (one per benchmark graph still regressed at its latest point, with
the commit(s) where it jumped) against tensorscope's regressions in effect
(``latest_regressions``: live series only, one net change per series, code changes only) at asv's
default 5% threshold, commits ordered by the site's ``index.json`` like asv. Agreement is counted per
regressed (machine, benchmark(params)) and per jump commit. Where they disagree, the tensorscope
column says why it does not list asv's: the series is stale (not measured at its machine's newest
run, or its environment or machine retired), unstable, or its change is the environment's.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorscope.analysis.regressions import analyse
from tensorscope.results import load_results

SHARED = Path(__file__).resolve().parents[2] / "shared" / "asv-results"
DEFAULT = ("numpy-bench", "BLAS-Benchmarks", "mjwarp-asv", "own-example-tinypkg", "geocat-comp-asv", "uxarray-asv", "scipy-bench")


def asv_name(benchmark: str, label: str, names: Sequence[str]) -> str:
    """Our params label ``a=1, b='x'`` as asv names a graph entry: ``bench(1, 'x')``."""
    if not label:
        return benchmark
    if not names:  # names unknown to benchmarks.json: ours are param1, param2, ...
        names = re.findall(r"(?:^|, )(param\d+)=", label)
    pattern = "^" + ", ".join(re.escape(n) + "=(.*)" for n in names) + "$"
    m = re.match(pattern, label)
    values = list(m.groups()) if m else [label]
    return f"{benchmark}({', '.join(values)})"


def compare(root: Path) -> dict[str, Any]:
    pub = root / "asv_publish_output"
    index = json.loads((pub / "index.json").read_text())
    rev_to_hash = {int(k): v for k, v in index["revision_to_hash"].items()}
    asv = json.loads((pub / "regressions.json").read_text())["regressions"]
    rs = load_results(root / "results", index_json=pub / "index.json")
    verdicts = analyse(rs)
    effect = verdicts.in_effect(0.05)
    ours = effect[effect["kind"] == "regression"]
    machines = sorted(rs.results["machine"].astype(str).unique())
    single_machine = machines[0] if len(machines) == 1 else "?"
    names_of = {b: spec.get("param_names", []) for b, spec in rs.benchmarks.items()}
    ours_keys: dict[tuple[str, str], set[str]] = {}
    for r in ours.itertuples():
        key = (str(r.machine), asv_name(str(r.benchmark), str(r.params), names_of.get(str(r.benchmark), [])))
        ours_keys.setdefault(key, set()).add(str(r.commit_after))
    asv_keys: dict[tuple[str, str], set[str]] = {}
    # a set may hold a subset of the published history: only asv's verdicts on its machines whose
    # newest jump is at a commit it holds can be compared
    held = set(rs.results["commit"].astype(str))
    for entry in asv:
        name, _graph, gparams, _idx, _last, _best, jumps = entry[:7]
        key = (str(gparams.get("machine") or single_machine), name)
        commits = [rev_to_hash.get(j[1], "?") for j in jumps or [] if j[1] is not None]
        if key[0] not in machines or not commits or commits[-1] not in held:
            continue
        asv_keys.setdefault(key, set()).update(commits)
    both = set(asv_keys) & set(ours_keys)
    same_commit = sum(1 for k in both if asv_keys[k] & ours_keys[k])

    # why asv's others are not ours: stale, unstable, the environment's, or not found
    def key_of(frame: Any) -> set[tuple[str, str]]:
        return {(str(r.machine), asv_name(str(r.benchmark), str(r.params), names_of.get(str(r.benchmark), []))) for r in frame.itertuples()}

    live_keys = {tuple(s.split("|", 3)[i] for i in (0, 2, 3)) for s in verdicts.live["series"]}
    unstable = key_of(verdicts.unstable)
    history = key_of(verdicts.steps[verdicts.steps["kind"] == "regression"])
    reasons: dict[str, int] = {}
    for m, n in set(asv_keys) - set(ours_keys):
        bench, _, _rest = n.partition("(")
        live = any(lm == m and lb == bench for lm, lb, _ in live_keys)
        why = (
            "unstable"
            if (m, n) in unstable
            else "stale"
            if not live
            else "undone or not in effect"
            if (m, n) in history
            else "no code step found"
        )
        reasons[why] = reasons.get(why, 0) + 1
    return {
        "set": root.name,
        "asv": len(asv_keys),
        "ours": len(ours_keys),
        "both": len(both),
        "asv_only": sorted(set(asv_keys) - set(ours_keys)),
        "ours_only": sorted(set(ours_keys) - set(asv_keys)),
        "same_commit": same_commit,
        "asv_only_why": reasons,
    }


def main(argv: list[str] | None = None) -> int:
    roots = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or [SHARED / s for s in DEFAULT]
    print(
        "| set | asv regressed | tensorscope regressed | both | same jump commit | asv only | tensorscope only |\n|---|---|---|---|---|---|---|"
    )
    details = []
    for root in roots:
        if not (root / "asv_publish_output" / "regressions.json").is_file():
            print(f"| {root.name} | (no regressions.json) | | | | | |")
            continue
        c = compare(root)
        details.append(c)
        why = ", ".join(f"{n} {k}" for k, n in sorted(c["asv_only_why"].items()))
        print(
            f"| {c['set']} | {c['asv']} | {c['ours']} | {c['both']} | {c['same_commit']} | {len(c['asv_only'])} ({why}) | {len(c['ours_only'])} |"
        )
    for c in details:
        for what in ("asv_only", "ours_only"):
            if c[what]:
                shown = ", ".join(f"{m}:{n}" for m, n in c[what][:5])
                print(f"\n{c['set']} {what} (first 5 of {len(c[what])}): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
