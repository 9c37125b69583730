"""PyTensor (flat Python list + shape + dtype) and the helpers every op module shares.

Values are plain Python objects of the dtype's kind: ``bool`` for bool, ``int`` for
the integer dtypes (always inside the dtype's range), ``float`` for the float dtypes
(always exactly representable in the dtype: a float32 value is a float32 number held
in a double) and ``complex`` for complex64/complex128. Ops compute in Python's double
precision (or unbounded ints) and :func:`fit` rounds or wraps the result back into the
dtype, which gives NumPy's results for the integer dtypes and correctly rounded
arithmetic for the float ones.

Tensors are never mutated after construction, so shape ops may share a data list.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from .._dtypes import BOOL, COMPLEX, FLOAT, INT
from .._errors import UnsupportedDType

__all__ = [
    "INT_RANGE",
    "SUPPORTED_DTYPES",
    "PyTensor",
    "broadcast_list",
    "cast",
    "fit",
    "from_last",
    "gather",
    "has_nan",
    "lanes",
    "strides_of",
    "to_last",
]

#: dtypes this backend stores (bfloat16 has no exact Python or NumPy counterpart here)
SUPPORTED_DTYPES = frozenset(FLOAT | INT | BOOL | COMPLEX) - {"bfloat16"}

INT_RANGE = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 255),
}


class PyTensor:
    """A tensor of the python backend: ``data`` is flat and row-major; treat it as read-only."""

    __slots__ = ("data", "dtype", "shape")

    def __init__(self, data: list[Any], shape: tuple[int, ...], dtype: str) -> None:
        self.data = data
        self.shape = shape
        self.dtype = dtype

    @classmethod
    def from_values(cls, values: Iterable[Any], shape: Sequence[int], dtype: str) -> PyTensor:
        """A tensor from flat row-major values, rounded or wrapped into ``dtype``."""
        if dtype not in SUPPORTED_DTYPES:
            raise UnsupportedDType("python", f"dtype {dtype!r} is not supported by the python backend")
        shape = tuple(int(d) for d in shape)
        data = list(values)
        if len(data) != math.prod(shape):
            raise ValueError(f"{len(data)} values do not fill shape {shape}")
        kind = "b" if dtype in BOOL else "i" if dtype in INT else "c" if dtype in COMPLEX else "f"
        converter = {"b": bool, "i": int, "c": complex, "f": float}[kind]
        return cls(fit(dtype, list(map(converter, data))), shape, dtype)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        preview = ", ".join(map(repr, self.data[:6])) + (", ..." if len(self.data) > 6 else "")
        return f"PyTensor([{preview}], shape={self.shape}, dtype={self.dtype!r})"


# ---------------------------------------------------------------------------
# fitting values into a dtype


def _f16(value: float) -> float:
    try:
        result: float = struct.unpack("e", struct.pack("e", value))[0]
    except OverflowError:  # struct refuses what IEEE rounds to infinity
        return math.copysign(math.inf, value)
    return result


def _fit_float16(values: list[Any]) -> list[Any]:
    n = len(values)
    try:
        return list(struct.unpack(f"{n}e", struct.pack(f"{n}e", *values)))
    except OverflowError:
        return [_f16(v) for v in values]


def _fit_complex64(values: list[Any]) -> list[Any]:
    real = array("f", [v.real for v in values]).tolist()
    imag = array("f", [v.imag for v in values]).tolist()
    return list(map(complex, real, imag))


def _wrap(dtype: str, values: list[Any]) -> list[Any]:
    lo, hi = INT_RANGE[dtype]
    if not values or (lo <= min(values) and max(values) <= hi):
        return values
    if lo == 0:
        return [v & hi for v in values]
    half = -lo
    mask = 2 * half - 1
    return [((v + half) & mask) - half for v in values]


def fit(dtype: str, values: list[Any]) -> list[Any]:
    """Round (floats) or wrap (ints, as NumPy does) exact results into ``dtype``."""
    if dtype in ("float64", "complex128", "bool"):
        return values
    if dtype == "float32":
        # array('f') rounds each double to the nearest float32 (overflow gives inf) in C
        return array("f", values).tolist()
    if dtype in INT_RANGE:
        return _wrap(dtype, values)
    if dtype == "float16":
        return _fit_float16(values)
    if dtype == "complex64":
        return _fit_complex64(values)
    raise UnsupportedDType("python", f"dtype {dtype!r} is not supported by the python backend")


def _float_to_int(values: list[float], dtype: str) -> list[int]:
    """Truncate floats to ints the way NumPy's C casts do on x86.

    The conversion goes through int64 (for int64) or int32 (for the narrower dtypes,
    whose bits are then cut off by :func:`_wrap`); NaN, inf and out-of-range values give
    that intermediate type's minimum, the "integer indefinite" value of ``cvttsd2si``.
    """
    lo, hi = INT_RANGE["int64" if dtype == "int64" else "int32"]
    try:
        ints = list(map(int, values))
    except (ValueError, OverflowError):  # NaN or inf present
        ints = [int(v) if math.isfinite(v) else lo for v in values]
    if ints and (min(ints) < lo or max(ints) > hi):
        ints = [v if lo <= v <= hi else lo for v in ints]
    return ints


def cast(values: list[Any], src: str, dst: str) -> list[Any]:
    """Convert values of dtype ``src`` to ``dst`` with NumPy's (C) casting rules."""
    if src == dst and dst not in INT_RANGE:
        return values
    if dst == "bool":
        return [v != 0 for v in values]
    if dst in INT:
        return _wrap(dst, _float_to_int(values, dst) if src in FLOAT else list(map(int, values)))
    if dst in COMPLEX:
        return fit(dst, list(map(complex, values)))
    return fit(dst, list(map(float, values)))


def has_nan(values: Sequence[Any]) -> bool:
    """True when a float sequence holds a NaN (a C-speed sum screens the common case)."""
    total = sum(values, 0.0)
    return total != total and any(map(math.isnan, values))


# ---------------------------------------------------------------------------
# layout: strides, strided gathers, broadcasting, lanes along an axis


def strides_of(shape: Sequence[int]) -> list[int]:
    """Row-major element strides of ``shape``."""
    out = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        out[i] = out[i + 1] * shape[i + 1]
    return out


def _bases(offset: int, dims: Sequence[tuple[int, int]]) -> list[int]:
    bases = [offset]
    for d, s in dims:
        steps = [k * s for k in range(d)]
        bases = [b + t for b in bases for t in steps]
    return bases


def gather(data: list[Any], offset: int, shape: Sequence[int], strides: Sequence[int]) -> list[Any]:
    """The row-major elements of the strided view (offset, shape, strides) of ``data``.

    Strides may be negative (flip) or zero (broadcast). The innermost axis is copied
    with one slice per row, so the Python-level loop runs over rows, not elements.
    """
    if 0 in shape:
        return []
    merged: list[tuple[int, int]] = []
    for d, s in zip(shape, strides, strict=True):
        if d == 1:
            continue
        if merged and merged[-1][1] == s * d:  # contiguous with the outer axis: one axis
            merged[-1] = (merged[-1][0] * d, s)
        else:
            merged.append((d, s))
    if not merged:
        return [data[offset]]
    bases = _bases(offset, merged[:-1])
    d, s = merged[-1]
    if s == 0:
        return [data[b] for b in bases for _ in range(d)]
    if s > 0:
        span = (d - 1) * s + 1
        if len(bases) == 1 and s == 1:
            return data[offset : offset + d]
        return list(chain.from_iterable(data[b : b + span : s] for b in bases))
    last = (d - 1) * s  # negative
    return list(chain.from_iterable(data[b : (b + last - 1 if b + last >= 1 else None) : s] for b in bases))


def broadcast_list(data: list[Any], shape: Sequence[int], out_shape: Sequence[int]) -> list[Any]:
    """``data`` (of ``shape``) broadcast to ``out_shape`` as a flat list."""
    shape = tuple(shape)
    out_shape = tuple(out_shape)
    if shape == out_shape:
        return data
    size = math.prod(out_shape)
    if len(data) == 1:
        return data * size
    pad = len(out_shape) - len(shape)
    full = (1,) * pad + shape
    strides = [0 if d == 1 else s for d, s in zip(full, [0] * pad + strides_of(shape), strict=True)]
    return gather(data, 0, out_shape, strides)


def to_last(x: PyTensor, axis: int) -> tuple[list[Any], tuple[int, ...]]:
    """Data and shape of ``x`` with ``axis`` moved to the end (no copy when it is already there)."""
    if axis == x.ndim - 1:
        return x.data, x.shape
    order = [a for a in range(x.ndim) if a != axis] + [axis]
    st = strides_of(x.shape)
    shape = tuple(x.shape[a] for a in order)
    return gather(x.data, 0, shape, [st[a] for a in order]), shape


def from_last(data: list[Any], shape_last: tuple[int, ...], axis: int) -> list[Any]:
    """Inverse of :func:`to_last`: data laid out with its last axis moved back to ``axis``."""
    ndim = len(shape_last)
    if axis == ndim - 1:
        return data
    st = strides_of(shape_last)
    # output axis a reads input axis: a<axis -> a, a==axis -> last, a>axis -> a-1
    src = [*range(axis), ndim - 1, *range(axis, ndim - 1)]
    return gather(data, 0, [shape_last[s] for s in src], [st[s] for s in src])


def lanes(x: PyTensor, axis: int) -> list[list[Any]]:
    """The 1-D runs of ``x`` along ``axis``, in row-major order of the other axes."""
    data, shape = to_last(x, axis)
    n = shape[-1]
    if n == 0:
        return [[] for _ in range(math.prod(shape[:-1]))]
    return [data[i : i + n] for i in range(0, len(data), n)]
