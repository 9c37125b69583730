"""Run by the benchmarked environment's interpreter: apply the measurement controls, then become asv's runner.

Usage: ``python _child.py CONTROLS_JSON ASV_BENCHMARK_SCRIPT ARGS...``

Standard library only, and no tensorscope import: the environment being measured need not
have tensorscope installed. What it applies, before any benchmark code is imported:

* ``thp == "off"``: ``prctl(PR_SET_THP_DISABLE, 1)`` (inherited by threads and children);
* ``aslr == "off"``: ``personality(ADDR_NO_RANDOMIZE)`` then re-exec, since the layout is
  chosen at ``execve``;
* ``cpus``: ``sched_setaffinity`` of this process.

A control the system refuses is reported on stderr (asv keeps it with the result) and the
run continues; the caller records which controls were requested.
"""

import ctypes
import json
import os
import runpy
import sys

PR_SET_THP_DISABLE = 41
ADDR_NO_RANDOMIZE = 0x0040000
_MARK = "TENSORSCOPE_CHILD_REEXEC"


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _apply(controls):
    if not sys.platform.startswith("linux"):
        return
    libc = _libc()
    if controls.get("aslr") == "off" and not os.environ.get(_MARK):
        current = libc.personality(0xFFFFFFFF)
        if current != -1 and not current & ADDR_NO_RANDOMIZE and libc.personality(current | ADDR_NO_RANDOMIZE) != -1:
            os.environ[_MARK] = "1"
            os.execv(sys.executable, [sys.executable, *sys.argv])
        sys.stderr.write("tensorscope: could not switch address-space randomization off\n")
    os.environ.pop(_MARK, None)
    if controls.get("thp") == "off" and libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
        sys.stderr.write(f"tensorscope: prctl(PR_SET_THP_DISABLE) failed: errno {ctypes.get_errno()}\n")
    cpus = controls.get("cpus")
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as exc:
            sys.stderr.write(f"tensorscope: could not pin to CPUs {cpus}: {exc}\n")


def main():
    controls = json.loads(sys.argv[1])
    _apply(controls)
    script = sys.argv[2]
    # this file's folder must not shadow the benchmark suite's modules
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    sys.argv = [script, *sys.argv[3:]]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
