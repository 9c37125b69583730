"""tensorscope's asv suite: one ``bench_<group>.py`` per op group of the catalog, plus machine calibration.

Importing the package does only what must happen before NumPy and the frameworks load:
it applies the SIMD setting (``TENSORSCOPE_SIMD``) and the thread count
(``TENSORSCOPE_THREADS``) where the startup hook has not already
(:mod:`tensorscope.environment`). Profiles, parameters and the base classes are in
:mod:`benchmarks.common`; inputs in :mod:`benchmarks.cases`. Every op of the catalog is
timed: each bench module refuses to load while an op of its group has no benchmark
(:func:`benchmarks.common.require_benchmarks`), and each group needs its module.
"""

from __future__ import annotations

from ._env import environment

environment.apply_simd_setting()
environment.apply_thread_setting()
