"""How the numba backend compiles its kernels: serial and parallel twins, lazily, cached on disk.

Every kernel is written once as a plain Python function using ``prange``. :func:`kernel`
compiles it twice, lazily (nothing compiles until a call, and then only for the argument
types actually seen, so one compile per dtype signature):

* ``serial``: ``prange`` acts as ``range``; used below the kernel's size threshold, where
  waking the thread pool (a few microseconds) would cost more than it saves;
* ``parallel``: ``parallel=True``; ``prange`` splits the loop over Numba's threads.

Both are ``cache=True`` under different qualified names, so their on-disk cache entries
never mix, and a second process loads machine code instead of compiling. ``fastmath`` is
limited to ``contract`` (fused multiply-add) and, for reductions, ``reassoc`` (lets LLVM
split a sum over vector lanes); never ``nnan``/``ninf``, so NaN and inf keep IEEE semantics.
``error_model="numpy"``: division by zero gives inf/NaN as in NumPy instead of raising.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from . import _config  # noqa: F401  # must run before numba is imported

import numba  # noqa: E402  # after _config on purpose
from numba.core import config as _nbconfig  # noqa: E402

__all__ = ["CACHE", "FM", "FM_REDUCE", "Kernel", "jit", "kernel"]

FM = frozenset({"contract"})
FM_REDUCE = frozenset({"contract", "reassoc"})


def _cache_ok() -> bool:
    """True when this build's cache key cannot collide with the other build's (see _config)."""
    cpu = (_nbconfig.CPU_NAME or "").lower()
    loop, slp = int(_nbconfig.LOOP_VECTORIZE), int(_nbconfig.SLP_VECTORIZE)
    if cpu == "generic":
        return not _nbconfig.CPU_FEATURES and loop == 0 and slp == 0
    return loop == 1 and slp == 0


CACHE: bool = _cache_ok()


def jit(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit`` with the backend's defaults (cache, contract-only fastmath)."""
    options.setdefault("cache", CACHE)
    options.setdefault("fastmath", set(FM))
    options.setdefault("error_model", "numpy")
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


def _clone(fn: Callable[..., Any], suffix: str, globals_: dict[str, Any] | None = None) -> Callable[..., Any]:
    """A copy of ``fn`` with its own qualified name (hence its own cache file) and globals."""
    g = fn.__globals__ if globals_ is None else globals_
    new = types.FunctionType(fn.__code__, g, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    new.__qualname__ = fn.__qualname__ + suffix
    new.__module__ = fn.__module__
    return new


class Kernel:
    """A kernel compiled serial below ``threshold`` elements of work and parallel above."""

    __slots__ = ("_par", "_ser", "name", "threshold")

    def __init__(self, fn: Callable[..., Any], threshold: int, fastmath: frozenset[str], suffix: str = "", globals_: dict[str, Any] | None = None) -> None:
        self.name = fn.__name__ + suffix
        self.threshold = threshold
        opts: dict[str, Any] = {"cache": CACHE, "fastmath": set(fastmath), "error_model": "numpy"}
        self._ser = numba.njit(**opts)(_clone(fn, suffix + "__ser", globals_))
        self._par = numba.njit(parallel=True, **opts)(_clone(fn, suffix + "__par", globals_))

    def __call__(self, work: int, *args: Any) -> Any:
        """Run on ``args``; ``work`` (elements touched) picks the serial or parallel twin."""
        if work >= self.threshold and numba.get_num_threads() > 1:
            return self._par(*args)
        return self._ser(*args)

    @property
    def serial(self) -> Any:
        return self._ser

    @property
    def parallel(self) -> Any:
        return self._par


# Thresholds in elements of work: below them the thread pool costs more than it saves.
CHEAP = 1 << 16  # a load, one arithmetic op, a store
COSTLY = 1 << 13  # polynomial transcendentals, divisions


def kernel(threshold: int = CHEAP, fastmath: frozenset[str] = FM) -> Callable[[Callable[..., Any]], Kernel]:
    """Decorator: compile ``fn`` as a serial/parallel :class:`Kernel` pair."""

    def wrap(fn: Callable[..., Any]) -> Kernel:
        return Kernel(fn, threshold, fastmath)

    return wrap


def specialise(fn: Callable[..., Any], name: str, threshold: int, fastmath: frozenset[str] = FM, **bindings: Any) -> Kernel:
    """A :class:`Kernel` of template ``fn`` with some globals rebound (one per op).

    ``fn`` refers to, say, ``_op``; each op gets a copy whose ``_op`` is its own scalar
    function, and its own qualified name (``<fn>_<name>``) so cache entries stay apart.
    """
    g = dict(fn.__globals__)
    g.update(bindings)
    return Kernel(fn, threshold, fastmath, suffix="_" + name, globals_=g)
