"""The suite's handle on :mod:`tensorscope.environment` (SIMD switch, thread count, provenance).

asv runs today's suite against older commits too, and the ``tensorscope`` installed for
such a commit may predate ``tensorscope.environment``. The suite then uses
``tensorscope_simd_hook``: the same file, copied from this checkout into every asv
virtualenv by ``asv.conf.json``'s ``install_command`` (the startup hook). One copy of the
logic, two ways to import it.
"""

from __future__ import annotations

from types import ModuleType


def _environment() -> ModuleType:
    try:
        import tensorscope.environment as module
    except ImportError:  # an older commit's tensorscope: the hook installed from this checkout
        import tensorscope_simd_hook as module  # type: ignore[no-redef]  # present only in asv virtualenvs
    return module


environment = _environment()

__all__ = ["environment"]
