"""Call overhead of a backend's op over calling the library directly (issue: <= 150 ns).

Times ``backend.add(x, y)`` and ``numpy.add(x, y)`` on the same 1,000-element float32
inputs, interleaved in one run, and prints the difference of the medians.

    python scripts/measure_call_overhead.py [--size 1000] [--repeat 41]
"""

from __future__ import annotations

import argparse
import statistics
import timeit

import numpy as np

import backends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=41)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()

    be = backends.get("numpy")
    x = be.from_numpy(np.random.default_rng(0).random(args.size, dtype=np.float32))
    y = be.from_numpy(np.random.default_rng(1).random(args.size, dtype=np.float32))
    direct = timeit.Timer(lambda: np.add(x, y))
    wrapped = timeit.Timer(lambda: be.add(x, y))
    direct_times, wrapped_times = [], []
    for _ in range(args.repeat):  # interleave so drift hits both sides alike
        direct_times.append(direct.timeit(args.number) / args.number)
        wrapped_times.append(wrapped.timeit(args.number) / args.number)
    d, w = statistics.median(direct_times), statistics.median(wrapped_times)
    print(f"numpy.add            : {d * 1e9:8.1f} ns/call (median of {args.repeat} x {args.number})")
    print(f"backends numpy .add  : {w * 1e9:8.1f} ns/call")
    print(f"overhead             : {(w - d) * 1e9:8.1f} ns/call  (ratio {w / d:.3f})")


if __name__ == "__main__":
    main()
