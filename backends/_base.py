"""The Backend contract: what every tensor backend provides.

A backend implements catalog ops as methods named after them (``def add(self, x, y)``).
When a subclass is created, ``__init_subclass__`` turns each such method into the public
op: by default it validates the inputs against the catalog first (so bad input raises
the same :class:`~backends.BadInput` subclass on every backend, and nothing half
computed is returned), then calls the implementation. Ops the class does not define
become stubs that raise :class:`~backends.UnsupportedOperation`.

A backend whose native library already rejects every bad input (NumPy, say) may mark a
hot method with :func:`native_checked`: it is then called directly, with no Python
wrapper in between, and must itself turn native exceptions into the catalog's errors
(``self.bad_input(...)`` does that).

Tensor arguments come first in every op's signature; ``concat`` and ``stack`` take one
sequence of tensors. Op parameters are keyword-or-positional as in the catalog.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from ._catalog import OPS, OpSpec, TensorInfo
from ._errors import BackendError, BadInput, UnsupportedOperation

__all__ = ["Backend", "native_checked"]

_NATIVE_CHECKED = "__tensorscope_native_checked__"


def native_checked(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an op method as validating its own input (installed without a wrapper)."""
    setattr(method, _NATIVE_CHECKED, True)
    return method


def _validated(spec: OpSpec, impl: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``impl`` so the catalog validates shapes, dtypes and params before it runs."""
    arity = spec.arity

    if arity == -1:

        @functools.wraps(impl)
        def sequence_op(self: Backend, tensors: Any, *args: Any, **kwargs: Any) -> Any:
            tensors = list(tensors)
            spec.infer([self.info(t) for t in tensors], *args, **kwargs)
            return impl(self, tensors, *args, **kwargs)

        return sequence_op

    @functools.wraps(impl)
    def op(self: Backend, *args: Any, **kwargs: Any) -> Any:
        if len(args) < arity:
            raise TypeError(f"{spec.name}() takes {arity} tensor argument(s), got {len(args)}")
        infos = [self.info(t) for t in args[:arity]]
        spec.infer(*infos, *args[arity:], **kwargs)
        return impl(self, *args, **kwargs)

    return op


def _unsupported(name: str) -> Callable[..., Any]:
    def op(self: Backend, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedOperation(self.name, name)

    op.__name__ = name
    op.__doc__ = f"Not implemented by this backend: raises UnsupportedOperation. {OPS[name].doc}"
    op.__tensorscope_unsupported__ = True  # type: ignore[attr-defined]  # marker read by __init_subclass__
    return op


class Backend:
    """Base class of every tensor backend.

    Subclasses set ``name`` and implement ``from_numpy``, ``to_numpy``, ``info`` and
    any catalog ops. ``backends.get`` sets each instance's ``name`` to the full registry
    name (``"torch:cuda"``) and ``device`` to its device (``"cpu"``, ``"cuda"``, ``"gpu"``).
    """

    name: str = "abstract"
    device: str = "cpu"
    #: names of the catalog ops this class implements (filled in by __init_subclass__)
    implemented_ops: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        implemented = set()
        for op_name, spec in OPS.items():
            own = cls.__dict__.get(op_name)
            if own is not None:
                if getattr(own, "__tensorscope_unsupported__", False):
                    continue
                implemented.add(op_name)
                if not getattr(own, _NATIVE_CHECKED, False):
                    setattr(cls, op_name, _validated(spec, own))
                continue
            inherited = getattr(cls, op_name, None)
            if inherited is not None and not getattr(inherited, "__tensorscope_unsupported__", False):
                implemented.add(op_name)  # already wrapped in a parent class
            else:
                setattr(cls, op_name, _unsupported(op_name))
        cls.implemented_ops = frozenset(implemented)

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # -- data boundary -------------------------------------------------------------
    def from_numpy(self, array: Any) -> Any:
        """Convert a NumPy array into this backend's tensor (on its device)."""
        raise NotImplementedError

    def to_numpy(self, tensor: Any) -> Any:
        """Convert this backend's tensor into a NumPy array (host memory)."""
        raise NotImplementedError

    def info(self, tensor: Any) -> TensorInfo:
        """Shape and dtype name of a tensor of this backend."""
        raise NotImplementedError

    # -- ops --------------------------------------------------------------------------
    def supports(self, op: str) -> bool:
        """True when this backend implements ``op`` natively."""
        return op in self.implemented_ops

    def op(self, name: str) -> Callable[..., Any]:
        """The callable for op ``name``; UnsupportedOperation if not implemented."""
        if name not in OPS:
            raise KeyError(f"unknown op {name!r}; see backends.OPS for the catalog")
        if not self.supports(name):
            raise UnsupportedOperation(self.name, name)
        fn: Callable[..., Any] = getattr(self, name)
        return fn

    def describe(self) -> dict[str, str]:
        """What actually runs: library versions, device, SIMD path, threads (for provenance).

        Backends extend this dict; keys are short snake_case names, values strings.
        """
        return {"backend": self.name, "device": self.device}

    # -- timing support ---------------------------------------------------------------
    def synchronize(self, *tensors: Any) -> None:
        """Block until the given tensors (and queued work) are computed. No-op if synchronous."""

    def warmup(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn`` once outside any timing so JIT backends compile, then synchronize."""
        out = fn(*args, **kwargs)
        self.synchronize(*(out if isinstance(out, tuple) else (out,)))

    # -- helpers for implementations ---------------------------------------------------
    def bad_input(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any], cause: BaseException) -> BackendError:
        """The catalog's error for a call whose native implementation raised ``cause``.

        Re-runs the catalog's validation on the arguments; if it finds the problem, that
        error is returned (raise it ``from cause``). Otherwise a generic ``BadInput``.
        """
        if isinstance(cause, BackendError):
            return cause
        spec = OPS[op]
        try:
            if spec.arity == -1:
                spec.infer([self.info(t) for t in args[0]], *args[1:], **kwargs)
            else:
                infos = [self.info(t) for t in args[: spec.arity]]
                spec.infer(*infos, *args[spec.arity :], **kwargs)
        except BackendError as err:
            return err
        except TypeError as err:  # wrong call signature: report as such
            return BadInput(op, f"invalid arguments: {err}")
        return BadInput(op, f"{type(cause).__name__}: {cause}")
