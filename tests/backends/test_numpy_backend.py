"""The numpy backend beyond the conformance suite (which has no bfloat16 cases)."""

from __future__ import annotations

import numpy as np
import pytest

import backends

ml_dtypes = pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize("op", ["matmul", "dense", "mlp_forward"])
def test_bfloat16_matrix_ops_return_bfloat16(op: str) -> None:
    # Found on the H200 run: ml_dtypes' bfloat16 matmul returns float32, so the gpu
    # profile's output check refused numpy's bfloat16 dense cells.
    rng = np.random.default_rng(0)
    x, w1, w2 = (rng.standard_normal((16, 16)).astype(ml_dtypes.bfloat16) for _ in range(3))
    b1, b2 = (rng.standard_normal(16).astype(ml_dtypes.bfloat16) for _ in range(2))
    args = {"matmul": (x, w1), "dense": (x, w1, b1), "mlp_forward": (x, w1, b1, w2, b2)}[op]
    be = backends.get("numpy")
    out = be.to_numpy(getattr(be, op)(*(be.from_numpy(a) for a in args)))
    assert out.dtype == ml_dtypes.bfloat16
    f32 = [a.astype(np.float32) for a in args]
    want = {
        "matmul": lambda: f32[0] @ f32[1],
        "dense": lambda: np.maximum(f32[0] @ f32[1] + f32[2], 0),
        "mlp_forward": lambda: np.maximum(f32[0] @ f32[1] + f32[2], 0).astype(ml_dtypes.bfloat16).astype(np.float32) @ f32[3] + f32[4],
    }[op]()
    np.testing.assert_allclose(out.astype(np.float32), want, rtol=2e-2, atol=5e-2)
