"""The ``numba`` backend: tensorscope's own SIMD kernels, compiled with Numba.

Modules: ``_config`` (the ``TENSORSCOPE_NUMBA_SIMD`` switch, applied before Numba is
imported), ``_jit`` (serial/parallel kernel pairs, cached on disk), ``_math``
(vectorizable transcendentals and their accuracy), ``_scalar`` (per-element functions by
dtype), then one module per op group: ``elementwise``, ``reductions``, ``shape``,
``linalg``, ``ordering``, ``fft``, ``fused``. ``NumbaBackend`` (in ``_backend``) maps the
catalog ops onto them.
"""

from __future__ import annotations

from . import _config  # noqa: F401  # first: sets Numba's environment before numba is imported
from ._backend import NumbaBackend

__all__ = ["NumbaBackend"]
