"""tensorscope's asv suite: one ``bench_<group>.py`` per op group, plus machine calibration.

Importing the package applies the SIMD setting (``TENSORSCOPE_SIMD``) before NumPy is
loaded and writes the run's provenance file; see :mod:`benchmarks._env` and
:mod:`benchmarks.common` (profiles, parameters, the base class).
"""

from __future__ import annotations

from ._env import apply_simd_setting, write_provenance_once

apply_simd_setting()
write_provenance_once()
