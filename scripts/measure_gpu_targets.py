"""Issue 30's targets for numba:cuda (our own CUDA kernels), measured against torch:cuda and the copy roof.

Run on the GPU machine by ``scripts/gpu_run.sh`` (step ``targets``); writes one JSON file
(rewritten after every measurement, so a run stopped part-way keeps what it measured) and
prints a table. Each target:

* element-wise ops (float32, 1e8 elements): bytes moved / time >= 0.90 of the measured
  device-to-device copy bandwidth, every op;
* reductions sum, max, mean (1e8): >= 0.85 of the copy bandwidth;
* softmax and layer_norm at 1e8 elements (the suite's own shapes) and at (4096, 4096):
  at least torch:cuda's throughput;
* launch-to-result time at 1e3 elements (one call, then synchronize): <= 1.5x torch:cuda's.

Inputs are the suite's (``benchmarks.cases.make_case``), bytes moved the catalog's cost
model, so the figures compare with the dashboard's. Times: the median of ``--repeat``
batches of calls, each batch ended by a synchronize (at 1e8 a call takes far longer than
its launch, so the GPU time is what is measured); the copy roof: the faster of numba's and
torch's device-to-device copy of 1e8 float32, counting bytes read and written.

    python scripts/measure_gpu_targets.py --output targets.json            # on a GPU
    NUMBA_ENABLE_CUDASIM=1 python scripts/measure_gpu_targets.py --size 2000 --square 16 --small 100 \\
        --ops add,sum,softmax --output /tmp/t.json                          # dry run, simulator (figures meaningless)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import backends  # after the sys.path insert: this checkout's own package
from backends import OPS, TensorInfo

OURS = "numba:cuda"
THEIRS = "torch:cuda"
REDUCTIONS = ("sum", "max", "mean")
FUSED = ("softmax", "layer_norm")
OVERHEAD_OPS = ("add", "exp", "sum", "softmax")
ELEMENTWISE_RATIO, REDUCTION_RATIO, OVERHEAD_RATIO = 0.90, 0.85, 1.5


def elementwise_ops() -> list[tuple[str, str]]:
    """(op, dtype) of the element-wise group: unary, binary (comparisons included), where, clip.

    Each in float32 where the op takes it, else int32 (bitwise ops), else bool (logical ops),
    as the suite times them.
    """
    out: list[tuple[str, str]] = []
    for op in OPS:
        if OPS[op].group in ("unary", "binary", "selection"):
            dtypes = OPS[op].dtypes
            out.append((op, next(d for d in ("float32", "int32", "bool") if d in dtypes)))
    return out


def _timed(call: Callable[[], Any], sync: Callable[[Any], None], number: int, repeat: int) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls, each batch synchronized."""
    sync(call())  # warm-up: compile, allocate the pool
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = None
        for _ in range(number):
            out = call()
        sync(out)
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


class Run:
    """The measurements so far, written to ``output`` after each one."""

    def __init__(self, output: Path, args: argparse.Namespace) -> None:
        self.output = output
        self.data: dict[str, Any] = {
            "settings": vars(args) | {"output": str(output)},
            "backends": {},
            "copy": {},
            "cells": [],
            "targets": [],
        }

    def save(self) -> None:
        self.output.write_text(json.dumps(self.data, indent=1, default=str))

    def cell(self, **fields: Any) -> None:
        self.data["cells"].append(fields)
        print("  " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()), flush=True)
        self.save()


def _backend(name: str, run: Run) -> Any:
    try:
        be = backends.get(name)
        run.data["backends"][name] = be.describe()
        return be
    except backends.BackendUnavailable as exc:
        run.data["backends"][name] = {"unavailable": str(exc)}
        print(f"{name}: unavailable ({exc})", flush=True)
        return None


def _inputs(
    be: Any, op: str, size: int | tuple[int, ...], dtype: str = "float32"
) -> tuple[list[Any], tuple[Any, ...], dict[str, Any], int]:
    """The op's tensors on ``be``, its other positional and keyword arguments, and the bytes it moves (catalog)."""
    if isinstance(size, tuple):  # an explicit 2-D shape: row-wise ops over its last axis
        rng = np.random.default_rng(30)
        x = rng.uniform(-4, 4, size).astype(dtype)
        tensors = (
            [x]
            if op != "layer_norm"
            else [x, rng.uniform(0.5, 1.5, size[-1]).astype(dtype), rng.uniform(-0.5, 0.5, size[-1]).astype(dtype)]
        )
        params: tuple[Any, ...] = ()
        kwargs: dict[str, Any] = {}
    else:
        from benchmarks.cases import make_case

        case = make_case(op, size, dtype)
        tensors, params, kwargs = list(case.tensors), tuple(case.params), dict(case.kwargs)
    infos = [TensorInfo(t.shape, t.dtype.name) for t in tensors]
    moved = OPS[op].cost(*infos, *params, **kwargs).bytes_moved
    return [be.from_numpy(t) for t in tensors], params, kwargs, moved


def measure_copy(run: Run, ours: Any, theirs: Any, n: int, number: int, repeat: int) -> float:
    """Device-to-device copy bandwidth (bytes read + written per second), the best of numba's and torch's."""
    best = 0.0
    if ours is not None:
        from numba import cuda

        src = cuda.to_device(np.ones(n, np.float32))
        dst = cuda.device_array(n, np.float32)
        t = _timed(lambda: dst.copy_to_device(src) or dst, lambda _o: cuda.synchronize(), number, repeat)
        run.data["copy"]["numba"] = 2 * 4 * n / t
        best = max(best, 2 * 4 * n / t)
    if theirs is not None:
        import torch

        a = torch.ones(n, dtype=torch.float32, device="cuda")
        b = torch.empty_like(a)
        t = _timed(lambda: b.copy_(a), lambda _o: torch.cuda.synchronize(), number, repeat)
        run.data["copy"]["torch"] = 2 * 4 * n / t
        best = max(best, 2 * 4 * n / t)
    run.data["copy"]["best"] = best
    print(f"copy roof: {best / 1e12:.3f} TB/s ({run.data['copy']})", flush=True)
    run.save()
    return best


def throughput(run: Run, be: Any, op: str, size: int | tuple[int, ...], number: int, repeat: int, dtype: str = "float32") -> float | None:
    """Bytes moved per second of ``op`` on ``be`` at ``size``; None where the backend lacks it."""
    if be is None or not be.supports(op):
        return None
    tensors, params, kwargs, moved = _inputs(be, op, size, dtype)
    fn = be.op(op)
    t = _timed(lambda: fn(*tensors, *params, **kwargs), be.synchronize, number, repeat)
    run.cell(backend=be.name, op=op, dtype=dtype, size=str(size), seconds=t, bytes_per_s=moved / t)
    return moved / t


def overhead(run: Run, be: Any, op: str, size: int, repeat: int) -> float | None:
    """Median launch-to-result seconds of one call at ``size`` (call, then synchronize)."""
    if be is None or not be.supports(op):
        return None
    tensors, params, kwargs, _moved = _inputs(be, op, size)
    fn = be.op(op)
    t = _timed(lambda: fn(*tensors, *params, **kwargs), be.synchronize, 1, repeat)
    run.cell(backend=be.name, op=op, size=str(size), launch_to_result_s=t)
    return t


def target(run: Run, what: str, value: float | None, bound: float, better: str) -> None:
    ok = None if value is None else (value >= bound if better == "higher" else value <= bound)
    run.data["targets"].append({"target": what, "value": value, "bound": bound, "better": better, "met": ok})
    verdict = "n/a" if ok is None else ("MET" if ok else "missed")
    shown = "-" if value is None else f"{value:.3f}"
    print(f"TARGET {what}: {shown} ({'>=' if better == 'higher' else '<='} {bound:g}) {verdict}", flush=True)
    run.save()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="JSON file of every measurement and target")
    parser.add_argument("--size", type=int, default=100_000_000, help="elements of the large cells [1e8]")
    parser.add_argument("--square", type=int, default=4096, help="side of the 2-D softmax/layer_norm cells [4096]")
    parser.add_argument("--small", type=int, default=1000, help="elements of the launch-overhead cells [1e3]")
    parser.add_argument("--ops", default="", help="comma list: measure only these ops (default: every target's)")
    parser.add_argument("--number", type=int, default=5, help="calls per timed batch at the large sizes [5]")
    parser.add_argument("--repeat", type=int, default=7, help="timed batches per cell [7]; overhead cells: 30x")
    args = parser.parse_args(argv)
    if args.size < 1 or args.square < 1 or args.small < 1:
        parser.error("--size, --square and --small must be positive")
    only = {o.strip() for o in args.ops.split(",") if o.strip()}
    unknown = only - set(OPS)
    if unknown:
        parser.error(f"--ops: unknown op(s) {', '.join(sorted(unknown))}; see backends.OPS")

    def wanted(op: str) -> bool:
        return not only or op in only

    run = Run(args.output, args)
    run.data["simulated"] = os.environ.get("NUMBA_ENABLE_CUDASIM", "") == "1"
    ours, theirs = _backend(OURS, run), _backend(THEIRS, run)
    if ours is None:
        print(f"{OURS} is unavailable: nothing to measure (see {args.output})", flush=True)
        run.save()
        return 1
    roof = measure_copy(run, ours, theirs, args.size, args.number, args.repeat)

    for op in [o for o in FUSED if wanted(o)]:
        for size in (args.size, (args.square, args.square)):
            mine, torch_bw = (
                throughput(run, ours, op, size, args.number, args.repeat),
                throughput(run, theirs, op, size, args.number, args.repeat),
            )
            target(
                run,
                f"{op} {size}: numba:cuda / torch:cuda throughput",
                None if mine is None or not torch_bw else mine / torch_bw,
                1.0,
                "higher",
            )
    for op in [o for o in REDUCTIONS if wanted(o)]:
        mine = throughput(run, ours, op, args.size, args.number, args.repeat)
        throughput(run, theirs, op, args.size, args.number, args.repeat)
        target(run, f"{op} {args.size}: share of copy bandwidth", None if mine is None else mine / roof, REDUCTION_RATIO, "higher")
    for op in [o for o in OVERHEAD_OPS if wanted(o)]:
        mine, torch_t = overhead(run, ours, op, args.small, 30 * args.repeat), overhead(run, theirs, op, args.small, 30 * args.repeat)
        target(
            run,
            f"{op} {args.small}: launch-to-result vs torch:cuda",
            None if mine is None or not torch_t else mine / torch_t,
            OVERHEAD_RATIO,
            "lower",
        )
    for op, dtype in [(o, d) for o, d in elementwise_ops() if wanted(o)]:
        mine = throughput(run, ours, op, args.size, args.number, args.repeat, dtype)
        if op in ("add", "exp"):  # torch's figures for the comparison (0.94 on add)
            throughput(run, theirs, op, args.size, args.number, args.repeat, dtype)
        target(
            run, f"{op} {dtype} {args.size}: share of copy bandwidth", None if mine is None else mine / roof, ELEMENTWISE_RATIO, "higher"
        )
    met = [t["met"] for t in run.data["targets"]]
    print(f"targets: {met.count(True)} met, {met.count(False)} missed, {met.count(None)} not measured; {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
