"""confirm: the marks file the dashboard reads (merge, round trip, bad files), and the package's public names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import tensorscope.remeasure as remeasure
from tensorscope.remeasure.confirm import CONFIRMATION_COLUMNS, confirmations_path, load_confirmations, mark, save_confirmations


def _entry(params: str, verdict: str, ratio: float | None = 1.2) -> dict[str, object]:
    return {
        "machine": "box",
        "env": "virtualenv-py3.11",
        "benchmark": "b.time_op",
        "params": params,
        "commit_before": "a" * 40,
        "commit_after": "b" * 40,
        "mark": mark(verdict),
        "verdict": verdict,
        "ratio": ratio,
        "ci_low": float("-inf") if ratio is None else 1.1,  # an open interval end is stored as null
        "ci_high": 1.3,
        "pairs": 20,
        "history_factor": 1.25,
        "threshold": 0.05,
        "confidence": 0.998,
        "mode": "interleaved",
        "measured_at": "2026-12-03T10:00:00+00:00",
        "note": "",
    }


def test_marks() -> None:
    assert [mark(v) for v in ("slower", "same", "faster", "undecided", "failed", "skipped")] == [
        "confirmed",
        "refuted",
        "refuted",
        "undecided",
        "undecided",
        "undecided",
    ]


def test_round_trip_and_merge(tmp_path: Path) -> None:
    path = save_confirmations(tmp_path, "box", [_entry("n=1", "slower"), _entry("n=2", "undecided", None)])
    assert path == confirmations_path(tmp_path, "box") == tmp_path / "box" / "tensorscope" / "confirmations.json"
    json.loads(path.read_text())  # strict JSON: no NaN or Infinity
    save_confirmations(tmp_path, "box", [_entry("n=2", "same")])  # re-confirmed later: replaces the old mark
    marks = load_confirmations(tmp_path)
    assert list(marks.columns) == CONFIRMATION_COLUMNS
    assert dict(zip(marks["params"], marks["mark"], strict=True)) == {"n=1": "confirmed", "n=2": "refuted"}
    assert set(marks["series"]) == {"box|virtualenv-py3.11|b.time_op|n=1", "box|virtualenv-py3.11|b.time_op|n=2"}
    assert isinstance(marks["measured_at"].dtype, pd.DatetimeTZDtype) and str(marks["measured_at"].dtype.tz) == "UTC"
    assert marks["pairs"].dtype == "int64"


def test_no_file_is_an_empty_table_and_a_bad_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    empty = load_confirmations(tmp_path)
    assert list(empty.columns) == CONFIRMATION_COLUMNS and empty.empty
    bad = confirmations_path(tmp_path, "other")
    bad.parent.mkdir(parents=True)
    bad.write_text('{"something": "else"}')
    save_confirmations(tmp_path, "box", [_entry("n=1", "slower")])
    with pytest.warns(UserWarning, match="not a tensorscope confirmations file"):
        marks = load_confirmations(tmp_path)
    assert marks["machine"].tolist() == ["box"]


def test_public_names_resolve_and_the_cli_module_stays_light() -> None:
    for name in remeasure.__all__:
        assert getattr(remeasure, name) is not None
    code = "import sys, tensorscope.remeasure.compare; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
