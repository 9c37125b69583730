"""Precision and recall of the reported code steps on hand-labelled steps of the shared real histories.

``tests/data/labelled_steps.json`` holds two lists, both labelled by hand from the evidence
``scripts/label_steps.py`` prints:

* ``steps``: steps sampled from what the detectors reported on ``../shared/asv-results``, each
  labelled code / environment / noise / unclear. Every labelled step today's detector still reports
  as a code step counts: precision = labelled ``code`` / all of them (``unclear`` counted as not code).
* ``true_steps``: level changes chosen from the raw series, whatever a detector says, labelled code
  or environment. Recall = the share of the ``code`` ones that today's analysis accounts for: as a
  code step of that series in the same direction within 2 commits of the true position (positions
  counted in the series' own commits, in the analysis' commit order; a reported range that spans
  the true one counts too), or as an environment shift of that machine at that commit.

The floors are below the measured figures (see docs/validation/verdicts.md) by the noise
of a few labels, so a change that makes the verdicts worse on real data fails here. Each shared set is
analysed once per module, as ``tensorscope report`` does (results and verdict caches in a temporary
directory). Run the recall check alone with ``pytest tests/tensorscope/test_labelled_steps.py -k recall``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from asv_builder import SHARED_SETS

from tensorscope.analysis.regressions import Verdicts, analyse
from tensorscope.results import ResultSet, load_results

LABELS = Path(__file__).resolve().parents[1] / "data" / "labelled_steps.json"
PRECISION_FLOOR = 0.88
MIN_MATCHED = 60
RECALL_FLOOR = 0.95
MIN_TRUE_STEPS = 60
NEAR = 2  # commits of the series either side of the true step

# one worker runs both tests under pytest-xdist, so each set is analysed once
pytestmark = pytest.mark.xdist_group("labelled_steps")

Analysed = Callable[[str], tuple[ResultSet, Verdicts]]


def load_set(shared: Path, name: str, cache_dir: Path | None = None) -> ResultSet:
    """A shared set's ResultSet, commits in the order of its published index.json where it has one (as the labels are)."""
    root = shared / name
    index = root / "asv_publish_output" / "index.json"
    return load_results(root / "results", cache_dir=cache_dir, index_json=index if index.is_file() else None)


def _key(frame: pd.DataFrame) -> pd.Series:
    """``machine|env|benchmark|params`` of each row (a step's or a result's)."""
    text = {c: frame[c].astype(str) for c in ("machine", "env", "benchmark", "params")}
    return text["machine"] + "|" + text["env"] + "|" + text["benchmark"] + "|" + text["params"]


def _label_key(lab: dict[str, Any]) -> str:
    return f"{lab['machine']}|{lab['env']}|{lab['benchmark']}|{lab['params']}"


def matched_labels(shared: Path, detect: Any = analyse, analysed: Analysed | None = None) -> list[dict[str, Any]]:
    """The labelled steps that ``detect`` (a function of a ResultSet returning an object with ``steps``) reports as code steps.

    With ``analysed`` (set name -> (ResultSet, Verdicts)), its verdicts are used instead of calling ``detect``.
    """
    doc = json.loads(LABELS.read_text())
    by_set: dict[str, list[dict[str, Any]]] = {}
    for step in doc["steps"]:
        by_set.setdefault(step["set"], []).append(step)
    hits = []
    for name, labelled in sorted(by_set.items()):
        if analysed is not None:
            rs, verdicts = analysed(name)
            steps = verdicts.steps
        else:
            rs = load_set(shared, name)
            steps = detect(rs).steps
        order = dict(zip(rs.commits["commit"].astype(str), rs.commits["commit_order"].astype(int), strict=True))
        reported: dict[str, list[tuple[int, int]]] = {}
        for k, b, a in zip(_key(steps), steps["order_before"], steps["order_after"], strict=True):
            reported.setdefault(k, []).append((int(b), int(a)))
        for lab in labelled:
            lo, hi = order[lab["commit_before"]], order[lab["commit_after"]]
            # the same step: the commit ranges overlap (a range may be reported a commit wider or narrower)
            if any(b <= hi and a >= lo for b, a in reported.get(_label_key(lab), [])):
                hits.append(lab)
    return hits


def _on_machine(frame: pd.DataFrame, machine: str) -> pd.Series:
    """Rows of ``frame`` (steps or shifts) of ``machine``: by name, or as a member of a runner group."""
    members = frame["machines"].astype(str).str.split(",") if "machines" in frame.columns else None
    named = frame["machine"].astype(str) == machine
    if members is None:
        return named
    return named | members.map(lambda m: machine in [x.strip() for x in m])


def account(rs: ResultSet, verdicts: Verdicts, lab: dict[str, Any]) -> tuple[str, str]:
    """How the analysis accounts for one true step: ('step' | 'environment' | 'unstable' | 'missed', what it says about the series)."""
    order = dict(zip(rs.commits["commit"].astype(str), rs.commits["commit_order"].astype(int), strict=True))
    before, after = order[lab["commit_before"]], order[lab["commit_after"]]
    up = lab["value_after"] > lab["value_before"]
    t = rs.results
    t = t[(t["benchmark"] == lab["benchmark"]) & (t["status"] == "ok")]
    ok = t[_key(t) == _label_key(lab)]
    positions = np.unique(ok["commit_order"].to_numpy(dtype=int))

    def pos(o: int) -> int:
        return int(np.searchsorted(positions, o))

    steps = verdicts.steps
    mine = steps[(steps["env"].astype(str) == lab["env"]) & (steps["benchmark"].astype(str) == lab["benchmark"])]
    mine = mine[(mine["params"].astype(str) == lab["params"]) & _on_machine(mine, lab["machine"])]
    said = []
    for b, a, ratio in zip(mine["order_before"].astype(int), mine["order_after"].astype(int), mine["ratio"], strict=True):
        same_way = (ratio > 1) == up
        near = abs(pos(a) - pos(after)) <= NEAR or (b <= before and a >= after)
        if same_way and near:
            return "step", f"code step {ratio:.3g}x at orders {b}..{a}"
        said.append(f"{ratio:.3g}x at {b}..{a}")
    shifts = verdicts.environment_shifts
    shifts = shifts[_on_machine(shifts, lab["machine"])] if len(shifts) else shifts
    for cb, ca in zip(shifts["commit_before"].astype(str), shifts["commit_after"].astype(str), strict=True):
        lo, hi = sorted((order.get(cb, -1), order.get(ca, -1)))
        if ca == lab["commit_after"] or lo < after <= hi:
            return "environment", f"environment shift {cb[:8]}..{ca[:8]}"
    unstable = verdicts.unstable
    band = unstable[unstable["series"].astype(str) == str(ok["series"].iloc[0])] if len(ok) else unstable.iloc[0:0]
    if len(band):
        return "unstable", f"unstable {band['low'].iloc[0]:.4g} / {band['high'].iloc[0]:.4g}"
    where = "; code steps elsewhere: " + ", ".join(said) if said else "; no code step of this series"
    return "missed", f"no environment shift of {lab['machine']} there{where}"


def recall(analysed: Analysed) -> tuple[float, list[str], list[str]]:
    """(recall on the true code steps, one line per miss, one line per true environment step saying how it is accounted for)."""
    doc = json.loads(LABELS.read_text())
    found, misses, env = 0, [], []
    code_steps = [s for s in doc["true_steps"] if s["label"] == "code"]
    for lab in doc["true_steps"]:
        rs, verdicts = analysed(lab["set"])
        how, what = account(rs, verdicts, lab)
        ratio = lab["value_after"] / lab["value_before"]
        line = f"{lab['set']} {lab['machine']} {lab['benchmark']}({lab['params']}) {ratio:.3g}x at {lab['commit_after'][:8]}: {how}, {what}"
        if lab["label"] != "code":
            env.append(line)
        elif how in ("step", "environment"):
            found += 1
        else:
            misses.append(line)
    return (found / len(code_steps) if code_steps else 0.0), misses, env


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    """Set name -> (ResultSet, Verdicts), each shared set loaded and analysed once per module."""
    if not SHARED_SETS.is_dir():
        pytest.skip(f"shared asv result sets not present at {SHARED_SETS}")
    cache = tmp_path_factory.mktemp("labelled-steps-cache")
    done: dict[str, tuple[ResultSet, Verdicts]] = {}

    def get(name: str) -> tuple[ResultSet, Verdicts]:
        if name not in done:
            rs = load_set(SHARED_SETS, name, cache / name)
            done[name] = (rs, analyse(rs, cache_dir=cache / name))
        return done[name]

    return get


def test_labels_are_well_formed() -> None:
    doc = json.loads(LABELS.read_text())
    steps = doc["steps"]
    assert len(steps) >= 100
    assert {s["label"] for s in steps} <= set(doc["labels"])
    assert all(s["evidence"].strip() for s in steps)
    assert len({(s["set"], s["machine"], s["env"], s["benchmark"], s["params"], s["commit_after"]) for s in steps}) == len(steps)


def test_true_steps_are_well_formed() -> None:
    doc = json.loads(LABELS.read_text())
    true_steps = doc["true_steps"]
    fields = {"set", "machine", "env", "benchmark", "params", "label", "evidence"} | {
        "commit_before",
        "commit_after",
        "value_before",
        "value_after",
    }
    assert all(fields <= set(s) for s in true_steps)
    assert {s["label"] for s in true_steps} <= {"code", "environment"}
    assert sum(s["label"] == "code" for s in true_steps) >= MIN_TRUE_STEPS
    assert all(s["evidence"].strip() for s in true_steps)
    assert all(len(s["commit_before"]) == len(s["commit_after"]) == 40 and s["commit_before"] != s["commit_after"] for s in true_steps)
    assert all(s["value_before"] > 0 and s["value_after"] > 0 and s["value_before"] != s["value_after"] for s in true_steps)
    keys = {(s["set"], s["machine"], s["env"], s["benchmark"], s["params"], s["commit_after"]) for s in true_steps}
    assert len(keys) == len(true_steps)
    # chosen from every usable shared set, small steps among them
    assert {s["set"] for s in true_steps if s["label"] == "code"} >= {"numpy-bench", "scipy-bench", "uxarray-asv", "mjwarp-asv"}
    small = [s for s in true_steps if s["label"] == "code" and 1 / 1.3 < s["value_after"] / s["value_before"] < 1.3]
    assert len(small) >= 10


def test_precision_on_hand_labelled_real_steps(analysed: Analysed) -> None:
    hits = matched_labels(SHARED_SETS, analysed=analysed)
    code = sum(1 for h in hits if h["label"] == "code")
    precision = code / len(hits) if hits else 0.0
    wrong = [f"{h['set']} {h['benchmark']}({h['params']}) {h['commit_after'][:8]}: {h['label']}" for h in hits if h["label"] != "code"]
    assert len(hits) >= MIN_MATCHED, f"only {len(hits)} labelled steps reported: the labels no longer describe what is reported"
    assert precision >= PRECISION_FLOOR, f"precision {precision:.1%} on {len(hits)} labelled steps; not code: " + "; ".join(wrong)


def test_recall_on_hand_checked_true_steps(analysed: Analysed) -> None:
    rate, misses, env = recall(analysed)
    explained = sum(": environment," in e for e in env)
    assert rate >= RECALL_FLOOR, (
        f"recall {rate:.1%} on the hand-checked true code steps (floor {RECALL_FLOOR:.0%}); {len(misses)} not accounted for:\n  "
        + "\n  ".join(misses)
        + f"\n(true environment steps: {explained} of {len(env)} named as environment shifts)\n  "
        + "\n  ".join(env)
    )
