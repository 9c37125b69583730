"""The catalog and registry the suite's grid is built from: this checkout's, not the installed commit's.

asv imports the suite once to discover the benchmarks and their ``params``, then runs
every commit of a range by parameter *index*, re-importing the suite each time against
that commit's installed ``backends``. A grid taken from the installed package would
change with the commit (an op or backend added later would shift every index after it),
so the op lists, each op's size -> input rule, the facts the reference check needs and
the built-in backend names come from the ``backends/`` next to this suite, whatever
commit is installed. What an op *does* at a commit (its dtypes, output shapes, cost,
the backends' kernels) still comes from the installed ``backends``.

When the installed ``backends`` is this checkout (an editable install, the tests), its
modules are used as they are. Otherwise (an asv virtualenv of any commit) this checkout's
``_catalog`` and ``_registry`` load under the private package name
``_tensorscope_suite_backends`` (their sibling modules by relative import), without
running ``backends/__init__.py``.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import backends

__all__ = ["CATALOG", "REGISTRY", "checkout_module"]

_CHECKOUT = Path(__file__).resolve().parent.parent / "backends"
_ALIAS = "_tensorscope_suite_backends"


def checkout_module(name: str) -> types.ModuleType:
    """This checkout's ``backends.<name>`` (the installed module when it is the same file)."""
    if Path(backends.__file__).resolve().parent == _CHECKOUT:
        return importlib.import_module(f"backends.{name}")
    if _ALIAS not in sys.modules:
        package = types.ModuleType(_ALIAS)
        package.__path__ = [str(_CHECKOUT)]  # submodules load from the checkout; no __init__ runs
        sys.modules[_ALIAS] = package
    return importlib.import_module(f"{_ALIAS}.{name}")


CATALOG = checkout_module("_catalog")
REGISTRY = checkout_module("_registry")
