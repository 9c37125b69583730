"""Compile every numba:cuda kernel, for every dtype it is called with, to PTX for an sm_90 GPU: no GPU needed.

The simulator runs the kernels as Python, so it cannot see what only the CUDA compiler
rejects (an unsupported math function, a dtype a shared array cannot hold, a type that does
not unify). ``cuda.compile_ptx`` types and compiles each kernel the way a launch on an H100
or H200 would; it needs NVIDIA's NVRTC and NVVM libraries (``pip install nvidia-cuda-nvrtc
nvidia-nvvm``), which the project's environment does not carry (hundreds of MB), so
``test_numba_cuda_backend.py`` runs this only where they are found.

    python tests/backends/numba_cuda_ptx_check.py [--quick]   # prints one line per failure; exit 1 if any
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from numba import cuda, types  # after the sys.path insert: this checkout's backends
from numba.np.numpy_support import from_dtype

from backends import OPS, TensorInfo
from backends._catalog import ops_in_groups
from backends.numba_cuda_backend import _backend, _device, elementwise, fused, reductions

CC = (9, 0)  # H100 and H200
I64 = types.int64


class _Sm90:
    """Stands in for the current device where numba-cuda asks it only for its compute capability.

    A kernel's device functions are compiled for ``get_current_device().compute_capability``,
    which needs a driver; ``compile_ptx`` itself takes the capability as an argument.
    """

    compute_capability = CC


def _without_a_driver() -> None:
    import numba.cuda.dispatcher as dispatcher

    dispatcher.get_current_device = lambda: _Sm90()  # this check's own process only


def arr(dtype: str) -> Any:
    return from_dtype(np.dtype(dtype))[::1]


def scalar(dtype: str) -> Any:
    return from_dtype(np.dtype(dtype))


def _dtypes(op: str) -> list[str]:
    return [d for d in sorted(_backend._DTYPES) if d in OPS[op].dtypes]


def kernels(quick: bool) -> Iterator[tuple[str, Any, tuple[Any, ...]]]:
    """(what, kernel, argument types) of every kernel the backend launches."""
    for op in ops_in_groups("unary"):
        for d in _dtypes(op)[:1] if quick else _dtypes(op):
            out = OPS[op].infer(TensorInfo((4,), d)).dtype
            fn = _device.unary(op, d)
            yield f"{op} {d}", elementwise._flat_kernel(fn, 1), (arr(d), arr(out))
    for op in ops_in_groups("binary"):
        for d in _dtypes(op)[:1] if quick else _dtypes(op):
            out = OPS[op].infer(TensorInfo((4,), d), TensorInfo((4,), d)).dtype
            fn = _device.binary(op, d)
            yield f"{op} {d}", elementwise._flat_kernel(fn, 2), (arr(d), arr(d), arr(out))
            yield (
                f"{op} {d} broadcast",
                elementwise._general_kernel(fn, 2),
                (arr(d), arr(d), arr(out), arr("int64"), arr("int64"), arr("int64")),
            )
    for d in _dtypes("where"):
        sel = elementwise._select()
        yield f"where {d}", elementwise._flat_kernel(sel, 3), (arr("bool"), arr(d), arr(d), arr(d))
        yield f"where {d} broadcast", elementwise._general_kernel(sel, 3), (arr("bool"), arr(d), arr(d), arr(d), *([arr("int64")] * 4))
    for d in _dtypes("clip"):
        yield f"clip {d}", elementwise._flat_kernel(elementwise._clip_fn(d, 0, 10), 1), (arr(d), arr(d))
    for src, d in (("bool", "uint8"), ("float32", "float16"), ("float16", "float32")):
        yield f"cast {src} to {d}", elementwise._flat_kernel(elementwise.cast_fn(d), 1), (arr(src), arr(d))
    for op in ("sum", "prod", "max", "min", "mean", "all", "any"):
        for d in _dtypes(op):
            acc = OPS[op].infer(TensorInfo((4,), d)).dtype
            acc = "float32" if acc == "float16" else acc  # float16 accumulates in float32
            combine = "sum" if op == "mean" else op
            k = reductions._kernel(combine, d, acc)
            yield f"{op} {d}", k, (arr(d), arr(acc), I64, I64, I64, scalar(acc))
            yield f"{op} {d} second pass", reductions._kernel(combine, acc, acc), (arr(acc), arr(acc), I64, I64, I64, scalar(acc))
            if op == "mean":
                yield f"mean {acc} scale", reductions._scale_kernel(acc), (arr(acc), scalar(acc))
    for d in sorted(_backend._DTYPES - {"bool", "float16"}):
        for largest in (True, False):
            k = reductions._arg_kernel(d, largest)
            yield f"arg{'max' if largest else 'min'} {d}", k, (arr(d), arr("int64"), arr(d), arr("int64"), I64, I64, I64, scalar(d))
    for d in ("float32", "float64"):
        stats, combine, softmax_rows = fused._softmax_stats(d)
        yield f"softmax rows {d}", softmax_rows, (arr(d), arr(d), I64, I64)
        yield f"softmax stats {d}", stats, (arr(d), arr(d), arr(d), I64, I64, I64)
        yield f"softmax combine {d}", combine, (arr(d), arr(d), arr(d), arr(d), I64, I64)
        yield f"softmax write {d}", fused._softmax_write(d), (arr(d), arr(d), arr(d), arr(d), I64, I64)
        yield f"logsumexp finish {d}", fused._logsumexp_finish(d), (arr(d), arr(d), arr(d))
        yield f"fill {d}", fused._fill_kernel(d), (arr(d), scalar(d))
        yield f"gelu {d}", elementwise._flat_kernel(fused.gelu_fn(d), 1), (arr(d), arr(d))
        ln_stats, ln_combine, ln_write, ln_rows = fused._ln_kernels(d)
        yield f"layer_norm rows {d}", ln_rows, (arr(d), arr(d), arr(d), arr(d), I64, scalar(d))
        yield f"layer_norm stats {d}", ln_stats, (arr(d), arr(d), arr(d), arr(d), I64, I64)
        yield f"layer_norm combine {d}", ln_combine, (arr(d), arr(d), arr(d), arr(d), arr(d), I64, I64, scalar(d))
        yield f"layer_norm write {d}", ln_write, (arr(d), arr(d), arr(d), arr(d), arr(d), arr(d), I64)
        for relu in (True, False):
            yield f"bias_act {d} relu={relu}", fused._bias_act_kernel(d, relu), (arr(d), arr(d), I64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one dtype per element-wise op")
    args = parser.parse_args(argv)
    _without_a_driver()
    failures = 0
    count = 0
    for what, kernel, sig in kernels(args.quick):
        count += 1
        try:
            cuda.compile_ptx(kernel.py_func, sig, cc=CC)
        except Exception as exc:  # report every kernel, not only the first
            failures += 1
            first = str(exc).strip().splitlines()
            print(f"FAILED {what}: {type(exc).__name__}: {' '.join(first[:6])[:600]}", flush=True)
    print(f"{count - failures} of {count} kernels compile to PTX for sm_{CC[0]}{CC[1]}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
