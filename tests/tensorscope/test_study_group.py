"""The study group's table: our speedups over python at the seed's ops and sizes, beside the seed's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from asv_builder import NAN, ResultsTree, commit_date, commit_hash

from tensorscope.analysis import study_group
from tensorscope.results import load_results

FUSED = "bench_fused.Fused.time_op"
LINALG = "bench_linalg.Linalg.time_op"
BINARY = "bench_binary.Binary.time_op"
MEMORY = "bench_fused.FusedMemory.peakmem_op"
NAMES = ["backend", "op", "size", "dtype"]


def _q(values: list[object]) -> list[str]:
    return [repr(v) if isinstance(v, str) else str(v) for v in values]


def _tree(root: Path) -> Path:
    """vm: CPU backends; python times softmax 1e6 only at the newer commit, matmul 100 never (skipped),
    no matmul 10 or 500 in the grid. gpu: torch:cuda too, an older run with other values."""
    tree = ResultsTree(root)
    cpu = ["python", "numba", "numpy", "torch:cpu", "jax:cpu"]
    tree.add_benchmark(FUSED, params=[_q([*cpu, "torch:cuda"]), _q(["softmax"]), _q([1_000_000]), _q(["float32"])], param_names=NAMES)
    tree.add_benchmark(LINALG, params=[_q(["python", "numpy"]), _q(["matmul"]), _q([100]), _q(["float32"])], param_names=NAMES)
    tree.add_benchmark(BINARY, params=[_q(["python", "numpy"]), _q(["multiply"]), _q([100, 1000]), _q(["float32"])], param_names=NAMES)
    tree.add_benchmark(MEMORY, params=[_q(["python", "numpy"]), _q(["softmax"]), _q([1_000_000]), _q(["float32"])], param_names=NAMES)
    tree.add_machine("vm", cpu="AMD EPYC (avx2)", num_cpu="2")
    for i, python_softmax in enumerate([NAN, 0.9]):
        on = "virtualenv-py3.11-TENSORSCOPE_SIMDon"
        tree.add_run(
            "vm",
            commit_hash(i),
            {
                # python, numba, numpy, torch:cpu, jax:cpu, torch:cuda (skipped: no GPU here)
                FUSED: [python_softmax, 0.01, 0.02, 0.03, 0.0045 * (i + 1), NAN],
                LINALG: [NAN, 1e-5],
                BINARY: [2e-5, 2e-4, 1e-6, 2e-6],
                MEMORY: [1e8, 1e7],
            },
            date=commit_date(i),
            env=on,
        )
        # SIMD off is an ablation, not what users run: numba 10x slower there, never reported
        tree.add_run(
            "vm",
            commit_hash(i),
            {FUSED: [python_softmax, 0.1, 0.02, 0.03, 0.0045, NAN], LINALG: [NAN, 1e-5], BINARY: [2e-5, 2e-4, 1e-6, 2e-6]},
            date=commit_date(i),
            env="virtualenv-py3.11-TENSORSCOPE_SIMDoff",
        )
    tree.add_provenance(
        "vm",
        commit_hash(1),
        "virtualenv-py3.11-TENSORSCOPE_SIMDon",
        {
            "cpu": {"model": "AMD EPYC 9B14", "logical_cores": 2},
            "platform": {"python_version": "3.11.7"},
            "thread_setting": "1",
            "env": {"OMP_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"},
        },
    )
    tree.add_machine("gpu", cpu="Xeon", num_cpu="16")
    tree.add_run(
        "gpu",
        commit_hash(3),
        {FUSED: [1.2, 0.02, 0.03, 0.04, 0.05, 0.0004], LINALG: [NAN, NAN], BINARY: [NAN, NAN, NAN, NAN]},
        date=commit_date(3),
        env="existing-py_opt_torch_.venv_bin_python3",
    )
    tree.add_provenance(
        "gpu",
        commit_hash(3),
        "existing-py_opt_torch_.venv_bin_python3",
        {"cpu": {"model": "Intel Xeon"}, "platform": {"python_version": "3.12.3"}, "gpus": [{"name": "NVIDIA H200"}]},
    )
    return root


@pytest.fixture
def loaded(tmp_path: Path) -> object:
    return load_results(_tree(tmp_path / "results"))


def _cell(study: pd.DataFrame, figure: str, machine: str, backend: str) -> pd.Series:
    (row,) = [r for _, r in study.iterrows() if r["figure"] == figure and r["machine"] == machine and r["backend"] == backend]
    return row


def test_the_seed_figures_are_the_published_ones() -> None:
    published = {(f.op, f.size): (f.low, f.high) for f in study_group.SEED_FIGURES}
    assert published == {
        ("softmax", 1_000_000): (85.7, 85.7),
        ("matmul", 10): (36, 38),
        ("matmul", 100): (233, 333),
        ("matmul", 500): (2290, 2865),
        ("multiply", 100): (11.7, 11.7),
        ("multiply", 1000): (77, 77),
        ("multiply", 10_000): (225, 225),
    }
    assert all(f.dtype == "float32" for f in study_group.SEED_FIGURES)
    assert all("multiply" in f.note and "scale" in f.note for f in study_group.SEED_FIGURES if f.op == "multiply")


def test_speedup_is_python_over_the_backend_at_the_newest_commit_both_measured(loaded: object) -> None:
    study = study_group.study_group_table(loaded.table)  # type: ignore[attr-defined]
    softmax = "softmax, 1,000,000 elements"
    # commit 0 has no python softmax; commit 1 does (jax 0.009 s there, 0.0045 at commit 0)
    jax = _cell(study, softmax, "vm", "jax:cpu")
    assert jax["speedup"] == pytest.approx(0.9 / 0.009) and jax["commit"] == commit_hash(1)
    assert jax["env"].endswith("SIMDon")
    numba = _cell(study, softmax, "vm", "numba")
    assert numba["speedup"] == pytest.approx(0.9 / 0.01)  # the SIMD-off env's 0.1 s is not used
    assert numba["speedup_low"] < numba["speedup"] < numba["speedup_high"]
    assert numba["seed_speedup"] == "85.7x"
    gpu = _cell(study, softmax, "gpu", "torch:cuda")
    assert gpu["speedup"] == pytest.approx(1.2 / 0.0004) and gpu["machine"] == "gpu"
    scale = _cell(study, "multiply, 100 elements", "vm", "numpy")
    assert scale["speedup"] == pytest.approx(2e-5 / 1e-6)


def test_missing_cells_say_why_and_carry_no_number(loaded: object) -> None:
    study = study_group.study_group_table(loaded.table)  # type: ignore[attr-defined]
    matmul = _cell(study, "matmul 100x100", "vm", "numpy")
    assert pd.isna(matmul["speedup"]) and matmul["reason"].startswith("python skipped")
    absent = _cell(study, "matmul 500x500", "vm", "numpy")
    assert pd.isna(absent["speedup"]) and absent["reason"] == "python not timed at this size here"
    torch = _cell(study, "multiply, 1,000 elements", "vm", "torch:cpu")
    assert pd.isna(torch["speedup"]) and torch["reason"] == "torch:cpu not timed at this size here"  # python ran, torch did not
    # GPU backends appear only on the machine that ran one
    assert set(study[study["machine"] == "vm"]["backend"]) == set(study_group.CPU_BACKENDS)
    assert "torch:cuda" in set(study[study["machine"] == "gpu"]["backend"])


def test_hardware_comes_from_the_provenance_of_the_run_used(loaded: object) -> None:
    rs = loaded
    line = study_group.machine_hardware(rs.provenance, rs.machines, "vm", commit_hash(1), "virtualenv-py3.11-TENSORSCOPE_SIMDon")  # type: ignore[attr-defined]
    assert "AMD EPYC 9B14" in line and "Python 3.11.7" in line
    assert "OPENBLAS_CORETYPE=Haswell" in line and "OMP_NUM_THREADS=1" in line and "threads=1" in line
    gpu = study_group.machine_hardware(rs.provenance, rs.machines, "gpu")  # type: ignore[attr-defined]
    assert "NVIDIA H200" in gpu and "Python 3.12.3" in gpu
    # without provenance: machine.json's CPU, its flags left out
    bare = study_group.machine_hardware(None, rs.machines, "vm")  # type: ignore[attr-defined]
    assert bare.startswith("AMD EPYC, 2 cores")


def test_markdown_sets_both_sides_with_the_baselines_difference(loaded: object) -> None:
    text = study_group.markdown_for(loaded)
    assert "pure-Python interpreter loop" in text and "BinaryBackend" in text
    assert "| softmax, 1,000,000 elements | EXLA (CPU) | 85.7x |" in text
    assert "2,290-2,865x" in text and "our closest op to BLAS scale is multiply" in text
    vm_table = text.split("**vm**")[1].split("**gpu**")[0]
    assert "AMD EPYC 9B14" in vm_table and "torch:cuda" not in vm_table
    row = next(line for line in vm_table.splitlines() if line.startswith("| softmax"))
    assert "| 90x (" in row  # numba: 0.9 s / 0.01 s
    assert "- matmul 500x500: python not timed at this size here" in vm_table
    gpu_table = text.split("**gpu**")[1]
    assert "torch:cuda over python" in gpu_table and "3,000x" in gpu_table


def test_a_table_without_the_suites_parameters_gives_no_rows() -> None:
    table = pd.DataFrame({"machine": ["m"], "benchmark": ["b.time_x"], "status": ["ok"], "value": [1.0]})
    study = study_group.study_group_table(table)
    assert study.empty
    assert "No machine in these results" in study_group.to_markdown(study)


def test_the_script_prints_the_markdown_and_refuses_a_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import study_group_table  # a script, not a package

    root = _tree(tmp_path / "results")
    assert study_group_table.main([str(root), "--machine", "vm"]) == 0
    out = capsys.readouterr().out
    assert "**vm**" in out and "**gpu**" not in out and "| softmax, 1,000,000 elements |" in out
    assert study_group_table.main([str(tmp_path / "nowhere")]) == 2
    assert "no results directory" in capsys.readouterr().err
