"""JAX backend (``jax:cpu``, ``jax:gpu``): every catalog op as a cached ``jax.jit`` executable.

Coverage: all 96 catalog ops. Each op is one jitted kernel (``_kernels.py``), built once
at import; params that change shapes (axis, keepdims, shape, window, k, ...) are static,
so jax keeps one compiled executable per (shapes, dtypes, params). The fused workloads
(softmax, gelu, layer_norm, logsumexp, dense, mlp_forward) are single kernels, so XLA
fuses their element-wise chains. Creation ops (arange, full, eye) run eagerly.

Timing: the first call with new shapes compiles; ``backend.warmup(fn, *args)`` makes that
call outside the timing. ``backend.compile_seconds(op, *args, **params)`` times tracing,
lowering and compiling one op for those arguments on a fresh ``jax.jit`` (jax's caches
cannot hide it, and the executables used by timed calls are left alone); the asv suite
can report it as a ``track_`` figure. ``synchronize`` calls ``block_until_ready``.

Constructing the backend enables ``jax_enable_x64`` process-wide, so float64 and int64
tensors stay 64-bit. float32 matmul/conv/dense run at ``Precision.HIGHEST`` (no TF32 on
GPUs), matching NumPy's and torch's default numerics.

Where the catalog asks for more than the plain jax call (all inside the same kernel):

* ``take``/``scatter_add`` compute an out-of-range flag beside the result; the backend
  reads it (one scalar, i.e. it waits for the result) and raises IndexOutOfRange;
* ``cholesky`` returns NaNs for a matrix that is not positive definite (jax does not
  raise): the kernel also returns ``all(isfinite(L))`` and the backend raises
  NotSquareOrNotDefinite; ``triangular_solve`` flags a zero on the diagonal likewise;
* ``top_k`` uses ``lax.top_k`` (ties: lower index first) on a key with -0.0 and NaN
  canonicalised, since XLA's TopK orders by the IEEE total order;
* ``clip`` on ints uses int bounds held in the dtype's range (no promotion, no wrap);
* ``astype`` from float to a narrow int goes through int64, so out-of-range values wrap
  as NumPy's C cast does (XLA alone saturates).

Gaps, by dtype (UnsupportedDType, as in the NumPy backend): ``cholesky`` and
``triangular_solve`` on float16/bfloat16. Known differences in undefined corners:
float-to-int ``astype`` of NaN gives 0 (NumPy gives INT_MIN), and integer
``floor_divide``/``remainder`` by zero return a value rather than raising.
"""

from __future__ import annotations

from ._backend import JaxBackend

__all__ = ["JaxBackend"]
