"""Precision of the reported code steps on hand-labelled steps of the shared real histories.

``tests/data/labelled_steps.json`` holds steps sampled from what the detectors reported on
``../shared/asv-results`` (``scripts/label_steps.py``), each labelled code / environment / noise /
unclear with the evidence that decided it. Here today's detector runs on the same sets and every
labelled step it still reports as a code step counts: precision = labelled ``code`` / all of them
(``unclear`` counted as not code). The floor is below the measured figure (see the README's
"Analysis and regressions") by the noise of a few labels, so a change that makes the verdicts worse
on real data fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tensorscope.analysis.regressions import analyse
from tensorscope.results import load_results

LABELS = Path(__file__).resolve().parents[1] / "data" / "labelled_steps.json"
PRECISION_FLOOR = 0.88
MIN_MATCHED = 60


def matched_labels(shared: Path, detect: Any = analyse) -> list[dict[str, Any]]:
    """The labelled steps that ``detect`` (a function of a ResultSet returning an object with ``steps``) reports as code steps."""
    doc = json.loads(LABELS.read_text())
    by_set: dict[str, list[dict[str, Any]]] = {}
    for step in doc["steps"]:
        by_set.setdefault(step["set"], []).append(step)
    hits = []
    for name, labelled in sorted(by_set.items()):
        root = shared / name
        index = root / "asv_publish_output" / "index.json"
        rs = load_results(root / "results", index_json=index if index.is_file() else None)
        order = dict(zip(rs.commits["commit"].astype(str), rs.commits["commit_order"].astype(int), strict=True))
        steps = detect(rs).steps
        key = (
            steps["machine"].astype(str)
            + "|"
            + steps["env"].astype(str)
            + "|"
            + steps["benchmark"].astype(str)
            + "|"
            + steps["params"].astype(str)
        )
        reported: dict[str, list[tuple[int, int]]] = {}
        for k, b, a in zip(key, steps["order_before"], steps["order_after"], strict=True):
            reported.setdefault(k, []).append((int(b), int(a)))
        for lab in labelled:
            k = f"{lab['machine']}|{lab['env']}|{lab['benchmark']}|{lab['params']}"
            lo, hi = order[lab["commit_before"]], order[lab["commit_after"]]
            # the same step: the commit ranges overlap (a range may be reported a commit wider or narrower)
            if any(b <= hi and a >= lo for b, a in reported.get(k, [])):
                hits.append(lab)
    return hits


def test_labels_are_well_formed() -> None:
    doc = json.loads(LABELS.read_text())
    steps = doc["steps"]
    assert len(steps) >= 100
    assert {s["label"] for s in steps} <= set(doc["labels"])
    assert all(s["evidence"].strip() for s in steps)
    assert len({(s["set"], s["machine"], s["env"], s["benchmark"], s["params"], s["commit_after"]) for s in steps}) == len(steps)


def test_precision_on_hand_labelled_real_steps(shared_sets: Path) -> None:
    hits = matched_labels(shared_sets)
    code = sum(1 for h in hits if h["label"] == "code")
    precision = code / len(hits) if hits else 0.0
    wrong = [f"{h['set']} {h['benchmark']}({h['params']}) {h['commit_after'][:8]}: {h['label']}" for h in hits if h["label"] != "code"]
    assert len(hits) >= MIN_MATCHED, f"only {len(hits)} labelled steps reported: the labels no longer describe what is reported"
    assert precision >= PRECISION_FLOOR, f"precision {precision:.1%} on {len(hits)} labelled steps; not code: " + "; ".join(wrong)
