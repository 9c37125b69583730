"""Creation ops: arange, full, eye."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._catalog import OPS
from .._errors import UnsupportedDType
from ._tensor import SUPPORTED_DTYPES, PyTensor, cast, fit

__all__ = ["arange", "eye", "full"]


def _check(op: str, dtype: str) -> None:
    if dtype not in SUPPORTED_DTYPES:
        raise UnsupportedDType(op, f"the python backend has no {dtype}")


def arange(start: float, stop: float | None, step: float, dtype: str | None) -> PyTensor:
    """Evenly spaced values, filled the way NumPy does.

    NumPy casts the first two values (start, start + step) into the dtype and fills
    the rest as ``first + i * (second - first)`` in the dtype's arithmetic; with float
    arguments and an integer dtype that spacing differs from ``step``.
    """
    out = OPS["arange"].infer(start, stop, step, dtype=dtype)
    _check("arange", out.dtype)
    if stop is None:
        start = 0
    (n,) = out.shape
    src = "int64" if isinstance(start, int) and isinstance(step, int) else "float64"
    first, second = cast([start, start + step], src, out.dtype)
    delta = fit(out.dtype, [second - first])[0]
    steps = fit(out.dtype, [i * delta for i in range(n)])
    return PyTensor(fit(out.dtype, [first + s for s in steps]), out.shape, out.dtype)


def full(shape: Sequence[int] | int, fill_value: float, dtype: str | None) -> PyTensor:
    """A tensor of ``shape`` filled with ``fill_value`` cast into the dtype."""
    out = OPS["full"].infer(shape, fill_value, dtype=dtype)
    _check("full", out.dtype)
    if out.dtype == "bool":
        value: object = bool(fill_value)
    else:
        (value,) = cast([fill_value], "int64" if isinstance(fill_value, int) else "float64", out.dtype)
    return PyTensor([value] * math.prod(out.shape), out.shape, out.dtype)


def eye(n_rows: int, n_cols: int | None, k: int, dtype: str) -> PyTensor:
    """Ones on diagonal ``k``, zeros elsewhere."""
    out = OPS["eye"].infer(n_rows, n_cols, k=k, dtype=dtype)
    _check("eye", out.dtype)
    rows, cols = out.shape
    (zero, one) = cast([0, 1], "int64", out.dtype)
    data = [zero] * (rows * cols)
    for i in range(max(0, -k), min(rows, cols - k)):
        data[i * cols + i + k] = one
    return PyTensor(data, out.shape, out.dtype)
