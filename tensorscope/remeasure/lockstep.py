"""The parent's end of lockstep measurement: two processes that take turns, one sample each.

Why: on the reference 2-vCPU VM the two virtual CPUs run at different speeds from one
second to the next (their host cores are shared), and a process tends to stay on the CPU it
started on. Two fresh processes of the *same* code timing a microsecond kernel therefore read
up to 1.7x apart, and whether they run one after the other or alternate sample by sample makes
little difference (spread of the log-ratio, 24 pairs each: 0.075 one after the other, 0.10
alternating). Alternating *and* running both processes on the same CPU took it to
0.017-0.019: 4-6 times smaller, i.e. 16-36 times fewer pairs for the same interval.

Protocol (the child's end is in :mod:`._child`): each process connects to the broker's Unix
socket and says ``hello A`` or ``hello B``; when both are there (or one has died) the broker
gives the turn (``go CPU``) to the side that goes first in the pair's order, and waits for it to
hand the turn back (``ready``: it is about to take its next sample) or to exit (the socket
closes); then the other side, and so on. A side reports each timing of its turn (``sample
SECONDS NUMBER``), so the two sides' samples can be paired by round (:meth:`Broker.rounds_of`). Every turn of a pair is on the same CPU (the thread
taking the samples is pinned to it; successive pairs move through the CPUs): with the CPU
changing from round to round, a process's median could land on the faster CPU's samples and
the other's on the slower one's, since the two need not take their samples in the same rounds
(calibration takes a different number of turns). A process that has ended drops out and the
other goes on alone. Only one of the two runs at any moment, so start-up, setup and the
parent's own work never overlap a sample.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Broker"]

_CONNECT_SECONDS = 120.0


class Broker:
    """Hands the turn between sides ``A`` and ``B`` (use as a context manager; :meth:`run` in a thread).

    ``cpu``: where the side holding the turn runs its sampling thread; ``order``: ``"AB"`` or
    ``"BA"``, who goes first in every round.
    """

    def __init__(self, order: str, cpu: int, folder: str | None = None) -> None:
        if sorted(order) != ["A", "B"]:
            raise ValueError(f"order must be 'AB' or 'BA', got {order!r}")
        self.order = order
        self.cpu = cpu
        self._dir = tempfile.mkdtemp(prefix="lockstep-", dir=folder)
        self.address = os.path.join(self._dir, "turns.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(2)
        self.turns = {"A": 0, "B": 0}
        """turns given to each side (the first one is start-up, the rest are samples)."""
        self.timings: dict[str, list[tuple[int, float]]] = {"A": [], "B": []}
        """per side, (round, seconds per call) of every timing it reported, calibration included."""
        self.stop = threading.Event()

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._listener.close()
        try:
            os.unlink(self.address)
            os.rmdir(self._dir)
        except OSError:
            pass

    def run(self, finished: Callable[[str], bool]) -> None:
        """Broker until both sides have exited; ``finished(side)`` says whether a side's process has ended."""
        conns = self._accept(finished)
        files = {side: conn.makefile("rwb", buffering=0) for side, conn in conns.items()}
        try:
            rnd = 0
            while files and not self.stop.is_set():
                for side in self.order:
                    f = files.get(side)
                    if f is None:
                        continue
                    self.turns[side] += 1
                    if not self._turn(f, side, rnd):
                        del files[side]
                        # the parent reads the ended process's result (and the system tears
                        # the process down) before the other side samples again
                        while not finished(side) and not self.stop.is_set():
                            time.sleep(0.001)
                rnd += 1
        finally:
            for conn in conns.values():
                conn.close()

    def _turn(self, f: Any, side: str, rnd: int) -> bool:
        """Give one turn; False when the side has exited (its socket closed)."""
        try:
            f.write(f"go {self.cpu}\n".encode())
            while True:
                words = f.readline().split()
                if not words:
                    return False
                if words[0] == b"ready":
                    return True
                if words[0] == b"sample" and len(words) == 3:
                    with contextlib.suppress(ValueError, ZeroDivisionError):
                        self.timings[side].append((rnd, float(words[1]) / int(words[2])))
        except OSError:
            return False

    def rounds_of(self, side: str, samples: list[float] | None) -> list[int] | None:
        """The round of each of asv's ``samples`` of ``side``: its last timings, when they are exactly those samples."""
        timings = self.timings[side]
        if not samples or len(samples) > len(timings):
            return None
        last = timings[len(timings) - len(samples) :]
        if any(abs(value - s) > 1e-9 * abs(s) for (_, value), s in zip(last, samples, strict=True)):
            return None
        return [rnd for rnd, _ in last]

    def _accept(self, finished: Callable[[str], bool]) -> dict[str, socket.socket]:
        """Both sides' connections; a side whose process ends before it connects is left out."""
        conns: dict[str, socket.socket] = {}
        deadline = time.monotonic() + _CONNECT_SECONDS
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            while len(conns) < 2 and time.monotonic() < deadline and not self.stop.is_set():
                if all(side in conns or finished(side) for side in "AB"):
                    break
                if not sel.select(timeout=0.05):
                    continue
                conn, _ = self._listener.accept()
                conn.settimeout(_CONNECT_SECONDS)
                hello = conn.makefile("rb").readline().split()
                side = hello[1].decode() if len(hello) == 2 and hello[0] == b"hello" else ""
                if side in ("A", "B") and side not in conns:
                    conn.settimeout(None)
                    conns[side] = conn
                else:
                    conn.close()
        return conns
