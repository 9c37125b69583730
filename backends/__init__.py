"""tensorscope backends: one op catalog, many tensor backends, one conformance suite.

>>> import backends
>>> backends.available()            # imports no framework
['python', 'numpy', ...]
>>> np_ = backends.get("numpy")
>>> x = np_.from_numpy(numpy.arange(4.0))
>>> np_.to_numpy(np_.add(x, x))
array([0., 2., 4., 6.])
>>> backends.benchmark_cost("matmul", 128, "float32").flops   # the suite's input at size 128
4194304
"""

from __future__ import annotations

from ._base import Backend, native_checked
from ._catalog import GROUPS, OPS, BenchInputs, Cost, OpSpec, TensorInfo, benchmark_cost, benchmark_inputs, ops_in_groups
from ._errors import (
    AxisOutOfRange,
    BackendError,
    BackendUnavailable,
    BadInput,
    IndexOutOfRange,
    NotSquareOrNotDefinite,
    ShapeMismatch,
    UnsupportedDType,
    UnsupportedOperation,
)
from ._registry import ENTRY_POINT_GROUP, available, get, known, register

__all__ = [
    "ENTRY_POINT_GROUP",
    "GROUPS",
    "OPS",
    "AxisOutOfRange",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "BadInput",
    "BenchInputs",
    "Cost",
    "IndexOutOfRange",
    "NotSquareOrNotDefinite",
    "OpSpec",
    "ShapeMismatch",
    "TensorInfo",
    "UnsupportedDType",
    "UnsupportedOperation",
    "available",
    "benchmark_cost",
    "benchmark_inputs",
    "get",
    "known",
    "native_checked",
    "ops_in_groups",
    "register",
]
