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

import hashlib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

# isort: off
from . import _config  # noqa: F401  # must run before numba is imported: it sets Numba's environment
import numba
from numba.core import caching as _caching
from numba.core import config as _nbconfig

# isort: on

__all__ = ["CACHE", "FM", "FM_REDUCE", "Kernel", "jit", "kernel"]


def _cfg(name: str) -> Any:
    """A value of Numba's runtime config (attributes set dynamically, unknown to mypy)."""
    return getattr(_nbconfig, name)


FM = frozenset({"contract"})
FM_REDUCE = frozenset({"contract", "reassoc"})


def _cache_ok() -> bool:
    """True when this build's cache key cannot collide with the other build's (see _config)."""
    cpu = (_cfg("CPU_NAME") or "").lower()
    loop, slp = int(_cfg("LOOP_VECTORIZE")), int(_cfg("SLP_VECTORIZE"))
    if cpu == "generic":
        return not _cfg("CPU_FEATURES") and loop == 0 and slp == 0
    return loop == 1 and slp == 0


CACHE: bool = _cache_ok()

# Numba decides a cache entry is fresh from the mtime and size of the file that defines the
# kernel, so a kernel in elementwise.py would keep running stale code after an edit of the
# _math.py it inlines. For files of this package, the freshness stamp is instead a hash of
# every module of the package: any change to any of them recompiles every kernel once.
_PKG_DIR = Path(__file__).resolve().parent
_PKG_STAMP = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(_PKG_DIR.glob("*.py")))).hexdigest()


class _PackageStamp:
    """Locator mixin: whole-package source hash as the stamp, only for this package's files."""

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if Path(py_file).resolve().parent != _PKG_DIR:
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]  # the numba locator base

    def get_source_stamp(self) -> str:
        return _PKG_STAMP


def _install_locators() -> None:
    classes = _caching.CacheImpl._locator_classes
    if any(getattr(c, "_tensorscope", False) for c in classes):
        return
    ours: list[Any] = [
        type(f"Tensorscope{base.__name__}", (_PackageStamp, base), {"_tensorscope": True})
        for base in (_caching.UserProvidedCacheLocator, _caching.InTreeCacheLocator, _caching.UserWideCacheLocator)
    ]
    classes[:0] = ours


_install_locators()


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

    __slots__ = ("_fastmath", "_par", "_ser", "name", "threshold")

    def __init__(
        self, fn: Callable[..., Any], threshold: int, fastmath: frozenset[str], suffix: str = "", globals_: dict[str, Any] | None = None
    ) -> None:
        self.name = fn.__name__ + suffix
        self.threshold = threshold
        self._fastmath = fastmath
        opts: dict[str, Any] = {"cache": CACHE, "fastmath": set(fastmath), "error_model": "numpy"}
        self._ser = numba.njit(**opts)(_clone(fn, suffix + "__ser", globals_))
        self._par = numba.njit(parallel=True, **opts)(_clone(fn, suffix + "__par", globals_))

    def __call__(self, work: int, *args: Any) -> Any:
        """Run on ``args``; ``work`` (elements touched) picks the serial or parallel twin."""
        if work >= self.threshold and numba.get_num_threads() > 1:
            return self._par(*args)
        return self._ser(*args)

    def inspect_asm(self, *args: Any, parallel: bool = False) -> str:
        """Assembly of this kernel for ``args``' types, from a fresh uncached compile.

        (A dispatcher loaded from the on-disk cache holds machine code but no assembly text.)
        """
        src = (self._par if parallel else self._ser).py_func
        fresh = numba.njit(cache=False, fastmath=set(self._fastmath), error_model="numpy", parallel=parallel)(src)
        fresh.compile(tuple(numba.typeof(a) for a in args))
        return str(fresh.inspect_asm(fresh.signatures[0]))

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
