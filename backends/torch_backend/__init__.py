"""PyTorch backend (``torch:cpu``, ``torch:cuda``): every catalog op on its native torch op.

Coverage: all 96 catalog ops, on CPU and CUDA. Nothing is routed through NumPy or
another backend; where the catalog asks for more than the obvious torch call, the
extra work is done with torch ops and is listed here:

* ``sign`` keeps NaN (``torch.sign(nan)`` is 0): one ``torch.where`` pass on floats;
* ``clip`` converts integral bounds to int so an int tensor is not promoted to float;
* ``all``/``any`` return bool for uint8 (torch returns uint8 there);
* ``take``/``scatter_add`` check the indices against ``[-n, n)`` (one ``aminmax`` and a
  scalar read, i.e. a device sync on CUDA) and map negative indices, which
  ``index_select``/``index_add`` reject;
* ``top_k`` is a stable descending ``torch.sort`` cut to k: ``torch.topk`` does not
  promise that ties come out in index order;
* ``cholesky`` uses ``torch.linalg.cholesky_ex`` and reads its ``info`` (sync on CUDA)
  to raise :class:`~backends.NotSquareOrNotDefinite`; ``triangular_solve`` checks the
  diagonal for zeros first, as LAPACK ``trtrs`` does;
* ``window_sum``/``window_max`` use ``avg_pool2d(divisor_override=1)``/``max_pool2d`` on
  floats and ``unfold`` plus a reduction on ints;
* ``conv`` with asymmetric padding pads with ``constant_pad_nd`` first.

Gaps, by dtype (raising :class:`~backends.UnsupportedDType`, as the NumPy backend does):
``cholesky`` and ``triangular_solve`` on float16/bfloat16 (torch's LAPACK/cuSOLVER
paths have no half precision).

Constructing ``torch:cuda`` turns TF32 off, process-wide, for float32 matmul (torch's
default already) and cuDNN convolutions (TF32 by default in torch), so float32 means
IEEE float32 on the GPU as on the CPU and in the other backends.

bfloat16 crosses the NumPy boundary as ``ml_dtypes.bfloat16`` arrays when ml_dtypes
is installed (it comes with jax); without it ``to_numpy`` returns float32 (exact).
"""

from __future__ import annotations

from ._backend import TorchBackend

__all__ = ["TorchBackend"]
