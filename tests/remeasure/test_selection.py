"""compare --profile: only the profile's cells of tensorscope's own suite are started."""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import re
import sys
from pathlib import Path

import pytest

from tensorscope.remeasure.compare import selection_patterns

REPO = Path(__file__).resolve().parents[2]


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"profile": None, "bench": [], "config": str(REPO / "asv.conf.json"), **kw})


def test_without_a_profile_the_users_patterns_are_used_as_given() -> None:
    assert selection_patterns(_args(bench=["Unary", "fft"])) == ["Unary", "fft"]


def test_with_a_profile_exactly_its_cells_match(monkeypatch: pytest.MonkeyPatch) -> None:
    # the grid as asv discovered it (results/benchmarks.json), against the profile's own rule
    monkeypatch.syspath_prepend(str(REPO))
    sys.modules.pop("benchmarks", None)
    from benchmarks.common import get_profile, runnable_backends

    quick = get_profile("quick")
    spec = json.loads((REPO / "results" / "benchmarks.json").read_text())["bench_unary.Unary.time_op"]
    patterns = [
        re.compile(p) for p in selection_patterns(_args(profile="quick", bench=[r"Unary\.time_op"], config=str(REPO / "asv.conf.json")))
    ]
    runnable = set(runnable_backends())  # GPU backends' cells are not handed to asv without a driver
    inside = outside = 0
    for combo in itertools.product(*spec["params"]):
        name = f"bench_unary.Unary.time_op({', '.join(combo)})"
        backend, op, size, dtype = (ast.literal_eval(v) for v in combo)
        wanted = quick.times(backend, op, size, dtype) and backend in runnable
        assert any(p.search(name) for p in patterns) == wanted, name
        inside += wanted
        outside += not wanted
    assert inside and outside  # both kinds of cell were checked
    # the user's -b still narrows the profile: no other benchmark's cell matches
    assert not any(p.search("bench_binary.Binary.time_op('numpy', 'add', 10000, 'float32')") for p in patterns)


def test_a_profile_on_another_projects_suite_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "__init__.py").write_text("")
    (tmp_path / "asv.conf.json").write_text(json.dumps({"version": 1, "benchmark_dir": "benchmarks"}))
    with pytest.raises(ValueError, match="--profile is for tensorscope's own suite"):
        selection_patterns(_args(profile="quick", config=str(tmp_path / "asv.conf.json")))
