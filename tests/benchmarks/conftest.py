"""Benchmark-suite tests run in-process on the full profile, without preloading frameworks."""

from __future__ import annotations

import os

# Importing benchmarks.common preloads torch/jax for asv's fork server; tests need not.
os.environ.setdefault("TENSORSCOPE_PRELOAD", "0")
os.environ.pop("TENSORSCOPE_PROFILE", None)
os.environ.pop("TENSORSCOPE_SIMD", None)
