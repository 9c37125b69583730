"""A third-party backend installed the way a research group's would be: a distribution with
a ``tensorscope.backends`` entry point. Tests put the folder on ``PYTHONPATH`` of a child
interpreter (entry points are read from ``*.dist-info`` folders on ``sys.path``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: the backend's name, as its entry point declares it
NAME = "demo"

_MODULE = """
import numpy as np
from backends import Backend, TensorInfo

class DemoBackend(Backend):
    name = "demo"

    def from_numpy(self, array):
        return np.array(array, copy=True)

    def to_numpy(self, tensor):
        return tensor

    def info(self, tensor):
        return TensorInfo(tuple(tensor.shape), tensor.dtype.name)

    def negative(self, x):
        return -x
"""


def install_demo_plugin(folder: Path) -> Path:
    """Write the ``demo`` backend (``negative`` only) and its dist-info into ``folder``; returns ``folder``."""
    (folder / "tsdemo_plugin.py").write_text(textwrap.dedent(_MODULE))
    dist = folder / "tsdemo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tsdemo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[tensorscope.backends]\n{NAME} = tsdemo_plugin:DemoBackend\n")
    return folder
