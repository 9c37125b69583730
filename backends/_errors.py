"""The exception tree shared by every backend.

::

    BackendError                      (Exception)
    ├── BackendUnavailable            (ImportError)   unknown name, missing framework, missing device
    ├── UnsupportedOperation          (NotImplementedError)  the backend does not implement the op
    └── BadInput                      (ValueError)    the op cannot run on these inputs
        ├── ShapeMismatch             (ValueError)    shapes do not broadcast / agree
        ├── AxisOutOfRange            (ValueError, IndexError)
        ├── IndexOutOfRange           (ValueError, IndexError)  take/scatter indices, slices
        ├── UnsupportedDType          (ValueError, TypeError)
        └── NotSquareOrNotDefinite    (ValueError)    cholesky / triangular_solve operands

Each error subclasses the matching builtin, so callers may catch either. ``BadInput``
errors carry the op name, the input shapes and the dtypes, and every backend raises the
same class for the same bad input (the conformance suite checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AxisOutOfRange",
    "BackendError",
    "BackendUnavailable",
    "BadInput",
    "IndexOutOfRange",
    "NotSquareOrNotDefinite",
    "ShapeMismatch",
    "UnsupportedDType",
    "UnsupportedOperation",
]


class BackendError(Exception):
    """Base class of every error raised by tensorscope backends."""


class BackendUnavailable(BackendError, ImportError):
    """The backend name is unknown, its framework is not installed, or its device is absent."""

    def __init__(self, backend: str, reason: str, install_hint: str | None = None) -> None:
        self.backend = backend
        self.reason = reason
        self.install_hint = install_hint
        message = f"backend {backend!r} is not available: {reason}"
        if install_hint:
            message += f"; install it with: {install_hint}"
        super().__init__(message)


class UnsupportedOperation(BackendError, NotImplementedError):
    """The backend does not implement this op (it is never delegated elsewhere)."""

    def __init__(self, backend: str, op: str, reason: str = "") -> None:
        self.backend = backend
        self.op = op
        message = f"backend {backend!r} does not implement op {op!r}"
        if reason:
            message += f": {reason}"
        super().__init__(message)


class BadInput(BackendError, ValueError):
    """The op cannot run on these inputs; names the op, the shapes and the dtypes."""

    def __init__(
        self,
        op: str,
        problem: str,
        shapes: Sequence[tuple[int, ...]] = (),
        dtypes: Sequence[str] = (),
    ) -> None:
        self.op = op
        self.problem = problem
        self.shapes = tuple(tuple(s) for s in shapes)
        self.dtypes = tuple(dtypes)
        detail = ""
        if self.shapes or self.dtypes:
            described = ", ".join(f"{s}:{d}" for s, d in zip(self.shapes, self.dtypes, strict=False)) or ", ".join(map(str, self.shapes))
            detail = f" (inputs: {described})"
        super().__init__(f"{op}: {problem}{detail}")


class ShapeMismatch(BadInput):
    """Input shapes are incompatible (do not broadcast, or do not agree on a dimension)."""


class AxisOutOfRange(BadInput, IndexError):
    """An axis argument is outside ``[-ndim, ndim)`` or repeated."""


class IndexOutOfRange(BadInput, IndexError):
    """An index, slice start or length lies outside the input."""


class UnsupportedDType(BadInput, TypeError):
    """The op is not defined for this dtype, or two inputs' dtypes differ."""


class NotSquareOrNotDefinite(BadInput):
    """A linear-algebra operand is not square, or not positive definite."""
