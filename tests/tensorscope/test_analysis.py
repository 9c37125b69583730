"""Speedups, crossover, env ablation, GPU/CPU, roofline and machine comparison on small trees."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from asv_builder import NAN, ResultsTree, commit_date, commit_hash

from tensorscope.analysis.machines import compare_machines, machine_details
from tensorscope.analysis.roofline import cache_sizes, catalog_cost, efficiency, recorded_costs, roofs, throughput
from tensorscope.analysis.speedups import crossover, device_speedups, env_ratios, fastest, speedups
from tensorscope.results import load_results

BENCH = "bench_binary.Binary.time_op"
BACKENDS = ["'python'", "'numpy'", "'torch:cpu'", "'torch:cuda'"]
SIZES = ["100", "10000", "1000000"]


def _tree(tree: ResultsTree) -> None:
    tree.add_benchmark(BENCH, params=[BACKENDS, ["'add'"], SIZES, ["'float64'"]], param_names=["backend", "op", "size", "dtype"])
    tree.add_benchmark(
        "bench_calibration.Bandwidth.track_bandwidth", params=[["'copy'"], ["'all'"]], param_names=["kernel", "threads"], unit="GB/s"
    )
    tree.add_benchmark(
        "bench_calibration.Gemm.track_gemm_flops", params=[["'float64'"], ["'all'"]], param_names=["dtype", "threads"], unit="GFLOP/s"
    )
    # python: 1 us per element; numpy: 10 us overhead + 1 ns/element; torch:cpu like numpy; cuda: 5x faster than torch:cpu
    values = []
    for b in ("python", "numpy", "torch:cpu", "torch:cuda"):
        for n in (100, 10_000, 1_000_000):
            t = {"python": 1e-6 * n, "numpy": 1e-4 + 1e-9 * n, "torch:cpu": 1e-4 + 1e-9 * n, "torch:cuda": (1e-4 + 1e-9 * n) / 5}[b]
            values.append(t)
    values[0 * 3 + 2] = NAN  # python skipped at 1M
    for machine, scale in (("fast", 1.0), ("slow", 2.0)):
        tree.add_machine(machine, cpu=f"{machine} cpu")
        for simd in ("on", "off"):
            f = 1.0 if simd == "on" else 4.0
            tree.add_run(
                machine,
                commit_hash(0),
                {
                    BENCH: [v * scale * f for v in values],
                    "bench_calibration.Bandwidth.track_bandwidth": [20.0 / scale],
                    "bench_calibration.Gemm.track_gemm_flops": [100.0 / scale],
                },
                date=commit_date(0),
                env=f"virtualenv-py3.11-TENSORSCOPE_SIMD{simd}",
                env_vars={"TENSORSCOPE_SIMD": simd},
            )


def test_speedups_over_python_with_interval(results_tree: ResultsTree) -> None:
    _tree(results_tree)
    t = load_results(results_tree.root).results
    s = speedups(t)
    one = s[(s.machine == "fast") & (s.env.str.endswith("SIMDon")) & (s.backend == "numpy") & (s.param_size == "10000")].iloc[0]
    assert one.speedup == pytest.approx(1e-2 / (1e-4 + 1e-5))
    assert one.speedup_low < one.speedup < one.speedup_high
    assert one.speedup_low == pytest.approx((1e-2 * 0.99) / ((1e-4 + 1e-5) * 1.01))
    assert set(s.backend) == {"numpy", "torch:cpu", "torch:cuda"}
    assert "1000000" not in set(s.param_size)  # the baseline was skipped there
    c = crossover(s)
    row = c[(c.machine == "fast") & (c.env.str.endswith("SIMDon")) & (c.backend == "numpy")].iloc[0]
    assert row.crossover_size == 10000 and not row.wins_everywhere


def test_gpu_over_cpu_and_simd_ablation(results_tree: ResultsTree) -> None:
    _tree(results_tree)
    rs = load_results(results_tree.root)
    g = device_speedups(rs.results)
    assert set(g.backend) == {"torch:cuda"} and set(g.baseline) == {"torch:cpu"}
    assert g.speedup.round(6).unique().tolist() == [5.0]
    r = env_ratios(rs.results, rs.envs, "TENSORSCOPE_SIMD")
    assert len(r) and r.ratio.round(6).unique().tolist() == [4.0]
    assert set(r.env_numerator) == {"virtualenv-py3.11-TENSORSCOPE_SIMDoff"}
    assert env_ratios(rs.results, rs.envs, "NOT_A_VAR").empty


def test_roofline(results_tree: ResultsTree) -> None:
    _tree(results_tree)
    t = load_results(results_tree.root).results
    assert catalog_cost("add", "1000", "float64") == (1000, 3 * 8 * 1000)  # two inputs and the output
    assert catalog_cost("matmul", "64", "float32") == (2 * 64**3, 3 * 4 * 64 * 64)
    assert all(math.isnan(v) for v in catalog_cost("no_such_op", "64", "float32") + catalog_cost("add", "big", "float32"))
    tp = throughput(t)
    row = tp[(tp.machine == "fast") & (tp.param_backend == "numpy") & (tp.param_size == "10000") & tp.env.str.endswith("SIMDon")].iloc[0]
    assert row.flops == 10000 and row.bytes == 3 * 8 * 10000
    assert row.gbs == pytest.approx(240000 / (1e-4 + 1e-5) / 1e9)
    r = roofs(t).set_index("machine")
    assert r.loc["fast", "peak_gbs"] == 20.0 and r.loc["slow", "peak_gflops_float64"] == 50.0
    e = efficiency(t)
    row = e[(e.machine == "fast") & (e.param_backend == "numpy") & (e.param_size == "10000") & e.env.str.endswith("SIMDon")].iloc[0]
    assert row.attainable_gflops == pytest.approx(min(100.0, (1 / 24) * 20.0))
    assert row.efficiency == pytest.approx(row.gflops / row.attainable_gflops)
    assert math.isnan(e[e.param_backend == "torch:cuda"].efficiency.iloc[0])  # no GPU roof measured


def test_compare_machines_and_details(results_tree: ResultsTree) -> None:
    _tree(results_tree)
    results_tree.add_provenance("slow", commit_hash(0), "virtualenv-py3.11-TENSORSCOPE_SIMDon", {"cpu": {"model": "Slow CPU"}})
    rs = load_results(results_tree.root)
    m = compare_machines(rs.results, reference="fast")
    row = m[
        (m.machine == "slow") & (m.params.str.contains("'numpy'")) & (m.params.str.contains("size=100,")) & m.env.str.endswith("SIMDon")
    ].iloc[0]
    assert row.ratio == pytest.approx(2.0) and row.faster == pytest.approx(0.5)
    bw = m[(m.machine == "slow") & (m.benchmark == "bench_calibration.Bandwidth.track_bandwidth")].iloc[0]
    assert bw.better == "higher" and bw.faster == pytest.approx(0.5)
    d = machine_details(rs)
    assert list(d.columns) == ["fast", "slow"]
    assert d.loc["provenance.cpu.model", "slow"] == "Slow CPU"


def test_fastest_backend_at_the_largest_size_and_its_speedup_over_python(results_tree: ResultsTree) -> None:
    _tree(results_tree)
    t = load_results(results_tree.root).results
    f = fastest(t)
    assert len(f) == 4  # one op on 2 machines x 2 envs
    row = f[(f.machine == "fast") & f.env.str.endswith("SIMDon")].iloc[0]
    # at 1M elements: torch:cuda (1e-4 + 1e-3) / 5 beats numpy and torch:cpu (1e-4 + 1e-3); python skipped there
    assert row["size"] == "1000000" and row.backend == "torch:cuda" and row.backends == 3
    assert row.value == pytest.approx((1e-4 + 1e-3) / 5) and row.lead == pytest.approx(5.0)
    assert row.runner_up in {"numpy", "torch:cpu"}
    # python ran up to 10000 elements: the speedup is taken there
    assert row.baseline_size == "10000" and row.speedup == pytest.approx(1e-2 / ((1e-4 + 1e-5) / 5))
    assert fastest(t.drop(columns=["param_size"])).empty  # no size parameter: nothing to rank


def test_fastest_compares_backends_within_the_newest_commit_that_measured_the_op(results_tree: ResultsTree) -> None:
    results_tree.add_benchmark(
        BENCH, params=[["'python'", "'numpy'"], ["'add'"], ["'100'"], ["'float64'"]], param_names=["backend", "op", "size", "dtype"]
    )
    results_tree.add_machine("m")
    results_tree.add_run("m", commit_hash(0), {BENCH: [1e-3, 1e-6]}, date=commit_date(0))
    results_tree.add_run("m", commit_hash(1), {BENCH: [2e-3, NAN]}, date=commit_date(1))  # numpy skipped at the newest
    (row,) = fastest(load_results(results_tree.root).results).itertuples()
    assert row.commit == commit_hash(1) and row.backend == "python" and math.isnan(row.lead) and pd.isna(row.runner_up)
    assert row.speedup == pytest.approx(1.0)  # python over itself


def test_efficiency_names_the_cache_level_that_holds_the_data(results_tree: ResultsTree) -> None:
    _tree(results_tree)
    cache = {"l1d": "48 KiB (1 instance)", "l2": "1 MiB (1 instance)", "l3": "32 MiB (1 instance)"}
    results_tree.add_provenance("fast", commit_hash(0), "virtualenv-py3.11-TENSORSCOPE_SIMDon", {"cpu": {"cache": cache}})
    rs = load_results(results_tree.root)
    sizes = cache_sizes(rs.provenance).set_index("machine")
    assert sizes.loc["fast"].tolist() == [48 * 1024, 2**20, 32 * 2**20]
    e = efficiency(rs.results, provenance=rs.provenance)
    fits = e[(e.machine == "fast") & (e.param_backend == "numpy")].groupby("param_size")["fits_in"].first().to_dict()
    # add on float64: 24 bytes per element
    assert fits == {"100": "L1", "10000": "L2", "1000000": "L3"}
    assert set(e[e.machine == "slow"].fits_in) == {"unknown"}  # no provenance: not guessed
    row = e[(e.machine == "fast") & (e.param_backend == "numpy") & (e.param_size == "1000000")].iloc[0]
    assert row.bound == "memory" and row.cache_bytes == 32 * 2**20
    assert cache_sizes(None).empty


def test_costs_recorded_by_the_benchmarked_commit_come_first(results_tree: ResultsTree) -> None:
    """A run's provenance holds its own commit's cost of each cell (op_costs); the catalog of this
    checkout costs only the cells a run did not record."""
    _tree(results_tree)
    recorded = {"op_cost_columns": ["flops", "bytes_read", "bytes_written"], "op_costs": {"add": {"float64": {"10000": [999, 100, 140]}}}}
    results_tree.add_provenance("fast", commit_hash(0), "virtualenv-py3.11-TENSORSCOPE_SIMDon", recorded)
    rs = load_results(results_tree.root)
    costs = recorded_costs(rs.provenance)
    assert costs[["machine", "op", "dtype", "size", "flops", "bytes"]].values.tolist() == [
        ["fast", "add", "float64", "10000", 999.0, 240.0]
    ]
    e = efficiency(rs.results, provenance=rs.provenance)
    numpy = e[(e.param_backend == "numpy") & (e.param_size == "10000")].set_index(["machine", "env"])
    own = numpy.loc[("fast", "virtualenv-py3.11-TENSORSCOPE_SIMDon")]
    assert (own.flops, own.bytes, own.cost_source) == (999, 240, "recorded")
    assert own.gflops == pytest.approx(999 / (1e-4 + 1e-5) / 1e9)
    other = numpy.loc[("fast", "virtualenv-py3.11-TENSORSCOPE_SIMDoff")]  # another run of the same commit: no record
    assert (other.flops, other.bytes, other.cost_source) == (10_000, 240_000, "catalog")
    assert recorded_costs(None).empty and recorded_costs(rs.provenance.drop(columns=[c for c in rs.provenance if "op_costs" in c])).empty
