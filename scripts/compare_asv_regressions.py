"""Compare tensorscope's regression verdicts with asv's own ``regressions.json`` on published sets.

    .venv/bin/python scripts/compare_asv_regressions.py [SET_DIR ...]   (default: the shared sets that have one)

For each set: asv's regressions (one per benchmark graph still regressed at its latest point, with
the commit(s) where it jumped) against tensorscope's ``latest_regressions`` at asv's default 5%
threshold, commits ordered by the site's ``index.json`` like asv. Agreement is counted per
regressed (machine, benchmark(params)) and per jump commit.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorscope.analysis.regressions import latest_regressions
from tensorscope.results import load_results

SHARED = Path(__file__).resolve().parents[2] / "shared" / "asv-results"
DEFAULT = ("numpy-bench", "BLAS-Benchmarks", "mjwarp-asv", "own-example-tinypkg")


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
    ours = latest_regressions(rs.results, threshold=0.05)
    machines = sorted(rs.results["machine"].astype(str).unique())
    single_machine = machines[0] if len(machines) == 1 else "?"
    names_of = {b: spec.get("param_names", []) for b, spec in rs.benchmarks.items()}
    ours_keys: dict[tuple[str, str], set[str]] = {}
    for r in ours.itertuples():
        key = (str(r.machine), asv_name(str(r.benchmark), str(r.params), names_of.get(str(r.benchmark), [])))
        ours_keys.setdefault(key, set()).add(str(r.commit_after))
    asv_keys: dict[tuple[str, str], set[str]] = {}
    for entry in asv:
        name, _graph, gparams, _idx, _last, _best, jumps = entry[:7]
        key = (str(gparams.get("machine") or single_machine), name)
        asv_keys.setdefault(key, set()).update(rev_to_hash.get(j[1], "?") for j in jumps or [] if j[1] is not None)
    both = set(asv_keys) & set(ours_keys)
    same_commit = sum(1 for k in both if asv_keys[k] & ours_keys[k])
    return {
        "set": root.name,
        "asv": len(asv_keys),
        "ours": len(ours_keys),
        "both": len(both),
        "asv_only": sorted(set(asv_keys) - set(ours_keys)),
        "ours_only": sorted(set(ours_keys) - set(asv_keys)),
        "same_commit": same_commit,
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
        print(
            f"| {c['set']} | {c['asv']} | {c['ours']} | {c['both']} | {c['same_commit']} | {len(c['asv_only'])} | {len(c['ours_only'])} |"
        )
    for c in details:
        for what in ("asv_only", "ours_only"):
            if c[what]:
                shown = ", ".join(f"{m}:{n}" for m, n in c[what][:5])
                print(f"\n{c['set']} {what} (first 5 of {len(c[what])}): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
