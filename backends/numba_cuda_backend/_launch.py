"""Device arrays, launch shapes and the simulator switch shared by the kernel modules."""

from __future__ import annotations

import importlib.util
import math
import os
from typing import Any

import numpy as np
from numba import cuda
from numba.core import config

__all__ = ["ALLOC", "BLOCKS", "SIMULATED", "TPB", "block_row", "empty", "flat", "grid", "parts_per_row", "split_axis"]

#: True when numba-cuda runs kernels in its CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
SIMULATED = bool(getattr(config, "ENABLE_CUDASIM", 0))  # set by numba from the environment

# Threads per block (a power of two: the block reductions halve it) and the most blocks an
# element-wise launch uses before threads loop (grid-stride). On a GPU: 256 threads and
# enough blocks to fill every SM many times over. In the simulator each thread is a Python
# thread, so blocks are tiny and few; that also makes the small test shapes cross block and
# grid-stride boundaries, the paths a wrong index breaks.
TPB = 8 if SIMULATED else 256
BLOCKS = 3 if SIMULATED else 132 * 32
# Blocks a reduction spreads one row over (then combined by a second, one-block pass).
_ROW_BLOCKS = 3 if SIMULATED else 1024
_MIN_PER_THREAD = 1 if SIMULATED else 8


def grid(n: int) -> int:
    """Blocks for an element-wise launch over ``n`` elements (grid-stride beyond BLOCKS)."""
    return max(1, min(BLOCKS, math.ceil(n / TPB)))


def parts_per_row(rows: int, n: int) -> int:
    """Blocks per reduced row: one for many rows, up to _ROW_BLOCKS for one long row."""
    want = max(1, math.ceil(n / (TPB * _MIN_PER_THREAD)))
    room = max(1, _ROW_BLOCKS // max(rows, 1))
    return min(want, room)


@cuda.jit(device=True)
def block_row(parts, n, inner):  # a device function: numba types it
    """This block's ``(row, part, base)``: rows of (outer, n, inner) split in ``parts`` blocks each.

    ``base`` is the row's first element; its elements follow ``inner`` apart.
    """
    b = cuda.blockIdx.x
    row = b // parts
    o = row // inner
    return row, b - row * parts, o * n * inner + (row - o * inner)


def split_axis(shape: tuple[int, ...], axis: int | None) -> tuple[int, int, int]:
    """``(outer, n, inner)``: a C-contiguous array of ``shape`` seen as (outer, n, inner) over ``axis``."""
    if axis is None:
        return 1, math.prod(shape), 1
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


#: Where outputs are allocated: "cupy" (CuPy's caching memory pool, wrapped zero-copy as a
#: numba device array) or "numba" (cuMemAlloc per array, freed in batches). Each op allocates
#: its output, and a cuMemAlloc of hundreds of MB can cost as much as the kernel that fills
#: it; a pool hands back a freed block of the same size in microseconds. Default: "cupy" on a
#: GPU where CuPy is installed, else "numba". ``TENSORSCOPE_NUMBA_CUDA_ALLOC`` chooses (the
#: GPU run measures both, scripts/measure_gpu_targets.py).
ALLOC_VARIABLE = "TENSORSCOPE_NUMBA_CUDA_ALLOC"


def _allocator() -> str:
    chosen = os.environ.get(ALLOC_VARIABLE, "").strip().lower()
    if chosen not in ("", "cupy", "numba"):
        raise ValueError(f"{ALLOC_VARIABLE}={chosen!r}: use 'cupy' or 'numba'")
    if SIMULATED:
        return "numba"  # the simulator has no device memory to pool
    if chosen:
        return chosen
    return "cupy" if importlib.util.find_spec("cupy") is not None else "numba"


ALLOC = _allocator()


def empty(shape: tuple[int, ...], dtype: Any) -> Any:
    """An uninitialised device array (from the allocator ALLOC)."""
    dt = np.dtype(dtype)
    if ALLOC == "cupy" and math.prod(shape) > 0:
        import cupy

        # keeps the CuPy array (its owner) alive. sync=False: both libraries launch on the legacy
        # default stream, which orders the work; a sync here would stall every op until the last
        return cuda.as_cuda_array(cupy.empty(shape, dtype=dt), sync=False)
    return cuda.device_array(shape, dtype=dt)


def flat(a: Any) -> Any:
    """A 1-D view of a C-contiguous device array (0-d arrays become one element)."""
    return a.reshape(max(a.size, 1) if a.ndim == 0 else a.size)
