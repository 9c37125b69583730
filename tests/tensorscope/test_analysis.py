"""Speedups, crossover, env ablation, GPU/CPU, roofline and machine comparison on small trees."""

from __future__ import annotations

import math

import pytest
from asv_builder import NAN, ResultsTree, commit_date, commit_hash

from tensorscope.analysis.machines import compare_machines, machine_details
from tensorscope.analysis.roofline import efficiency, op_infos, roofs, throughput
from tensorscope.analysis.speedups import crossover, device_speedups, env_ratios, speedups
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
    infos = op_infos("add", "1000", "float64")
    assert infos is not None and [i.shape for i in infos] == [(1000,), (1000,)]
    assert [i.shape for i in op_infos("matmul", "64", "float32") or []] == [(64, 64), (64, 64)]
    assert op_infos("reshape", "64", "float32") is None  # inputs beyond this mapping: no point
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
