"""numba:cuda kernel paths the conformance cases are too small to reach, checked in numba-cuda's simulator.

Not collected on its own (no ``test_`` prefix): ``test_numba_cuda_backend.py`` runs it with
``NUMBA_ENABLE_CUDASIM=1`` in a fresh interpreter, since numba picks the simulator when
``numba.cuda`` is first imported. In the simulator a block has 8 threads and a launch at
most 3 blocks (``_launch``), so a few hundred elements cross the grid-stride loop, the
multi-block row split of the reductions and softmax, and the merge of their parts.
Expected values come from NumPy in float64, never from the backend.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import backends
from backends.numba_cuda_backend import _launch

pytestmark = pytest.mark.skipif(not _launch.SIMULATED, reason="needs NUMBA_ENABLE_CUDASIM=1 before numba.cuda is imported")


@pytest.fixture(scope="module")
def be() -> Any:  # ops are set on the class at run time: typed loosely
    return backends.get("numba:cuda")


def _rng() -> np.random.Generator:
    return np.random.default_rng(30)


def test_launch_shapes_cross_block_and_grid_boundaries() -> None:
    """The sizes below are worth testing only if they exceed one launch's threads and one block."""
    assert _launch.TPB * _launch.BLOCKS < 300
    assert _launch.parts_per_row(1, 300) > 1  # one long row: split, then merged
    assert _launch.parts_per_row(2, 300) == 1  # a few rows: one block each (the one-kernel softmax/layer_norm)


@pytest.mark.parametrize("n", [1, 9, 25, 301])
def test_exp_and_add_every_element_written(be: Any, n: int) -> None:
    x = _rng().standard_normal(n).astype(np.float32)
    e = be.exp(be.from_numpy(x))
    got_exp = be.to_numpy(e)
    np.testing.assert_allclose(got_exp, np.exp(x.astype(np.float64)), rtol=2e-6)
    np.testing.assert_array_equal(be.to_numpy(be.add(e, be.from_numpy(x))), got_exp + x)  # float32 add: one rounding


def test_broadcast_general_kernel_3d(be: Any) -> None:
    rng = _rng()
    a = rng.integers(-50, 50, (4, 1, 6)).astype(np.int64)
    b = rng.integers(-50, 50, (5, 1)).astype(np.int64)
    got = be.to_numpy(be.subtract(be.from_numpy(a), be.from_numpy(b)))
    np.testing.assert_array_equal(got, a - b)


@pytest.mark.parametrize(
    "op, shape, axis",
    [
        ("sum", (5, 67), None),  # one row over several blocks, then their merge
        ("max", (5, 67), None),
        ("mean", (5, 67), None),
        ("prod", (2, 67), 1),  # two rows, each split
        ("mean", (2, 67), 1),
        ("min", (67, 3), 0),  # along an inner axis: strided reads
        ("sum", (67, 3), 0),
    ],
)
def test_reductions_split_rows(be: Any, op: str, shape: tuple[int, int], axis: int | None) -> None:
    rng = _rng()
    x = rng.uniform(0.9, 1.1, shape) if op == "prod" else rng.standard_normal(shape)
    got = be.to_numpy(getattr(be, op)(be.from_numpy(x), axis))
    want = getattr(np, op)(x, axis=axis)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_int_sum_of_long_row_accumulates_in_int64(be: Any) -> None:
    x = np.full(301, np.iinfo(np.int32).max, dtype=np.int32)
    assert int(be.to_numpy(be.sum(be.from_numpy(x)))) == 301 * int(np.iinfo(np.int32).max)


@pytest.mark.parametrize("largest", [True, False])
def test_arg_extreme_ties_and_nan_across_blocks(be: Any, largest: bool) -> None:
    x = np.zeros(301, dtype=np.float64)
    x[[40, 200, 260]] = 5.0 if largest else -5.0  # ties: the first index wins
    op = be.argmax if largest else be.argmin
    assert int(be.to_numpy(op(be.from_numpy(x)))) == 40
    x[[150, 290]] = np.nan  # NaN wins, first one
    assert int(be.to_numpy(op(be.from_numpy(x)))) == 150


def test_any_all_long_rows(be: Any) -> None:
    x = np.zeros(301, dtype=bool)
    assert not bool(be.to_numpy(be.any(be.from_numpy(x))))
    x[299] = True
    assert bool(be.to_numpy(be.any(be.from_numpy(x))))
    assert not bool(be.to_numpy(be.all(be.from_numpy(x))))
    assert bool(be.to_numpy(be.all(be.from_numpy(np.ones(301, dtype=bool)))))


@pytest.mark.parametrize("shape, axis", [((301,), -1), ((3, 130), -1), ((130, 3), 0), ((2, 70, 3), 1)])
def test_softmax_and_logsumexp_split_rows(be: Any, shape: tuple[int, ...], axis: int) -> None:
    x = _rng().standard_normal(shape) * 20  # spread out: the online max merge matters
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(
        be.to_numpy(be.softmax(be.from_numpy(x), axis)), e / e.sum(axis=axis, keepdims=True), rtol=1e-12, atol=1e-300
    )
    lse = np.log(e.sum(axis=axis)) + x.max(axis=axis)
    np.testing.assert_allclose(be.to_numpy(be.logsumexp(be.from_numpy(x), axis)), lse, rtol=1e-12)


@pytest.mark.parametrize("rows", [1, 2])  # 1: the row split over blocks and merged; 2: one block per row
def test_layer_norm_long_row(be: Any, rows: int) -> None:
    rng = _rng()
    x = rng.standard_normal((rows, 301)) * 3 + 100  # a large mean: a one-pass sum of squares would lose digits
    g, b = rng.standard_normal(301), rng.standard_normal(301)
    mean = x.mean(axis=-1, keepdims=True)
    want = (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5) * g + b
    got = be.to_numpy(be.layer_norm(be.from_numpy(x), be.from_numpy(g), be.from_numpy(b)))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_round_half_to_even_and_floor_of_large_values(be: Any) -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999999999999996, 2**52 + 1.0, -(2.0**60), np.inf, -np.inf], dtype=np.float64)
    np.testing.assert_array_equal(be.to_numpy(be.round(be.from_numpy(x))), np.round(x))
    np.testing.assert_array_equal(be.to_numpy(be.floor(be.from_numpy(x))), np.floor(x))
    np.testing.assert_array_equal(be.to_numpy(be.ceil(be.from_numpy(x))), np.ceil(x))


def test_gelu_matches_erf_form(be: Any) -> None:
    x = np.linspace(-6, 6, 301)
    want = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    np.testing.assert_allclose(be.to_numpy(be.gelu(be.from_numpy(x))), want, rtol=1e-12, atol=1e-15)


def test_describe_says_simulated(be: Any) -> None:
    info = be.describe()
    assert info["simulated"] == "true"
    assert info["device"] == "cuda"
