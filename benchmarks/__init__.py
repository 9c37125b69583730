"""tensorscope's asv suite: one ``bench_<group>.py`` per op group, plus machine calibration.

Importing the package applies the SIMD setting (``TENSORSCOPE_SIMD``) and the thread
count (``TENSORSCOPE_THREADS``) before NumPy and the frameworks are loaded (when the startup
hook has not already) and writes the run's provenance file; see :mod:`benchmarks._env` and
:mod:`benchmarks.common` (profiles, parameters, the base class).
"""

from __future__ import annotations

from ._env import apply_simd_setting, apply_thread_setting, write_provenance_once

apply_simd_setting()
apply_thread_setting()
write_provenance_once()
