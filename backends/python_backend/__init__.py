"""The python backend: every catalog op in pure Python (the analogue of Nx.BinaryBackend).

Tensors are :class:`PyTensor` objects (a flat row-major list, a shape and a dtype);
NumPy is used only by ``from_numpy``/``to_numpy``. This backend is the baseline every
speedup in tensorscope is measured against.
"""

from __future__ import annotations

from ._tensor import PyTensor
from .backend import PythonBackend

__all__ = ["PyTensor", "PythonBackend"]
