"""Accuracy of the numba backend's vectorizable transcendentals over the whole input range.

Each kernel is compared with NumPy's float64 result (rounded to the tested dtype) on
random values spread over the full exponent range (random bit patterns), on a dense
normal-range sample, and on the edges: +-0.0, +-inf, NaN, subnormals, overflow and
underflow thresholds. Errors are in ULPs of the rounded reference; the bounds asserted
here are the ones documented in ``backends/numba_backend/_math.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

pytest.importorskip("numba")

import backends

EDGES32 = np.float32(
    [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        1e-45,
        -1e-45,
        1e-40,
        1.17549435e-38,
        88.72,
        88.73,
        89.0,
        -87.3,
        -103.9,
        -104.0,
        1.0,
        -1.0,
        0.5,
        3.4e38,
        -3.4e38,
        89.41,  # cosh/sinh overflow threshold (89.4159)
        -89.41,
        89.42,
        -17.4,  # expm1 reaches -1
        -20.0,
        -0.99999994,  # log1p near its pole
        5.96e-8,  # 2**-24: 1 + x rounds to 1
        0.41421357,  # atan / tan range-reduction boundaries
        2.4142137,
        0.78539819,
        0.5000001,  # asin/acos branch boundary
        -0.5000001,
        0.99999994,
        -0.99999994,
    ]
)
EDGES64 = np.float64(
    [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        5e-324,
        1e-310,
        2.2250738585072014e-308,
        709.78,
        709.79,
        -745.1,
        -746.0,
        1.0,
        -1.0,
        0.5,
        22.0,
        1e300,
        -1e300,
    ]
)

# op -> (reference, domain transform, max ULP float32, max ULP float64)
CASES = {
    "exp": (np.exp, None, 1, 1),
    "expm1": (np.expm1, None, 2, 2),
    "log": (np.log, np.abs, 1, 1),
    "log1p": (np.log1p, np.abs, 1, 2),
    "sin": (np.sin, None, 2, 2),
    "cos": (np.cos, None, 2, 2),
    "tan": (np.tan, None, 3, 3),
    "asin": (np.arcsin, np.tanh, 2, 4),
    "acos": (np.arccos, np.tanh, 2, 3),
    "atan": (np.arctan, None, 3, 3),
    "sinh": (np.sinh, None, 2, 3),
    "cosh": (np.cosh, None, 2, 3),
    "tanh": (np.tanh, None, 2, 2),
    "sigmoid": (scipy.special.expit, None, 1, 4),
    "erf": (scipy.special.erf, None, 1, 2),  # float64: glibc erf vs SciPy (Cephes) differ by up to 3 ULP
}


def _samples(dtype: type, rng: np.random.Generator) -> np.ndarray:
    if dtype is np.float32:
        bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
        dense = (rng.standard_normal(200_000) * 20).astype(np.float32)
        return np.concatenate([bits, dense, EDGES32]).astype(np.float32)
    bits = rng.integers(0, 2**63, 200_000, dtype=np.int64).view(np.float64)
    bits = np.concatenate([bits, -bits])
    return np.concatenate([bits, rng.standard_normal(200_000) * 20, EDGES64])


def ulp_error(got: np.ndarray, ref64: np.ndarray, dtype: type) -> tuple[float, int]:
    """Max error in ULPs of the reference rounded to ``dtype`` (NaN must match NaN exactly)."""
    with np.errstate(all="ignore"):
        ref = ref64.astype(dtype)
        # the samples' random bit patterns include signalling NaNs: widening one raises the
        # invalid flag (NumPy warns), and the value stays a NaN
        g = got.astype(np.float64)
        r = ref.astype(np.float64)
    same = (g == r) | (np.isnan(g) & np.isnan(r))
    with np.errstate(all="ignore"):
        err = np.where(same, 0.0, np.abs(g - ref64) / np.spacing(np.abs(ref)).astype(np.float64))
    err[np.isnan(err)] = np.inf  # NaN vs number, or inf vs finite
    i = int(np.argmax(err))
    return float(err[i]), i


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_transcendental_accuracy(op: str, dtype: type) -> None:
    ref_fn, domain, ulp32, ulp64 = CASES[op]
    x = _samples(dtype, np.random.default_rng(1))
    if domain is not None:
        with np.errstate(all="ignore"):
            x = np.concatenate([domain(x).astype(dtype), x[-40:]])
    if op in ("sin", "cos", "tan"):
        x = np.concatenate([x, np.asarray([1e5, 1e6, -3e7, 1e22], dtype=dtype)])  # libm fix-up path
    be = backends.get("numba")
    got = be.to_numpy(be.op(op)(be.from_numpy(x)))
    with np.errstate(all="ignore"):
        ref = ref_fn(x.astype(np.float64))
    # the reference itself (NumPy float64) is within ~1 ULP of float64; allow it for float64
    bound = ulp32 if dtype is np.float32 else ulp64 + 1
    err, i = ulp_error(got, ref, dtype)
    assert err <= bound, f"{op} {dtype.__name__}: {err:.2f} ULP at x={x[i]!r}: got {got[i]!r}, want {ref[i]!r}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_edges_keep_ieee_semantics(dtype: type) -> None:
    be = backends.get("numba")
    x = be.from_numpy(np.asarray([np.nan, np.inf, -np.inf, -0.0, 0.0], dtype=dtype))
    exp = be.to_numpy(be.exp(x))
    assert np.isnan(exp[0]) and exp[1] == np.inf and exp[2] == 0.0 and exp[3] == 1.0
    log = be.to_numpy(be.log(x))
    assert np.isnan(log[0]) and log[1] == np.inf and np.isnan(log[2]) and log[3] == -np.inf
    tanh = be.to_numpy(be.tanh(x))
    assert np.isnan(tanh[0]) and tanh[1] == 1.0 and tanh[2] == -1.0 and np.signbit(tanh[3]) and not np.signbit(tanh[4])
    sin = be.to_numpy(be.sin(x))
    assert np.isnan(sin[0]) and np.isnan(sin[1]) and np.signbit(sin[3])


def test_pow_and_atan2_specials_match_numpy() -> None:
    be = backends.get("numba")
    vals = np.float32([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, np.inf, -np.inf, np.nan, 3.0, -3.0])
    xx, yy = (a.ravel().astype(np.float32) for a in np.meshgrid(vals, vals))
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(be.pow(xx, yy), np.power(xx, yy), rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(np.signbit(be.atan2(xx, yy)), np.signbit(np.arctan2(xx, yy)))
        np.testing.assert_allclose(be.atan2(xx, yy), np.arctan2(xx, yy), rtol=1e-6, equal_nan=True)


def test_float32_sum_is_accurate() -> None:
    """Blocked float32 sums with float64 block accumulation: far better than a naive loop."""
    be = backends.get("numba")
    x = np.random.default_rng(0).random(1 << 22, dtype=np.float32)
    exact = np.sum(x.astype(np.float64))
    assert abs(float(be.sum(x)) - exact) / exact < 1e-6
    assert abs(float(be.mean(x)) - exact / x.size) / (exact / x.size) < 1e-6


_NEW32 = {
    "expm1": np.expm1,
    "log1p": np.log1p,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
}


@pytest.mark.parametrize("op", sorted(_NEW32))
def test_float32_kernel_edges_match_numpy(op: str) -> None:
    """NaN/inf/zero-sign/overflow behaviour of the float32-native kernels is NumPy's, exactly."""
    be = backends.get("numba")
    x = np.concatenate([EDGES32, -EDGES32, np.float32([1.5, -1.5, 2.0, -2.0, 100.0, -100.0, 1e-30, -1e-30])])
    got = be.to_numpy(be.op(op)(be.from_numpy(x)))
    with np.errstate(all="ignore"):
        want = _NEW32[op](x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{op}: NaN positions, x={x}")
    np.testing.assert_array_equal(np.isinf(got) & (got > 0), np.isinf(want) & (want > 0), err_msg=f"{op}: +inf positions")
    np.testing.assert_array_equal(np.isinf(got) & (got < 0), np.isinf(want) & (want < 0), err_msg=f"{op}: -inf positions")
    zero = want == 0
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]), err_msg=f"{op}: sign of zero")


def _pow_samples(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 200_000
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    xs = [np.abs(bits), rng.uniform(0, 4, n), rng.standard_normal(n), rng.uniform(0.9, 1.1, n)]
    ys = [rng.standard_normal(n) * 3, rng.uniform(-60, 60, n), rng.integers(-30, 30, n), rng.uniform(-1000, 1000, n)]
    with np.errstate(invalid="ignore"):  # random bit patterns include signalling NaNs (they stay NaN)
        return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)


def test_pow_float32_accuracy() -> None:
    """pow_f32 over the whole range (subnormal, overflowing, underflowing and negative bases too)."""
    be = backends.get("numba")
    x, y = _pow_samples(np.random.default_rng(3))
    got = be.to_numpy(be.pow(be.from_numpy(x), be.from_numpy(y)))
    with np.errstate(all="ignore"):
        ref = np.power(x.astype(np.float64), y.astype(np.float64))
    err, i = ulp_error(got, ref, np.float32)
    assert err <= 2, f"pow: {err:.2f} ULP at x={x[i]!r}, y={y[i]!r}: got {got[i]!r}, want {ref[i]!r}"


def test_atan2_float32_accuracy() -> None:
    be = backends.get("numba")
    rng = np.random.default_rng(4)
    n = 300_000
    y = np.concatenate(
        [rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32), rng.standard_normal(n).astype(np.float32)]
    )
    x = np.concatenate(
        [rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32), rng.standard_normal(n).astype(np.float32)]
    )
    got = be.to_numpy(be.atan2(be.from_numpy(y), be.from_numpy(x)))
    with np.errstate(all="ignore"):
        ref = np.arctan2(y.astype(np.float64), x.astype(np.float64))
    err, i = ulp_error(got, ref, np.float32)
    assert err <= 3, f"atan2: {err:.2f} ULP at y={y[i]!r}, x={x[i]!r}: got {got[i]!r}, want {ref[i]!r}"
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))


def test_pow_float32_specials_match_numpy() -> None:
    """Every IEEE special case of float32 pow, including subnormal and huge operands, is NumPy's."""
    be = backends.get("numba")
    vals = np.float32([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 2.5, -2.5, 1e-45, -1e-45, 1e-40])
    vals = np.concatenate([vals, np.float32([3e38, -3e38, 16777216.0, -16777217.0, 1e10, np.inf, -np.inf, np.nan])])
    xx, yy = (a.ravel().astype(np.float32) for a in np.meshgrid(vals, vals))
    got = be.to_numpy(be.pow(be.from_numpy(xx), be.from_numpy(yy)))
    with np.errstate(all="ignore"):
        want = np.power(xx, yy)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    num = ~np.isnan(want)  # (a NaN's sign bit carries no meaning)
    np.testing.assert_array_equal(np.signbit(got[num]), np.signbit(want[num]))
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(got, want, rtol=3e-7, atol=0, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_extreme_reductions_match_numpy(dtype: type) -> None:
    """max/min/argmax/argmin (integer-pattern reductions) on signs, zeros, infs, NaNs, block edges."""
    be = backends.get("numba")
    rng = np.random.default_rng(6)
    n = 3 * 4096 + 77  # several blocks, ragged tail
    base = rng.standard_normal(n).astype(dtype)
    cases = {
        "mixed": base,
        "negative": -np.abs(base) - 1,
        "positive": np.abs(base) + 1,
        "zeros": np.where(base > 0, dtype(0.0), dtype(-0.0)),
        "neg_zero_and_negatives": np.where(base > 0, dtype(-0.0), -np.abs(base)),
        "tiny": (base * dtype(1e-40 if dtype is np.float32 else 1e-310)).astype(dtype),
        "infs": np.where(base > 1.5, dtype(np.inf), np.where(base < -1.5, dtype(-np.inf), base)),
        "ties": np.round(base).astype(dtype),
    }
    nan = base.copy()
    nan[[5000, 9000]] = np.nan
    cases["nan"] = nan
    nan_first = base.copy()
    nan_first[0] = np.nan
    cases["nan_first"] = nan_first
    neg_nan = base.copy()
    neg_nan[7000] = -np.nan  # sign bit set: the largest unsigned patterns
    cases["negative_nan"] = neg_nan
    neg_nan_only = -np.abs(base) - 1
    neg_nan_only[4100] = -np.nan
    cases["negative_nan_in_negatives"] = neg_nan_only
    for name, x in cases.items():
        for op, ref in (("max", np.max), ("min", np.min)):
            got = be.to_numpy(be.op(op)(be.from_numpy(x)))
            want = ref(x)
            # (NumPy does not order -0.0 and +0.0; the backend takes -0.0 < +0.0: compare values)
            assert (np.isnan(got) and np.isnan(want)) or got == want, (name, op, got, want)
            rows = be.to_numpy(be.op(op)(be.from_numpy(x[: 4096 * 3].reshape(12, 1024)), axis=1))
            np.testing.assert_array_equal(rows, ref(x[: 4096 * 3].reshape(12, 1024), axis=1), err_msg=f"{name} {op} rows")
        if name == "zeros":
            continue  # the backend's arg reductions take -0.0 < +0.0; NumPy ties them
        for op, ref in (("argmax", np.argmax), ("argmin", np.argmin)):
            assert int(be.to_numpy(be.op(op)(be.from_numpy(x)))) == int(ref(x)), (name, op)
