"""Fakes for the re-measurement tests: a pair function with known ratios, and a finished comparison."""

from __future__ import annotations

import datetime as dt

import numpy as np

from tensorscope.remeasure.design import Plan, measure_cells
from tensorscope.remeasure.model import Cell, Comparison, Measurement, Side

START = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


class FakePairs:
    """``pair(cell, order)`` giving log-normal process values: A around ``base``, B around ``base * ratios[cell]``."""

    def __init__(self, ratios: dict[str, float], sigma: float | dict[str, float], seed: int = 0, base: float = 1.0) -> None:
        self.ratios = ratios
        self.sigma = sigma
        self.base = base
        self.rng = np.random.default_rng(seed)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, cell: Cell, order: str) -> tuple[Measurement, Measurement]:
        self.calls.append((cell.id, order))
        sigma = self.sigma[cell.id] if isinstance(self.sigma, dict) else self.sigma
        a = self.base * float(np.exp(self.rng.normal(0, sigma)))
        b = self.base * self.ratios[cell.id] * float(np.exp(self.rng.normal(0, sigma)))
        t = START + dt.timedelta(seconds=len(self.calls))
        return (
            Measurement("ok", a, [a * 0.99, a, a * 1.01], 10, t, 0.5),
            Measurement("ok", b, [b * 0.99, b, b * 1.01], 10, t, 0.5),
        )


def toy_cells() -> list[Cell]:
    """Two cells of one parameterized benchmark and one plain benchmark."""
    return [
        Cell("bench.Suite.time_op", 0, ("'numpy'",), ("backend",)),
        Cell("bench.Suite.time_op", 1, ("'python'",), ("backend",)),
        Cell("bench.time_plain"),
    ]


def toy_benchmarks() -> dict[str, dict[str, object]]:
    """benchmarks.json entries for :func:`toy_cells` (as asv's discovery writes them)."""
    common = {"unit": "seconds", "type": "time", "timeout": 60}
    return {
        "bench.Suite.time_op": {
            "name": "bench.Suite.time_op",
            "params": [["'numpy'", "'python'"]],
            "param_names": ["backend"],
            "version": "v1",
            **common,
        },
        "bench.time_plain": {"name": "bench.time_plain", "params": [], "param_names": [], "version": "v2", **common},
    }


def comparison(ratios: tuple[float, float, float] = (1.5, 1.0, 1.0), sigma: float = 0.01) -> Comparison:
    """A finished comparison of :func:`toy_cells` with the given true ratios."""
    cells = toy_cells()
    pairs = FakePairs({c.id: r for c, r in zip(cells, ratios, strict=True)}, sigma, seed=1, base=1e-3)
    outcomes = measure_cells(cells, pairs, Plan(seed=1))
    return Comparison(
        a=Side("A", "a" * 40, "origin/main", "the old one", "virtualenv-py3.11"),
        b=Side("B", "b" * 40, "HEAD", "the new one", "virtualenv-py3.11"),
        outcomes=outcomes,
        threshold=0.05,
        confidence=0.998,
        mode="interleaved",
        machine="box",
        started_at=START,
        seconds=90.0,
        install_seconds=30.0,
        controls={"thp": "off"},
        conditions={"steal_share": 0.0},
    )
