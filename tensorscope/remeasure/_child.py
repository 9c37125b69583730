"""Run by the benchmarked environment's interpreter: apply the measurement controls, then become asv's runner.

Usage: ``python _child.py CONTROLS_JSON ASV_BENCHMARK_SCRIPT ARGS...``

Standard library only, and no tensorscope import: the environment being measured need not
have tensorscope installed. What it applies, before any benchmark code is imported:

* ``thp == "off"``: ``prctl(PR_SET_THP_DISABLE, 1)`` (inherited by threads and children);
* ``aslr == "off"``: ``personality(ADDR_NO_RANDOMIZE)`` then re-exec, since the layout is
  chosen at ``execve``;
* ``cpus``: ``sched_setaffinity`` of this process;
* ``lockstep`` (a Unix socket address): take turns with the other side's process. The process
  connects, says which side it is, and runs only while it holds the turn: start-up, import
  and setup in its first turn, then one sample per turn. Every ``timeit`` call of asv's timing
  loop first hands the turn back and waits for the next one (``go CPU``: the calling thread
  is pinned to that CPU, the same for both sides), and
  asv's loop clock (``wall_timer``, which decides the number of calls per sample, the warm-up
  and the time limit) stops while the process waits, so the loop behaves as it does alone.

A control the system refuses is reported on stderr (asv keeps it with the result) and the
run continues; the caller records which controls were requested.
"""

import contextlib
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


class _Turns:
    """The child's end of the lockstep protocol (see the module docstring)."""

    def __init__(self, address, side):
        import socket
        import time

        self._clock = time.perf_counter
        self.waited = 0.0
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(address)
        self._file = self._sock.makefile("rwb", buffering=0)
        self._file.write(f"hello {side}\n".encode())

    def wait(self):
        t0 = self._clock()
        line = self._file.readline()
        self.waited += self._clock() - t0
        if not line:  # the parent is gone: nothing to measure for
            os._exit(3)
        parts = line.split()
        if len(parts) > 1 and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(0, {int(parts[1])})  # 0: this thread only

    def hand_back(self):
        self._file.write(b"ready\n")
        self.wait()

    def tell(self, seconds, number):
        """Report one timing of this turn (the broker pairs the two sides' samples by turn)."""
        self._file.write(f"sample {seconds!r} {number}\n".encode())

    def clock(self):
        """Seconds of this process's own turns (perf_counter less the waits)."""
        return self._clock() - self.waited


class _TurnTimer:
    """A ``timeit.Timer`` stand-in: each ``timeit`` call waits for the process's turn, then times."""

    def __init__(self, timer, turns):
        self._timer = timer
        self._turns = turns

    def timeit(self, number):
        self._turns.hand_back()
        seconds = self._timer.timeit(number)
        self._turns.tell(seconds, number)
        return seconds


def _lockstep(address, side):
    turns = _Turns(address, side)
    turns.wait()  # the first turn: start-up, import and setup run while the other side waits
    try:
        from asv_runner.benchmarks import time as asv_time
    except ImportError as exc:
        sys.stderr.write(f"tensorscope: lockstep needs asv_runner ({exc}); this process ran its samples without turns\n")
        return
    original = asv_time.TimeBenchmark.benchmark_timing

    def benchmark_timing(self, timer, *args, **kwargs):
        return original(self, _TurnTimer(timer, turns), *args, **kwargs)

    asv_time.TimeBenchmark.benchmark_timing = benchmark_timing
    if hasattr(asv_time, "wall_timer"):
        asv_time.wall_timer = turns.clock


def main():
    controls = json.loads(sys.argv[1])
    _apply(controls)
    # this file's folder must not shadow the benchmark suite's modules, nor the standard
    # library's (its bisect.py would stand in for the stdlib's)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    if controls.get("lockstep"):
        _lockstep(controls["lockstep"], controls.get("side", "?"))
    script = sys.argv[2]
    sys.argv = [script, *sys.argv[3:]]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
