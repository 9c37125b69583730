"""Behaviour specific to the pure-Python backend.

The conformance suite checks every op against NumPy; these tests pin what is special
about this backend: results rounded into float32/float16, NumPy's integer wrap-around,
accurate float reductions, an FFT for any length, and a compute path that never
touches NumPy.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import backends
from backends import OPS, IndexOutOfRange, NotSquareOrNotDefinite, UnsupportedDType
from backends.python_backend import PyTensor, PythonBackend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def py() -> PythonBackend:
    be = backends.get("python")
    assert isinstance(be, PythonBackend)
    return be


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _run(py: PythonBackend, op: str, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
    out = py.op(op)(*(py.from_numpy(a) for a in arrays), **kwargs)
    result: np.ndarray = py.to_numpy(out)
    return result


# ---------------------------------------------------------------------------
# float rounding


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_float_arithmetic_is_correctly_rounded_into_the_dtype(py: PythonBackend, op: str, dtype: str) -> None:
    # NumPy's float32/float16 +-*/ are correctly rounded; computing in double and
    # rounding once must give the same bits, and differ from the unrounded double.
    rng = _rng(1)
    x = rng.uniform(0.5, 2.0, 200).astype(dtype)
    y = rng.uniform(0.5, 2.0, 200).astype(dtype)
    got = _run(py, op, x, y)
    expected = getattr(np, op)(x, y)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, expected)
    exact = getattr(np, op)(x.astype(np.float64), y.astype(np.float64))
    assert np.any(got.astype(np.float64) != exact)  # the rounding really happened


def test_float32_overflow_rounds_to_infinity(py: PythonBackend) -> None:
    x = np.array([88.0, 89.0, -200.0, 1e38], dtype=np.float32)
    got = _run(py, "exp", x)
    assert got[0] == np.float32(np.exp(np.float64(88.0)))
    assert got[1] == np.inf  # e**89 fits a double but not a float32
    assert got[2] == 0.0
    assert _run(py, "multiply", x[3:], np.array([10.0], np.float32))[0] == np.inf


def test_float16_overflow_and_rounding(py: PythonBackend) -> None:
    x = np.array([65504.0, 65519.0, 65520.0, 1e6, -1e6, 0.1, np.nan])
    got = _run(py, "astype", x, dtype="float16")
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(got, x.astype(np.float16))
    assert got.tolist()[:5] == [65504.0, 65504.0, np.inf, np.inf, -np.inf]


def test_float_values_stay_representable_in_their_dtype(py: PythonBackend) -> None:
    x = py.from_numpy(np.array([0.1, 1 / 3, 2.0 / 7], dtype=np.float32))
    out = py.sqrt(py.divide(x, py.add(x, x)))
    assert all(float(np.float32(v)) == v for v in out.data)


def test_float32_sum_is_accurate_where_float32_accumulation_is_not(py: PythonBackend) -> None:
    # 2**24 + 1 + 1 + 1 + 1: adding 1s one at a time in float32 never leaves 2**24
    x = np.array([2.0**24, 1, 1, 1, 1], dtype=np.float32)
    assert float(_run(py, "sum", x)) == 2.0**24 + 4
    assert float(_run(py, "mean", x)) == np.float32((2.0**24 + 4) / 5)
    # cancellation: fsum recovers the small terms exactly
    y = np.array([1e30, 1.0, -1e30, 2.0], dtype=np.float64)
    assert float(_run(py, "sum", y)) == 3.0


# ---------------------------------------------------------------------------
# integer wrap-around


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint8", "int32", "int64"])
@pytest.mark.parametrize("op", ["add", "subtract", "multiply"])
def test_integer_arithmetic_wraps_like_numpy(py: PythonBackend, dtype: str, op: str) -> None:
    info = np.iinfo(dtype)
    rng = _rng(2)
    x = np.concatenate([[info.max, info.min, info.max], rng.integers(info.min, info.max, 60, endpoint=True)]).astype(dtype)
    y = np.concatenate([[1, -1 if info.min else 1, info.max], rng.integers(info.min, info.max, 60, endpoint=True)]).astype(dtype)
    with np.errstate(over="ignore"):
        expected = getattr(np, op)(x, y)
    got = _run(py, op, x, y)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, expected)


def test_integer_unary_and_shift_wrap(py: PythonBackend) -> None:
    x = np.array([-128, -1, 0, 127], dtype=np.int8)
    np.testing.assert_array_equal(_run(py, "abs", x), [-128, 1, 0, 127])
    np.testing.assert_array_equal(_run(py, "negative", x), [-128, 1, 0, -127])
    u = np.array([0, 1, 255], dtype=np.uint8)
    np.testing.assert_array_equal(_run(py, "negative", u), np.negative(u))
    np.testing.assert_array_equal(_run(py, "bitwise_invert", u), np.invert(u))
    shifts = np.array([1, 7, 3, 1], dtype=np.int8)
    np.testing.assert_array_equal(_run(py, "bitwise_left_shift", x, shifts), np.left_shift(x, shifts))


def test_integer_sums_accumulate_in_int64_and_wrap(py: PythonBackend) -> None:
    x = np.array([2**31 - 1] * 4, dtype=np.int32)
    assert _run(py, "sum", x).dtype == np.int64
    assert int(_run(py, "sum", x)) == 4 * (2**31 - 1)
    big = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    with np.errstate(over="ignore"):
        assert int(_run(py, "sum", big)) == int(np.sum(big))
        np.testing.assert_array_equal(_run(py, "cumulative_sum", big), np.cumsum(big))
    assert int(_run(py, "prod", np.array([2**40, 2**40, 3], dtype=np.int64))) == int(np.prod(np.array([2**40, 2**40, 3], dtype=np.int64)))


def test_integer_division_by_zero_gives_zero_like_numpy(py: PythonBackend) -> None:
    x = np.array([7, -7, 0], dtype=np.int32)
    y = np.array([0, 0, 0], dtype=np.int32)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(_run(py, "floor_divide", x, y), np.floor_divide(x, y))
        np.testing.assert_array_equal(_run(py, "remainder", x, y), np.remainder(x, y))


def test_float_domain_errors_give_ieee_values_not_exceptions(py: PythonBackend) -> None:
    x = np.array([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 1e300])
    y = np.array([0.0, 0.0, 0.5, 2.0, 3.0, 1.0, 2.0])
    with np.errstate(all="ignore"):
        for op in ("log", "sqrt", "rsqrt", "exp", "sinh", "cosh", "asin", "log1p"):
            np.testing.assert_array_equal(_run(py, op, x), _numpy(op, x), err_msg=op)
        for op in ("divide", "pow", "floor_divide", "remainder"):
            np.testing.assert_array_equal(_run(py, op, x, y), getattr(np, {"pow": "power"}.get(op, op))(x, y), err_msg=op)


def _numpy(op: str, x: np.ndarray) -> np.ndarray:
    if op == "rsqrt":
        return 1 / np.sqrt(x)
    result: np.ndarray = getattr(np, {"asin": "arcsin"}.get(op, op))(x)
    return result


# ---------------------------------------------------------------------------
# fft


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 12, 17, 31, 33, 45, 97, 100, 128, 1000, 1031])
def test_fft_matches_numpy_for_any_length(py: PythonBackend, n: int) -> None:
    rng = _rng(n)
    x = rng.normal(size=(2, n)) + 1j * rng.normal(size=(2, n))
    got = _run(py, "fft", x)
    expected = np.fft.fft(x)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * scale * max(1, np.log2(n)))
    np.testing.assert_allclose(_run(py, "ifft", got.astype(np.complex128)), x, rtol=0, atol=1e-12 * max(1, np.log2(n)) * np.abs(x).max())


def test_fft_complex64_is_rounded_and_works_along_any_axis(py: PythonBackend) -> None:
    rng = _rng(7)
    x = (rng.normal(size=(12, 3)) + 1j * rng.normal(size=(12, 3))).astype(np.complex64)
    got = _run(py, "fft", x, axis=0)
    assert got.dtype == np.complex64
    np.testing.assert_allclose(got, np.fft.fft(x.astype(np.complex128), axis=0), rtol=1e-6, atol=1e-5)
    assert all(np.float32(v.real) == v.real and np.float32(v.imag) == v.imag for v in py.fft(py.from_numpy(x), axis=0).data)


# ---------------------------------------------------------------------------
# data-dependent errors, raised before any result exists


def test_data_dependent_errors(py: PythonBackend) -> None:
    x = py.from_numpy(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexOutOfRange):
        py.take(x, py.from_numpy(np.array([0, 3])), axis=1)
    with pytest.raises(IndexOutOfRange):
        py.scatter_add(x, py.from_numpy(np.array([-3])), py.from_numpy(np.ones((1, 3))), axis=0)
    assert py.to_numpy(py.take(x, py.from_numpy(np.array([-3, 2], np.int32)), axis=1)).tolist() == [[0.0, 2.0], [3.0, 5.0]]
    not_pd = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    with pytest.raises(NotSquareOrNotDefinite):
        py.cholesky(py.from_numpy(not_pd))
    with pytest.raises(NotSquareOrNotDefinite):
        py.triangular_solve(py.from_numpy(np.diag([1.0, 0.0])), py.from_numpy(np.ones((2, 1))))


# ---------------------------------------------------------------------------
# boundary and provenance


@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64", "complex128"]
)
def test_numpy_round_trip_is_exact(py: PythonBackend, dtype: str) -> None:
    x = (_rng(3).normal(size=(3, 4)) * 50).astype(dtype)
    t = py.from_numpy(x.T)  # non-contiguous input
    assert t.shape == (4, 3) and t.dtype == dtype and isinstance(t.data, list)
    back = py.to_numpy(t)
    assert back.dtype == x.dtype
    np.testing.assert_array_equal(back, x.T)
    assert py.to_numpy(py.from_numpy(x[0, 0])).shape == ()


def test_unsupported_dtypes_are_refused(py: PythonBackend) -> None:
    with pytest.raises(UnsupportedDType):
        py.from_numpy(np.zeros(3, dtype=np.uint16))
    with pytest.raises(UnsupportedDType):
        py.astype(py.from_numpy(np.zeros(3)), "bfloat16")


def test_from_values_rounds_and_wraps() -> None:
    assert PyTensor.from_values([300, -129], (2,), "int8").data == [44, 127]
    assert PyTensor.from_values([0.1], (), "float32").data == [float(np.float32(0.1))]
    with pytest.raises(ValueError):
        PyTensor.from_values([1, 2, 3], (2, 2), "int64")


def test_describe_reports_the_interpreter(py: PythonBackend) -> None:
    info = py.describe()
    assert info["backend"] == "python"
    assert info["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert info["python_implementation"]


# ---------------------------------------------------------------------------
# every op runs with NumPy unimportable

# (op, inputs as (shape, dtype), positional params, keyword params)
_F = "float64"
_CASES: list[tuple[str, list[tuple[tuple[int, ...], str]], tuple[Any, ...], dict[str, Any]]] = [
    ("arange", [], (1, 7, 2), {}),
    ("full", [], ((2, 3), 1.5), {"dtype": "float32"}),
    ("eye", [], (3, 4), {"k": 1}),
    ("where", [((2, 3), "bool"), ((2, 3), _F), ((3,), _F)], (), {}),
    ("clip", [((2, 3), _F)], (0.3, 0.6), {}),
    ("cumulative_sum", [((2, 3), "int32")], (0,), {}),
    ("window_sum", [((2, 4, 5), _F)], ((2, 3),), {"strides": (1, 2)}),
    ("window_max", [((4, 5), _F)], ((2, 2),), {}),
    ("reshape", [((2, 3, 4), _F)], ((4, -1),), {}),
    ("permute_dims", [((2, 3, 4), _F)], ((2, 0, 1),), {}),
    ("broadcast_to", [((3, 1), _F)], ((2, 3, 4),), {}),
    ("expand_dims", [((2, 3), _F)], (1,), {}),
    ("squeeze", [((2, 1, 3), _F)], (1,), {}),
    ("slice", [((4, 5), _F)], ((1, 0), (3, 5), (2, 2)), {}),
    ("put_slice", [((4, 5), _F), ((2, 2), _F)], ((1, 3),), {}),
    ("pad", [((2, 3), "int32")], (((1, 0), (2, 1)), 7), {}),
    ("flip", [((2, 3), _F)], (1,), {}),
    ("take", [((3, 4), _F), ((3,), "int64")], (), {"axis": 1}),
    ("scatter_add", [((3, 4), _F), ((3,), "int64"), ((3, 3), _F)], (), {"axis": 1}),
    ("astype", [((2, 3), _F)], ("int8",), {}),
    ("matmul", [((2, 3, 4), _F), ((4, 2), _F)], (), {}),
    ("conv", [((1, 2, 5, 5), _F), ((3, 2, 2, 2), _F)], ((2, 1), ((1, 0), (0, 1))), {}),
    ("cholesky", [((3, 3), "spd")], (), {}),
    ("triangular_solve", [((3, 3), "spd"), ((3, 2), _F)], (), {"lower": False}),
    ("sort", [((3, 4), _F)], (0, True), {}),
    ("argsort", [((3, 4), _F)], (), {}),
    ("top_k", [((3, 5), _F)], (2,), {}),
    ("fft", [((2, 6), "complex128")], (), {}),
    ("ifft", [((5, 2), "complex64")], (0,), {}),
    ("softmax", [((2, 5), _F)], (0,), {}),
    ("logsumexp", [((2, 5), _F)], (), {}),
    ("gelu", [((2, 5), _F)], (), {}),
    ("layer_norm", [((2, 5), _F), ((5,), _F), ((5,), _F)], (), {}),
    ("dense", [((2, 4), _F), ((4, 3), _F), ((3,), _F)], (), {}),
    ("mlp_forward", [((2, 4), _F), ((4, 3), _F), ((3,), _F), ((3, 2), _F), ((2,), _F)], (), {}),
]


def _generated_cases() -> list[tuple[str, list[tuple[tuple[int, ...], str]], tuple[Any, ...], dict[str, Any]]]:
    cases = list(_CASES)
    for name, spec in OPS.items():
        dtype = next(d for d in ("float64", "int32", "bool") if d in spec.dtypes) if spec.group in ("unary", "binary") else ""
        if spec.group in ("unary", "binary"):
            cases.append((name, [((2, 3), dtype)] * spec.arity, (), {}))
        elif spec.group == "reduction" and name != "cumulative_sum":
            cases.append((name, [((2, 3), "float64" if "float64" in spec.dtypes else "bool")], (), {"axis": 1}))
    cases += [("concat", [((2, 3), _F), ((2, 1), _F)], (1,), {}), ("stack", [((2, 3), _F), ((2, 3), _F)], (1,), {})]
    return cases


def _input(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = _rng(seed)
    if dtype == "spd":
        a = rng.normal(size=shape)
        return a @ a.T + shape[0] * np.eye(shape[0])
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64" and shape == (3,):
        return np.array([2, 0, 2])  # indices
    if dtype in ("int32", "int64"):
        return rng.integers(1, 4, shape).astype(dtype)
    if dtype.startswith("complex"):
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    return rng.uniform(0.1, 0.9, shape).astype(dtype)  # inside every unary op's domain


_CHILD = textwrap.dedent(
    """
    import pickle, sys
    sys.modules["numpy"] = None  # any import of numpy now raises ImportError
    from backends.python_backend import PyTensor, PythonBackend
    be = PythonBackend()
    results = []
    for op, inputs, args, kwargs in pickle.load(sys.stdin.buffer):
        tensors = [PyTensor.from_values(data, shape, dtype) for data, shape, dtype in inputs]
        if op in ("concat", "stack"):
            tensors = [tensors]
        out = getattr(be, op)(*tensors, *args, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        results.append([(o.data, o.shape, o.dtype) for o in outs])
    assert not any(name == "numpy" or name.startswith("numpy.") for name, m in sys.modules.items() if m is not None)
    pickle.dump(results, sys.stdout.buffer)
    """
)


def test_every_op_runs_without_numpy_and_matches_numpy_backend() -> None:
    cases = _generated_cases()
    assert {op for op, *_ in cases} == set(OPS)  # every catalog op is exercised
    numpy_be = backends.get("numpy")
    payload, expected = [], []
    for i, (op, specs, args, kwargs) in enumerate(cases):
        arrays = [_input(shape, dtype, i * 10 + j) for j, (shape, dtype) in enumerate(specs)]
        payload.append((op, [(a.ravel().tolist(), a.shape, a.dtype.name) for a in arrays], args, kwargs))
        tensors: list[Any] = [numpy_be.from_numpy(a) for a in arrays]
        if op in ("concat", "stack"):
            tensors = [tensors]
        out = getattr(numpy_be, op)(*tensors, *args, **kwargs)
        expected.append(out if isinstance(out, tuple) else (out,))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], input=pickle.dumps(payload), capture_output=True, cwd=ROOT, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    results = pickle.loads(proc.stdout)
    for (op, *_), got, want in zip(cases, results, expected, strict=True):
        for (data, shape, dtype), w in zip(got, want, strict=True):
            w = np.asarray(w)
            assert (tuple(shape), dtype) == (w.shape, w.dtype.name), op
            np.testing.assert_allclose(np.array(data, dtype=dtype).reshape(shape), w, rtol=1e-6, atol=1e-12, err_msg=op)


def _numpy_imports(tree: ast.AST) -> list[tuple[str, int]]:
    """(enclosing function name or '<module>', line) of each import of numpy."""
    found = []
    scopes: list[tuple[str, ast.AST]] = [("<module>", tree)]
    while scopes:
        scope, node = scopes.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                scopes.append((child.name, child))
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                names = [a.name for a in child.names] if isinstance(child, ast.Import) else [child.module or ""]
                if any(name.split(".")[0] == "numpy" for name in names):
                    found.append((scope, child.lineno))
            scopes.append((scope, child))
    return found


def test_only_the_numpy_boundary_imports_numpy() -> None:
    package = ROOT / "backends" / "python_backend"
    imports = {path.name: _numpy_imports(ast.parse(path.read_text())) for path in package.glob("*.py")}
    assert len(imports) >= 8
    assert sorted(scope for scope, _ in imports.pop("backend.py")) == ["from_numpy", "to_numpy"]
    assert all(not found for found in imports.values()), imports
