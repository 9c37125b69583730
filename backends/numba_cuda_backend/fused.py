"""Fused kernels: softmax, logsumexp, gelu, layer_norm; dense and mlp_forward's epilogue.

softmax and logsumexp make one pass over the input for the statistics (the running max
``m`` and sum of ``exp(x - m)``, merged online, so the input is read once for both) and,
for softmax, one pass that writes ``exp(x - m) / s``: 2 reads + 1 write of the tensor,
against 3 reads + 1 write for max, sum and a normalising pass. layer_norm does the same
with a running (count, mean, M2) (Chan et al.'s parallel variance). A row split over
several blocks (one long row, such as softmax of a 1e8 vector) is merged by a one-thread-
per-row kernel. The GEMMs of dense and mlp_forward are not ours: they go to cuBLAS
through CuPy (see ``_backend``); the bias and ReLU epilogue is a kernel of ours.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import cuda

from ._launch import TPB, block_row, empty, flat, grid, parts_per_row, split_axis

__all__ = ["bias_act", "gelu_fn", "layer_norm", "softmax_like"]


@functools.cache
def _softmax_stats(name: str) -> Any:
    t = np.dtype(name).type
    ninf, zero = t(-np.inf), t(0.0)

    @cuda.jit(device=True)
    def merge(m1, s1, m2, s2):
        m = m1 if (m1 > m2 or m1 != m1) else m2
        if m == ninf:  # both empty or all -inf: nothing to scale
            return m, s1 + s2
        a = s1 * math.exp(m1 - m) if s1 != zero else zero
        b = s2 * math.exp(m2 - m) if s2 != zero else zero
        return m, a + b

    @cuda.jit(device=True)
    def block_stats(x, n, inner, parts, part, base, sm, ss):
        """This block's share of a row merged into sm[0], ss[0] (max, sum of exp(x - max))."""
        tid = cuda.threadIdx.x
        m = ninf
        s = zero
        j = part * TPB + tid
        while j < n:
            m, s = merge(m, s, x[base + j * inner], t(1.0))
            j += parts * TPB
        sm[tid] = m
        ss[tid] = s
        cuda.syncthreads()
        h = TPB // 2
        while h > 0:
            if tid < h:
                mm, sss = merge(sm[tid], ss[tid], sm[tid + h], ss[tid + h])
                sm[tid] = mm
                ss[tid] = sss
            cuda.syncthreads()
            h //= 2

    @cuda.jit
    def stats(x, out_m, out_s, n, inner, parts):
        _row, part, base = block_row(parts, n, inner)
        sm = cuda.shared.array(TPB, t)
        ss = cuda.shared.array(TPB, t)
        block_stats(x, n, inner, parts, part, base, sm, ss)
        if cuda.threadIdx.x == 0:
            out_m[cuda.blockIdx.x] = sm[0]
            out_s[cuda.blockIdx.x] = ss[0]

    @cuda.jit
    def softmax_rows(x, out, n, inner):
        # one block per row: the write pass reads the row again right after the statistics
        # pass read it, mostly from L2, where a separate kernel would read it from memory
        _row, _part, base = block_row(1, n, inner)
        sm = cuda.shared.array(TPB, t)
        ss = cuda.shared.array(TPB, t)
        block_stats(x, n, inner, 1, 0, base, sm, ss)
        m = sm[0]
        s = ss[0]
        for j in range(cuda.threadIdx.x, n, TPB):
            out[base + j * inner] = math.exp(x[base + j * inner] - m) / s

    @cuda.jit
    def combine(pm, ps, m_out, s_out, rows, parts):
        r = cuda.grid(1)
        if r < rows:
            m = ninf
            s = zero
            for p in range(parts):
                m, s = merge(m, s, pm[r * parts + p], ps[r * parts + p])
            m_out[r] = m
            s_out[r] = s

    return stats, combine, softmax_rows


@functools.cache
def _softmax_write(name: str) -> Any:
    @cuda.jit
    def write(x, m, s, out, n, inner):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            o = i // (n * inner)
            row = o * inner + i % inner
            out[i] = math.exp(x[i] - m[row]) / s[row]

    return write


@functools.cache
def _logsumexp_finish(name: str) -> Any:
    t = np.dtype(name).type
    inf = t(np.inf)

    @cuda.jit
    def finish(m, s, out):
        r = cuda.grid(1)
        if r < out.size:
            mm = m[r]
            # as the reference (which shifts by 0 when the max is not finite): NaN stays NaN,
            # +inf and -inf (an all -inf row) are the result
            out[r] = mm + math.log(s[r]) if abs(mm) < inf else mm

    return finish


def _row_stats(x: Any, axis: int) -> tuple[Any, Any, int, int, int]:
    outer, n, inner = split_axis(tuple(x.shape), axis)
    rows = outer * inner
    name = np.dtype(x.dtype).name
    stats, combine, _rows = _softmax_stats(name)
    parts = parts_per_row(rows, n)
    pm, ps = empty((rows * parts,), name), empty((rows * parts,), name)
    stats[rows * parts, TPB](flat(x), pm, ps, n, inner, parts)
    if parts == 1:
        return pm, ps, rows, n, inner
    m, s = empty((rows,), name), empty((rows,), name)
    combine[max(1, math.ceil(rows / TPB)), TPB](pm, ps, m, s, rows, parts)
    return m, s, rows, n, inner


def softmax_like(op: str, x: Any, axis: int, out_shape: tuple[int, ...]) -> Any:
    """softmax (``op == "softmax"``) or logsumexp of ``x`` over ``axis`` (normalised, >= 0)."""
    name = np.dtype(x.dtype).name
    out = empty(out_shape, name)
    if x.size == 0:
        if op == "logsumexp" and out.size:
            _fill(out, -np.inf)
        return out
    outer, n, inner = split_axis(tuple(x.shape), axis)
    if op == "softmax" and parts_per_row(outer * inner, n) == 1:  # one block per row: one kernel
        _softmax_stats(name)[2][outer * inner, TPB](flat(x), flat(out), n, inner)
        return out
    m, s, rows, n, inner = _row_stats(x, axis)
    if op == "softmax":
        _softmax_write(name)[grid(x.size), TPB](flat(x), m, s, flat(out), n, inner)
    else:
        _logsumexp_finish(name)[max(1, math.ceil(rows / TPB)), TPB](m, s, flat(out))
    return out


@functools.cache
def _fill_kernel(name: str) -> Any:
    @cuda.jit
    def fill(out, v):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = v

    return fill


def _fill(out: Any, value: float) -> None:
    _fill_kernel(np.dtype(out.dtype).name)[grid(out.size), TPB](flat(out), np.dtype(out.dtype).type(value))


@functools.cache
def gelu_fn(name: str) -> Any:
    """The device function of exact (erf) GELU for one float dtype."""
    t = np.dtype(name).type
    half, one, inv_sqrt2 = t(0.5), t(1.0), t(1.0 / math.sqrt(2.0))
    return cuda.jit(device=True)(lambda x: half * x * (one + math.erf(x * inv_sqrt2)))


@functools.cache
def _ln_kernels(name: str) -> Any:
    t = np.dtype(name).type
    zero = t(0.0)

    @cuda.jit(device=True)
    def merge(c1, m1, q1, c2, m2, q2):
        c = c1 + c2
        if c == zero:
            return zero, zero, zero
        d = m2 - m1
        return c, m1 + d * (c2 / c), q1 + q2 + d * d * (c1 * c2 / c)

    @cuda.jit(device=True)
    def block_stats(x, n, parts, part, base, sc, sm, sq):
        """This block's share of a row merged into sc[0], sm[0], sq[0] (count, mean, M2)."""
        tid = cuda.threadIdx.x
        c = zero
        m = zero
        q = zero
        j = part * TPB + tid
        while j < n:
            c, m, q = merge(c, m, q, t(1.0), x[base + j], zero)
            j += parts * TPB
        sc[tid] = c
        sm[tid] = m
        sq[tid] = q
        cuda.syncthreads()
        h = TPB // 2
        while h > 0:
            if tid < h:
                c2, m2, q2 = merge(sc[tid], sm[tid], sq[tid], sc[tid + h], sm[tid + h], sq[tid + h])
                sc[tid] = c2
                sm[tid] = m2
                sq[tid] = q2
            cuda.syncthreads()
            h //= 2

    @cuda.jit
    def stats(x, oc, om, oq, n, parts):
        b = cuda.blockIdx.x
        _row, part, base = block_row(parts, n, 1)
        sc = cuda.shared.array(TPB, t)
        sm = cuda.shared.array(TPB, t)
        sq = cuda.shared.array(TPB, t)
        block_stats(x, n, parts, part, base, sc, sm, sq)
        if cuda.threadIdx.x == 0:
            oc[b] = sc[0]
            om[b] = sm[0]
            oq[b] = sq[0]

    @cuda.jit
    def ln_rows(x, gamma, beta, out, n, eps):
        # one block per row, as softmax_rows: the write pass re-reads the row mostly from L2
        _row, _part, base = block_row(1, n, 1)
        sc = cuda.shared.array(TPB, t)
        sm = cuda.shared.array(TPB, t)
        sq = cuda.shared.array(TPB, t)
        block_stats(x, n, 1, 0, base, sc, sm, sq)
        mean = sm[0]
        rstd = t(1.0) / math.sqrt(sq[0] / sc[0] + eps)
        for j in range(cuda.threadIdx.x, n, TPB):
            out[base + j] = (x[base + j] - mean) * rstd * gamma[j] + beta[j]

    @cuda.jit
    def combine(pc, pm, pq, mean, rstd, rows, parts, eps):
        r = cuda.grid(1)
        if r < rows:
            c = zero
            m = zero
            q = zero
            for p in range(parts):
                c, m, q = merge(c, m, q, pc[r * parts + p], pm[r * parts + p], pq[r * parts + p])
            mean[r] = m
            rstd[r] = t(1.0) / math.sqrt(q / c + eps)

    @cuda.jit
    def write(x, mean, rstd, gamma, beta, out, n):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            row = i // n
            j = i - row * n
            out[i] = (x[i] - mean[row]) * rstd[row] * gamma[j] + beta[j]

    return stats, combine, write, ln_rows


def layer_norm(x: Any, gamma: Any, beta: Any, eps: float) -> Any:
    """Layer normalisation over the last axis, scaled by ``gamma`` and shifted by ``beta``."""
    name = np.dtype(x.dtype).name
    out = empty(tuple(x.shape), name)
    if x.size == 0:
        return out
    n = tuple(x.shape)[-1]  # the simulator's shape objects take no negative index
    rows = x.size // n
    stats, combine, write, ln_rows = _ln_kernels(name)
    parts = parts_per_row(rows, n)
    if parts == 1:  # one block per row: one kernel
        ln_rows[rows, TPB](flat(x), flat(gamma), flat(beta), flat(out), n, np.dtype(name).type(eps))
        return out
    pc, pm, pq = (empty((rows * parts,), name) for _ in range(3))
    stats[rows * parts, TPB](flat(x), pc, pm, pq, n, parts)
    mean, rstd = empty((rows,), name), empty((rows,), name)
    combine[max(1, math.ceil(rows / TPB)), TPB](pc, pm, pq, mean, rstd, rows, parts, np.dtype(name).type(eps))
    write[grid(x.size), TPB](flat(x), mean, rstd, flat(gamma), flat(beta), flat(out), n)
    return out


@functools.cache
def _bias_act_kernel(name: str, relu: bool) -> Any:
    zero = np.dtype(name).type(0.0)

    @cuda.jit
    def bias_act(y, b, n):
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            v = y[i] + b[i % n]
            if relu and not (v > zero or v != v):  # NaN propagates, as np.maximum
                v = zero
            y[i] = v

    return bias_act


def bias_act(y: Any, b: Any, relu: bool) -> Any:
    """``y + b`` (``b`` along the last axis), then ReLU if ``relu``, in place."""
    if y.size:
        _bias_act_kernel(np.dtype(y.dtype).name, relu)[grid(y.size), TPB](flat(y), flat(b), tuple(y.shape)[-1])
    return y
