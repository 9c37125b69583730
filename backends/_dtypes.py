"""Dtype names shared by every backend, and the families the op catalog speaks of.

Dtypes are plain lowercase strings (NumPy's names): a backend maps them to its own
types at the ``from_numpy`` boundary and reports them back as these names.
"""

from __future__ import annotations

__all__ = [
    "ALL_DTYPES",
    "BOOL",
    "COMPLEX",
    "FLOAT",
    "INT",
    "ITEMSIZE",
    "NUMERIC",
    "REAL",
    "is_float",
]

FLOAT = frozenset({"float16", "bfloat16", "float32", "float64"})
INT = frozenset({"int8", "int16", "int32", "int64", "uint8"})
BOOL = frozenset({"bool"})
COMPLEX = frozenset({"complex64", "complex128"})
REAL = FLOAT | INT  # ordered numbers
NUMERIC = REAL  # arithmetic ops: no bool, no complex (complex is for fft only)
ALL_DTYPES = FLOAT | INT | BOOL | COMPLEX

ITEMSIZE = {
    "bool": 1,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "complex64": 8,
    "complex128": 16,
}


def is_float(dtype: str) -> bool:
    """True for floating-point dtypes."""
    return dtype in FLOAT
