"""tensorscope's own GPU backend (``numba:cuda``): CUDA kernels written with numba-cuda.

Modules: ``_launch`` (device arrays, launch shapes, the simulator switch), ``_device``
(per-element device functions: the integer and special-value semantics are the numba
backend's own scalar functions from ``backends.numba_backend._scalar``, the float
transcendentals are CUDA's libdevice through ``math``), then one module per op group:
``elementwise``, ``reductions``, ``fused``. ``NumbaCudaBackend`` (in ``_backend``) maps
the catalog ops onto them.

Without a GPU every kernel runs unchanged in numba-cuda's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, set before numba is imported), which is how the tests run
it on a CPU; the simulator is for correctness only, never for timing.
"""

from __future__ import annotations

from ._backend import NumbaCudaBackend

__all__ = ["NumbaCudaBackend"]
