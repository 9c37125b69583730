"""Time catalog ops on several backends side by side and print speed ratios.

Every op goes through the backend contract (``backends.get(name).op(op)``), on float32
inputs of ``--size`` elements (default 4M) built once per op and converted with each
backend's ``from_numpy``. Before timing, each backend's output is checked against the
first backend's (numpy by default) and the op is warmed up (JIT compiled). Timing
interleaves the backends round by round so that load drift hits all alike, and reports
medians; ratios are ``time(first backend) / time(backend)`` (> 1: faster than it).

Also prints the memory bandwidth of ``add`` (bytes read + written per second) next to a
plain NumPy copy measured in the same run.

    python scripts/measure_backend_speed.py --backends numpy,numba [--groups unary,binary]
        [--ops exp,add] [--size 4194304] [--rounds 15]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import backends
from backends import OPS

DEFAULT_GROUPS = ("unary", "binary", "reduction", "fused")
_POSITIVE = {"sqrt", "rsqrt", "log", "log1p", "pow"}
_UNIT = {"asin", "acos"}
_BOOL_IN = {"logical_and", "logical_or", "logical_xor"}
_INT_IN = {"bitwise_invert", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"}
_SKIP = {"window_sum", "window_max"}  # window ops are 2-D pools, not flat 4M reductions


def _inputs(op: str, size: int, rng: np.random.Generator) -> tuple[list[Any], dict[str, Any]] | None:
    """NumPy inputs (and keyword params) for one call of ``op`` on ``size`` float32 elements."""
    spec = OPS[op]
    if op in _BOOL_IN:
        return [rng.random(size) > 0.5, rng.random(size) > 0.5], {}
    if op in _INT_IN:
        a = rng.integers(0, 1 << 20, size).astype(np.int32)
        b = rng.integers(0, 16, size).astype(np.int32) if "shift" in op else rng.integers(0, 1 << 20, size).astype(np.int32)
        return ([a] if spec.arity == 1 else [a, b]), {}
    x = rng.standard_normal(size).astype(np.float32)
    if op in _POSITIVE:
        x = np.abs(x) + np.float32(0.01)
    if op in _UNIT:
        x = np.tanh(x)
    if op == "isinf":
        x[::1000] = np.inf
    if spec.group in ("unary", "reduction"):
        return [x], {}
    if spec.group == "binary":
        y = rng.standard_normal(size).astype(np.float32)
        if op == "pow":
            y = y * np.float32(2)
        if op in ("divide", "floor_divide", "remainder"):
            y = np.where(np.abs(y) < 0.1, np.float32(1), y).astype(np.float32)
        return [x, y], {}
    if op in ("softmax", "logsumexp"):
        return [x.reshape(-1, 1024)], {}
    if op == "gelu":
        return [x], {}
    if op == "layer_norm":
        n = 1024
        return [x.reshape(-1, n), rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)], {}
    if op in ("dense", "mlp_forward"):
        k = 1024
        rows = max(1, size // k)
        w1 = (rng.standard_normal((k, k)) / 32).astype(np.float32)
        b1 = rng.standard_normal(k).astype(np.float32)
        if op == "dense":
            return [x[: rows * k].reshape(rows, k), w1, b1], {}
        return [x[: rows * k].reshape(rows, k), w1, b1, w1.copy(), b1.copy()], {}
    if op == "matmul":
        n = math.isqrt(size // 2)
        return [rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal((n, n)).astype(np.float32)], {}
    return None


def _close(a: Any, b: Any, op: str) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "biu":
        return bool(np.array_equal(a, b))
    rtol = 1e-3 if op in ("matmul", "dense", "mlp_forward") else 2e-5
    # a float32 running sum's or dot product's rounding depends on the order of additions
    # (BLAS libraries block differently): near-zero entries are judged on the output's scale
    scale = float(np.nanmax(np.abs(b))) if b.size else 0.0
    atol = {"cumulative_sum": 1e-4 * scale, "matmul": 1e-5 * scale, "dense": 1e-5 * scale, "mlp_forward": 1e-5 * scale}.get(op, 1e-5)
    return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True))


def _time(fn: Callable[[], Any], min_time: float) -> float:
    """Seconds per call: repeat until ``min_time`` has passed, at least once."""
    n = 0
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="numpy,numba")
    parser.add_argument("--groups", default=",".join(DEFAULT_GROUPS))
    parser.add_argument("--ops", default="")
    parser.add_argument("--size", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--min-time", type=float, default=0.02)
    args = parser.parse_args()

    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    bes = [backends.get(n) for n in names]
    for be in bes:
        print(f"# {be.name}: {be.describe()}")
    ops = [o for o in args.ops.split(",") if o] or [o for o, s in OPS.items() if s.group in args.groups.split(",") and o not in _SKIP]
    rng = np.random.default_rng(0)
    ratios: dict[str, list[float]] = {n: [] for n in names[1:]}
    print(f"\n{'op':22s}" + "".join(f"{n + ' ms':>14s}" for n in names) + "".join(f"{n + '/' + names[0]:>16s}" for n in names[1:]))
    for op in ops:
        made = _inputs(op, args.size, rng)
        if made is None:
            continue
        np_args, kwargs = made
        calls: list[Callable[[], Any] | None] = []
        ref = None
        for be in bes:
            if not be.supports(op):
                calls.append(None)
                continue
            targs = [be.from_numpy(a) for a in np_args]
            fn = be.op(op)
            out = fn(*targs, **kwargs)
            be.synchronize(*(out if isinstance(out, tuple) else (out,)))
            got = be.to_numpy(out) if not isinstance(out, tuple) else tuple(be.to_numpy(o) for o in out)
            if ref is None:
                ref = got
            elif not _close(got, ref, op):
                print(f"{op:22s}  {be.name}: output differs from {names[0]}; not timed")
                calls.append(None)
                continue
            be.warmup(fn, *targs, **kwargs)

            def call(be: Any = be, fn: Any = fn, targs: Any = targs, kwargs: Any = kwargs) -> None:
                res = fn(*targs, **kwargs)
                be.synchronize(*(res if isinstance(res, tuple) else (res,)))

            calls.append(call)
        samples: list[list[float]] = [[] for _ in bes]
        for _ in range(args.rounds):
            for i, call in enumerate(calls):
                if call is not None:
                    samples[i].append(_time(call, args.min_time))
        med = [statistics.median(s) if s else math.nan for s in samples]
        row = f"{op:22s}" + "".join(f"{m * 1e3:14.3f}" for m in med)
        for n, m in zip(names[1:], med[1:], strict=True):
            r = med[0] / m if m == m and med[0] == med[0] else math.nan
            row += f"{r:16.2f}"
            if r == r:
                ratios[n].append(r)
        print(row, flush=True)
    for n, rs in ratios.items():
        if rs:
            gm = math.exp(sum(math.log(r) for r in rs) / len(rs))
            print(f"\ngeometric mean {n}/{names[0]} over {len(rs)} ops: {gm:.2f}x (min {min(rs):.2f}x)")
    _bandwidth(bes, args.size, args.rounds, args.min_time)


def _bandwidth(bes: list[Any], size: int, rounds: int, min_time: float) -> None:
    """GB/s of add (read 2, write 1) per backend vs a plain NumPy copy (read 1, write 1)."""
    x = np.random.default_rng(1).standard_normal(size).astype(np.float32)
    dst = np.empty_like(x)
    adds = []
    for be in bes:
        if be.supports("add"):
            a, b = be.from_numpy(x), be.from_numpy(x)
            fn = be.op("add")
            be.warmup(fn, a, b)
            adds.append((be, fn, a, b))
    copy_t: list[float] = []
    add_t: dict[str, list[float]] = {be.name: [] for be, *_ in adds}
    for _ in range(rounds):
        copy_t.append(_time(lambda: np.copyto(dst, x), min_time))
        for be, fn, a, b in adds:
            add_t[be.name].append(_time(lambda be=be, fn=fn, a=a, b=b: be.synchronize(fn(a, b)), min_time))
    nbytes = x.nbytes
    copy_bw = 2 * nbytes / statistics.median(copy_t) / 1e9
    print(f"\nnumpy copy: {copy_bw:.1f} GB/s (read + write)")
    for name, ts in add_t.items():
        bw = 3 * nbytes / statistics.median(ts) / 1e9
        print(f"{name} add:  {bw:.1f} GB/s (read 2 + write 1) = {100 * bw / copy_bw:.0f}% of numpy copy")


if __name__ == "__main__":
    main()
