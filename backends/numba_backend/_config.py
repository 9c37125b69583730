"""SIMD switch of the numba backend, applied to Numba's environment before Numba is imported.

``TENSORSCOPE_NUMBA_SIMD`` (read once, when the backend is first imported):

* unset, ``1``, ``on``, ``true``, ``yes``: the SIMD path. Kernels are compiled for the host
  CPU (``NUMBA_CPU_NAME`` unset: LLVM's host name, e.g. ``znver4``, with all its features,
  so AVX2/AVX-512 where the CPU has them) with LLVM's loop vectorizer on (Numba's default).
* ``0``, ``off``, ``false``, ``no``: the scalar path, for ablation. Sets
  ``NUMBA_CPU_NAME=generic`` (baseline x86-64 / aarch64, no AVX; Numba then defaults
  ``NUMBA_CPU_FEATURES`` to empty), ``NUMBA_LOOP_VECTORIZE=0`` and ``NUMBA_SLP_VECTORIZE=0``,
  so LLVM emits one element per instruction (SSE2 scalar ``ss``/``sd`` forms on x86-64).

``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES``, ``NUMBA_LOOP_VECTORIZE`` and ``NUMBA_SLP_VECTORIZE``
set by the user are never overridden (the switch only fills in what is unset).

On-disk cache. Numba keys its cache index by ``(signature, (triple, cpu_name, cpu_features),
bytecode hash)``: the CPU name and features are in the key, the vectorizer flags are not.
The two canonical builds (host CPU + vectorizer on; ``generic`` + no features + vectorizers
off) therefore never share an entry. Any other combination (a user-chosen CPU name with the
vectorizer off, ``generic`` with it on, SLP forced on, ...) could collide with a canonical
entry, so the kernels are then compiled with ``cache=False`` (``describe()`` reports
``cache=off``). Numba's cache is invalidated by the mtime of the file defining each kernel
only: after editing ``_math.py`` alone, touch the kernel modules or clear ``__pycache__``.

If Numba was imported before this module, the variables are written and Numba's config is
reloaded; that works as long as nothing was compiled yet (the CPU name is fixed when
Numba's CPU target first compiles). ``describe()`` reports what Numba's config holds.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ENV_VAR", "SIMD_REQUESTED", "USER_SET", "apply"]

ENV_VAR = "TENSORSCOPE_NUMBA_SIMD"

_OFF = {"0", "off", "false", "no"}
_NUMBA_VARS = ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_LOOP_VECTORIZE", "NUMBA_SLP_VECTORIZE")

#: the numba variables the user set before this module ran (these win over the switch)
USER_SET: frozenset[str] = frozenset(v for v in _NUMBA_VARS if v in os.environ)
#: False when TENSORSCOPE_NUMBA_SIMD asks for the scalar path
SIMD_REQUESTED: bool = os.environ.get(ENV_VAR, "1").strip().lower() not in _OFF


def apply() -> None:
    """Write the Numba variables the switch implies (idempotent; call before importing numba)."""
    if SIMD_REQUESTED:
        return
    os.environ.setdefault("NUMBA_CPU_NAME", "generic")
    os.environ.setdefault("NUMBA_LOOP_VECTORIZE", "0")
    os.environ.setdefault("NUMBA_SLP_VECTORIZE", "0")
    if "numba" in sys.modules:  # imported by someone else first: re-read the environment
        from numba.core import config

        config.reload_config()


apply()
