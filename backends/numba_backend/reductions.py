"""Reduction kernels: sum, prod, max, min, argmax, argmin, mean, all, any, cumulative_sum, windows.

Every reduction views its input as ``(outer, n, inner)`` around the reduced axis (``axis=None``:
``(1, size, 1)``). ``inner == 1`` reduces contiguous rows; otherwise the kernel accumulates
whole ``inner``-long rows, so the inner loop stays contiguous and vectorized either way.

Accuracy: float sums add 1024-element blocks with ``reassoc`` (LLVM keeps 64 partial sums
in 4 zmm registers) and accumulate the block sums in float64, so a 4M-element float32 sum
is as accurate as NumPy's pairwise sum or better. Strided (``inner > 1``) float32 sums
accumulate in a float64 row. Integer and bool sums/products accumulate in int64 (wrapping).
max/min/argmax/argmin reduce float bit patterns with integer max/min (see below) beside
a NaN flag, so they vectorize without ``nnan``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._jit import CHEAP, FM, FM_REDUCE, Kernel, jit
from ._scalar import like
from .elementwise import contiguous

__all__ = ["argreduce", "bool_reduce", "cumulative_sum", "extreme", "mean", "prod", "sum_", "window"]

_BLOCK = 1024


# ---------------------------------------------------------------------------
# sum / prod


def _sum_rows_f(x: Any, out: Any, zero: Any) -> None:
    """x: (rows, n) float; out (rows,) float64. Block sums in x's dtype, blocks in float64."""
    rows, n = x.shape
    for r in prange(rows):
        total = 0.0
        row = x[r]
        for b0 in range(0, n, 1024):
            blk = row[b0 : min(b0 + 1024, n)]  # a slice, not range(b0, b1): LLVM vectorizes it
            s = zero[0]  # x's dtype: the block's lanes stay float32 for float32 input
            for i in range(blk.size):
                s += blk[i]
            total += s
        out[r] = total


def _sum_flat_f(x: Any, zero: Any) -> float:
    n = x.size
    nb = (n + 1023) // 1024
    total = 0.0
    for b in prange(nb):
        blk = x[b * 1024 : min(b * 1024 + 1024, n)]
        s = zero[0]
        for i in range(blk.size):
            s += blk[i]
        total += s
    return total


def _sum_flat_i(x: Any) -> int:
    total: Any = 0
    for i in prange(x.size):
        total += np.int64(x[i])
    return total


def _sum_rows_i(x: Any, out: Any) -> None:
    rows, n = x.shape
    for r in prange(rows):
        s: Any = 0
        for i in range(n):
            s += np.int64(x[r, i])
        out[r] = s


def _sum_inner(x: Any, out: Any) -> None:
    """x: (outer, n, inner); out: (outer, inner) accumulator (float64 or int64)."""
    outer, n, inner = x.shape
    for o in prange(outer):
        for j in range(inner):
            out[o, j] = 0
        for k in range(n):
            for j in range(inner):
                out[o, j] += x[o, k, j]


def _prod_rows(x: Any, out: Any) -> None:
    rows, n = x.shape
    for r in prange(rows):
        p = out[r]
        for i in range(n):
            p *= x[r, i]
        out[r] = p


def _prod_inner(x: Any, out: Any) -> None:
    outer, n, inner = x.shape
    for o in prange(outer):
        for k in range(n):
            for j in range(inner):
                out[o, j] *= x[o, k, j]


_sum_rows_f_k = Kernel(_sum_rows_f, CHEAP, FM_REDUCE)
_sum_flat_f_k = Kernel(_sum_flat_f, CHEAP, FM_REDUCE)
_sum_flat_i_k = Kernel(_sum_flat_i, CHEAP, FM_REDUCE)
_sum_rows_i_k = Kernel(_sum_rows_i, CHEAP, FM_REDUCE)
_sum_inner_k = Kernel(_sum_inner, CHEAP, FM)
_prod_rows_k = Kernel(_prod_rows, CHEAP, FM_REDUCE)
_prod_inner_k = Kernel(_prod_inner, CHEAP, FM)


def _split(x: np.ndarray, axis: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
    """x as contiguous (outer, n, inner) and the kept shape (without the reduced axis)."""
    x = contiguous(x)
    if axis is None:
        return x.reshape(1, x.size, 1), ()
    ax = axis % x.ndim
    outer = int(np.prod(x.shape[:ax], dtype=np.int64))
    inner = int(np.prod(x.shape[ax + 1 :], dtype=np.int64))
    return x.reshape(outer, x.shape[ax], inner), x.shape[:ax] + x.shape[ax + 1 :]


def _finish(res: np.ndarray, kept: tuple[int, ...], x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
    if keepdims:
        if axis is None:
            return res.reshape((1,) * x.ndim)
        ax = axis % x.ndim
        return res.reshape((*x.shape[:ax], 1, *x.shape[ax + 1 :]))
    return res.reshape(kept)


def _float_work(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _sum_acc(x: np.ndarray, axis: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
    """Sums in the accumulator dtype (float64 for floats, int64 for ints/bool), kept shape."""
    x3, kept = _split(_float_work(x), axis)
    outer, n, inner = x3.shape
    is_float = x3.dtype.kind == "f"
    acc = np.float64 if is_float else np.int64
    if x3.dtype == np.bool_:
        x3 = x3.view(np.uint8)
    if n == 0 or outer * inner == 0:
        return np.zeros(outer * inner, dtype=acc), kept
    if outer == 1 and inner == 1:
        if is_float:
            return np.asarray([_sum_flat_f_k(n, x3.reshape(-1), np.zeros(1, x3.dtype))], dtype=acc), kept
        return np.asarray([_sum_flat_i_k(n, x3.reshape(-1))], dtype=acc), kept
    if inner == 1:
        out = np.empty(outer, dtype=acc)
        if is_float:
            _sum_rows_f_k(outer * n, x3.reshape(outer, n), out, np.zeros(1, x3.dtype))
        else:
            _sum_rows_i_k(outer * n, x3.reshape(outer, n), out)
        return out, kept
    out2 = np.empty((outer, inner), dtype=acc)
    _sum_inner_k(outer * n * inner, x3, out2)
    return out2.reshape(-1), kept


def sum_(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    res, kept = _sum_acc(x, axis)
    out_dtype = x.dtype if x.dtype.kind == "f" else np.int64
    return _finish(res.astype(out_dtype), kept, x, axis, keepdims)


def mean(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    n = x.size if axis is None else x.shape[axis]
    res, kept = _sum_acc(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = res / n if n else np.full(res.shape, np.nan)
    return _finish(res.astype(x.dtype), kept, x, axis, keepdims)


def prod(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    xw = _float_work(x)
    x3, kept = _split(xw, axis)
    outer, n, inner = x3.shape
    acc = xw.dtype if xw.dtype.kind == "f" else np.dtype(np.int64)
    if x3.dtype == np.bool_:
        x3 = x3.view(np.uint8)
    if inner == 1:
        out = np.ones(outer, dtype=acc)
        if n and outer:
            _prod_rows_k(outer * n, x3.reshape(outer, n), out)
    else:
        out = np.ones((outer, inner), dtype=acc)
        if n and outer:
            _prod_inner_k(outer * n * inner, x3, out)
    res = out.reshape(-1)
    if x.dtype == np.float16:
        res = res.astype(np.float16)
    return _finish(res, kept, x, axis, keepdims)


# ---------------------------------------------------------------------------
# max / min (NaN-propagating)


def _max_rows(x: Any, out: Any, sign: int) -> None:
    """Integer rows (ints compare and select natively, so this vectorizes)."""
    rows, n = x.shape
    for r in prange(rows):
        row = x[r]
        m = row[0]
        if sign > 0:
            for i in range(n):
                v = row[i]
                m = v if v > m else m
        else:
            for i in range(n):
                v = row[i]
                m = v if v < m else m
        out[r] = m


# Floats: a compare-select max over floats does not vectorize without ``nnan`` (which we
# never use), so floats are reduced as integers of the same width. Signed integer order is
# float order on non-negative floats and reversed on negative ones (-0.0 is the smallest
# signed pattern), so per block: max float = signed max if that is >= 0, else signed min;
# min float = signed min if that is >= 0, else the unsigned max (the negative float of
# largest magnitude). Each is a plain integer max/min reduction (checked in the assembly on
# znver4: ``vpmaxsd``/``vpminsd``/``vpmaxud zmm``, no per-element key transform, no int64
# lanes), and -0.0 < +0.0 falls out. NaN: from the
# same three reductions (see _key_block). The block result is returned as an
# ordering key, key(b) = b ^ ((b >> 31) & 0x7FFFFFFF), to compare blocks. c = [shift,
# magnitude mask, inf bits, NaN bits] in the integer type of the same width.


def _key_block(blk: Any, blku: Any, c: Any, sign: int) -> tuple[Any, Any]:
    """(key of the block's max (sign > 0) or min float, 1 if it holds a NaN); blku: unsigned view.

    Three integer reductions of the raw patterns (no per-element arithmetic, so no widening
    to int64 lanes): signed max, signed min, unsigned max. A NaN is present iff the signed
    max exceeds +inf's pattern (positive NaN) or the unsigned max, read as signed, lies
    strictly between -inf's pattern and 0 (negative NaN).
    """
    shift = c[0]
    mag = c[1]
    inf = c[2]
    hi = blk[0]
    lo = blk[0]
    hu = blku[0]
    for i in range(blk.size):
        b = blk[i]
        hi = max(hi, b)
        lo = min(lo, b)
        hu = max(hu, blku[i])
    hs = like(blk, hu)  # same bits, signed type
    ninf = inf | ~mag  # -inf's pattern as a signed integer
    nan = (hi > inf) or (hs < 0 and hs > ninf)
    r = (hi if hi >= 0 else lo) if sign > 0 else (lo if lo >= 0 else hs)
    return r ^ ((r >> shift) & mag), 1 if nan else 0


def _ext_rows(xi: Any, xu: Any, c: Any, sign: int, outi: Any) -> None:
    rows = xi.shape[0]
    shift = c[0]
    mag = c[1]
    for r in prange(rows):
        k, cnt = _key_block_j(xi[r], xu[r], c, sign)
        outi[r] = c[3] if cnt else k ^ ((k >> shift) & mag)


def _ext_flat(xi: Any, xu: Any, c: Any, sign: int, outi: Any) -> None:
    n = xi.size
    nb = (n + 4095) // 4096
    keys = np.empty(nb, dtype=xi.dtype)
    nans = np.empty(nb, dtype=np.int64)
    for b in prange(nb):
        b0 = b * 4096
        b1 = min(b0 + 4096, n)
        k, cnt = _key_block_j(xi[b0:b1], xu[b0:b1], c, sign)
        keys[b] = k
        nans[b] = cnt
    m = keys[0]
    total = 0
    for b in range(nb):
        m = max(m, keys[b]) if sign > 0 else min(m, keys[b])
        total += nans[b]
    outi[0] = c[3] if total else m ^ ((m >> c[0]) & c[1])


def _max_inner(x: Any, out: Any, sign: int) -> None:
    outer, n, inner = x.shape
    for o in prange(outer):
        for j in range(inner):
            out[o, j] = x[o, 0, j]
        for k in range(n):
            for j in range(inner):
                v = x[o, k, j]
                m = out[o, j]
                if sign > 0:
                    out[o, j] = v if (v > m or v != v) else m
                else:
                    out[o, j] = v if (v < m or v != v) else m


_key_block_j = jit(_key_block)
_max_rows_k = Kernel(_max_rows, CHEAP, FM)
_ext_rows_k = Kernel(_ext_rows, CHEAP, FM)
_ext_flat_k = Kernel(_ext_flat, CHEAP, FM)
_max_inner_k = Kernel(_max_inner, CHEAP, FM)


def _key_consts(dt: np.dtype[Any]) -> tuple[np.ndarray, Any, Any]:
    """Constants c, and the signed and unsigned integer types of the float's width."""
    if dt == np.float32:
        return np.asarray([31, 0x7FFFFFFF, 0x7F800000, 0x7FC00000], dtype=np.int32), np.int32, np.uint32
    return np.asarray([63, 0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000, 0x7FF8000000000000], dtype=np.int64), np.int64, np.uint64


def extreme(x: np.ndarray, axis: int | None, keepdims: bool, sign: int) -> np.ndarray:
    xw = _float_work(x)
    x3, kept = _split(xw, axis)
    outer, n, inner = x3.shape
    isf = xw.dtype.kind == "f"
    if x3.dtype == np.bool_:
        x3 = x3.view(np.uint8)
    res = np.empty(outer * inner, dtype=xw.dtype)
    if outer * inner == 0:
        pass
    elif inner == 1 and isf:
        c, it, ut = _key_consts(xw.dtype)
        xi = x3.reshape(outer, n).view(it)
        xu = xi.view(ut)
        if outer == 1:
            _ext_flat_k(n, xi.reshape(-1), xu.reshape(-1), c, sign, res.view(it))
        else:
            _ext_rows_k(outer * n, xi, xu, c, sign, res.view(it))
    elif inner == 1:
        _max_rows_k(outer * n, x3.reshape(outer, n), res, sign)
    else:
        _max_inner_k(outer * n * inner, x3, res.reshape(outer, inner), sign)
    if x.dtype == np.float16:
        res = res.astype(np.float16)
    return _finish(res, kept, x, axis, keepdims)


# ---------------------------------------------------------------------------
# argmax / argmin: blocked (vectorized block extreme, then one scalar search in the winner)


def _arg_rows(x: Any, out: Any, sign: int) -> None:
    rows, n = x.shape
    for r in prange(rows):
        best = x[r, 0]
        bi = 0
        for i in range(n):
            v = x[r, i]
            if v != v:
                bi = i
                break
            if (sign > 0 and v > best) or (sign < 0 and v < best):
                best = v
                bi = i
        out[r] = bi


def _arg_flat(x: Any, xi: Any, xu: Any, c: Any, sign: int) -> int:
    """First index of the max/min (first NaN if any): block keys in parallel, one block searched."""
    n = x.size
    nb = (n + 4095) // 4096
    keys = np.empty(nb, dtype=xi.dtype)
    nans = np.empty(nb, dtype=np.int64)
    for b in prange(nb):
        b0 = b * 4096
        b1 = min(b0 + 4096, n)
        k, cnt = _key_block_j(xi[b0:b1], xu[b0:b1], c, sign)
        keys[b] = k
        nans[b] = cnt
    win = 0
    for b in range(nb):
        if nans[b]:
            win = b
            break
        if (sign > 0 and keys[b] > keys[win]) or (sign < 0 and keys[b] < keys[win]):
            win = b
    b0 = win * 4096
    b1 = min(b0 + 4096, n)
    k = keys[win]
    for i in range(b0, b1):
        v = x[i]
        if nans[win]:
            if v != v:
                return i
        elif (xi[i] ^ ((xi[i] >> c[0]) & c[1])) == k:
            return i
    return b0


def _arg_inner(x: Any, out: Any, sign: int) -> None:
    outer, n, inner = x.shape
    for o in prange(outer):
        best = np.empty(inner, dtype=x.dtype)
        done = np.zeros(inner, dtype=np.bool_)
        for j in range(inner):
            best[j] = x[o, 0, j]
            out[o, j] = 0
        for k in range(n):
            for j in range(inner):
                if done[j]:
                    continue
                v = x[o, k, j]
                if v != v:
                    out[o, j] = k
                    done[j] = True
                elif (sign > 0 and v > best[j]) or (sign < 0 and v < best[j]):
                    best[j] = v
                    out[o, j] = k


_arg_rows_k = Kernel(_arg_rows, CHEAP, FM)
_arg_flat_k = Kernel(_arg_flat, CHEAP, FM)
_arg_inner_k = Kernel(_arg_inner, CHEAP, FM)


def argreduce(x: np.ndarray, axis: int | None, keepdims: bool, sign: int) -> np.ndarray:
    xw = _float_work(x)
    x3, kept = _split(xw, axis)
    outer, n, inner = x3.shape
    if x3.dtype == np.bool_:
        x3 = x3.view(np.uint8)
    if outer * inner == 0:
        res = np.empty(0, dtype=np.int64)
    elif outer == 1 and inner == 1:
        if xw.dtype.kind == "f":
            c, it, ut = _key_consts(xw.dtype)
            flat = x3.reshape(-1)
            res = np.asarray([_arg_flat_k(n, flat, flat.view(it), flat.view(ut), c, sign)], dtype=np.int64)
        else:
            res = np.empty(1, dtype=np.int64)
            _arg_rows_k(n, x3.reshape(1, n), res, sign)
    elif inner == 1:
        res = np.empty(outer, dtype=np.int64)
        _arg_rows_k(outer * n, x3.reshape(outer, n), res, sign)
    else:
        out2 = np.empty((outer, inner), dtype=np.int64)
        _arg_inner_k(outer * n * inner, x3, out2, sign)
        res = out2.reshape(-1)
    return _finish(res, kept, x, axis, keepdims)


# ---------------------------------------------------------------------------
# all / any


def _bool_rows(x: Any, out: Any, want_all: bool) -> None:
    rows, n = x.shape
    for r in prange(rows):
        row = x[r]
        acc = want_all
        for b0 in range(0, n, 4096):
            blk = row[b0 : min(b0 + 4096, n)]
            cnt = 0
            for i in range(blk.size):
                cnt += blk[i] != 0
            acc = cnt == blk.size if want_all else cnt > 0
            if acc != want_all:
                break
        out[r] = acc


def _bool_inner(x: Any, out: Any, want_all: bool) -> None:
    outer, n, inner = x.shape
    for o in prange(outer):
        for j in range(inner):
            out[o, j] = want_all
        for k in range(n):
            for j in range(inner):
                if want_all:
                    out[o, j] &= x[o, k, j] != 0
                else:
                    out[o, j] |= x[o, k, j] != 0


_bool_rows_k = Kernel(_bool_rows, CHEAP, FM)
_bool_inner_k = Kernel(_bool_inner, CHEAP, FM)


def bool_reduce(x: np.ndarray, axis: int | None, keepdims: bool, want_all: bool) -> np.ndarray:
    xw = _float_work(x)
    x3, kept = _split(xw, axis)
    outer, n, inner = x3.shape
    if x3.dtype == np.bool_:
        x3 = x3.view(np.uint8)
    if inner == 1:
        res = np.empty(outer, dtype=np.bool_)
        if outer:
            if n:
                _bool_rows_k(outer * n, x3.reshape(outer, n), res, want_all)
            else:
                res[:] = want_all
    else:
        out2 = np.empty((outer, inner), dtype=np.bool_)
        if out2.size:
            _bool_inner_k(outer * n * inner, x3, out2, want_all)
        res = out2.reshape(-1)
    return _finish(res, kept, x, axis, keepdims)


# ---------------------------------------------------------------------------
# cumulative_sum: two-pass blocked scan (block totals in parallel, then each block's scan)


def _cumsum_rows(x: Any, out: Any, zero: Any) -> None:
    rows, n = x.shape
    for r in prange(rows):
        s = zero[0]
        for i in range(n):
            s += x[r, i]
            out[r, i] = s


def _cumsum_flat(x: Any, out: Any, nblocks: int) -> None:
    n = x.size
    size = (n + nblocks - 1) // nblocks
    tot = np.zeros(nblocks + 1, dtype=out.dtype)
    for b in prange(nblocks):
        s = tot[0] * 0
        for i in range(b * size, min(b * size + size, n)):
            s += x[i]
        tot[b + 1] = s
    for b in range(nblocks):
        tot[b + 1] += tot[b]
    for b in prange(nblocks):
        s = tot[b]
        for i in range(b * size, min(b * size + size, n)):
            s += x[i]
            out[i] = s


def _cumsum_inner(x: Any, out: Any) -> None:
    outer, n, inner = x.shape
    for o in prange(outer):
        for j in range(inner):
            out[o, 0, j] = x[o, 0, j]
        for k in range(1, n):
            for j in range(inner):
                out[o, k, j] = out[o, k - 1, j] + x[o, k, j]


_cumsum_rows_k = Kernel(_cumsum_rows, CHEAP, FM)
_cumsum_flat_k = Kernel(_cumsum_flat, 1 << 18, FM)
_cumsum_inner_k = Kernel(_cumsum_inner, CHEAP, FM)


def cumulative_sum(x: np.ndarray, axis: int = -1) -> np.ndarray:
    xw = _float_work(x)
    acc = xw.dtype if xw.dtype.kind == "f" else np.dtype(np.int64)
    if x.ndim == 0:
        return xw.astype(acc).reshape(()) if x.dtype != np.float16 else x.copy()
    x3, _ = _split(xw.astype(acc) if xw.dtype != acc else xw, axis)
    outer, n, inner = x3.shape
    out = np.empty(x3.shape, dtype=acc)
    if out.size:
        if outer == 1 and inner == 1:
            if n >= _cumsum_flat_k.threshold:
                _cumsum_flat_k(n, x3.reshape(-1), out.reshape(-1), 64)
            else:
                _cumsum_rows_k(n, x3.reshape(1, n), out.reshape(1, n), np.zeros(1, acc))
        elif inner == 1:
            _cumsum_rows_k(outer * n, x3.reshape(outer, n), out.reshape(outer, n), np.zeros(1, acc))
        else:
            _cumsum_inner_k(out.size, x3, out)
    res = out.reshape(x.shape)
    return res.astype(np.float16) if x.dtype == np.float16 else res


# ---------------------------------------------------------------------------
# sliding windows over the last two axes


def _window(x: Any, out: Any, wh: int, ww: int, sh: int, sw: int, is_max: bool) -> None:
    b, ho, wo = out.shape
    for p in prange(b * ho):
        bi = p // ho
        i = p % ho
        for j in range(wo):
            acc = x[bi, i * sh, j * sw]
            first = True
            for di in range(wh):
                for dj in range(ww):
                    v = x[bi, i * sh + di, j * sw + dj]
                    if first:
                        acc = v
                        first = False
                    elif is_max:
                        acc = v if (v > acc or v != v) else acc
                    else:
                        acc = acc + v
            out[bi, i, j] = acc


_window_k = Kernel(_window, CHEAP, FM)


def window(x: np.ndarray, window: tuple[int, int], strides: tuple[int, int], is_max: bool) -> np.ndarray:
    xw = contiguous(_float_work(x))
    h, w = x.shape[-2:]
    ho = (h - window[0]) // strides[0] + 1
    wo = (w - window[1]) // strides[1] + 1
    batch = int(np.prod(x.shape[:-2], dtype=np.int64))
    out = np.empty((batch, ho, wo), dtype=xw.dtype)
    if out.size:
        x3 = xw.reshape(batch, h, w)
        if x3.dtype == np.bool_:
            x3 = x3.view(np.uint8)
        _window_k(out.size * window[0] * window[1], x3, out, window[0], window[1], strides[0], strides[1], is_max)
    res = out.reshape((*x.shape[:-2], ho, wo))
    return res.astype(np.float16) if x.dtype == np.float16 else res
