"""EdgeMultiPoolUnwarp CPU reference (plugins/multipool_unwarp, via edge.native) against the PyTorch reference
op, edge.dense's unwarp and an independent numpy formula of the contract: FP32 and FP16 bit-exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import InputError

STRIDE = st.sampled_from([1, 2, 3, 4])


def contract_unwarp(x: np.ndarray, strides, batch=0, out_h=0, out_w=0) -> np.ndarray:
    """README "Element definition" written independently with numpy index arithmetic."""
    sys_, sxs = [a for a, _ in strides], [b for _, b in strides]
    m_tot = math.prod(a * b for a, b in strides)
    n, c, h, w = x.shape
    b_ = batch or n // m_tot
    ho = out_h or h * math.prod(sys_)
    wo = out_w or w * math.prod(sxs)
    y = np.arange(ho)[:, None]
    xx = np.arange(wo)[None, :]
    m = np.zeros((ho, wo), dtype=np.int64)
    radix = 1
    for sy, sx in zip(sys_, sxs):  # first layer = least significant digit
        m = m + ((y % sy) * sx + (xx % sx)) * radix
        radix *= sy * sx
        y, xx = y // sy, xx // sx
    ys = np.broadcast_to(y, (ho, wo))
    xs = np.broadcast_to(xx, (ho, wo))
    bidx = m[None] * b_ + np.arange(b_)[:, None, None]  # (B, ho, wo)
    return x[bidx[:, None], np.arange(c)[None, :, None, None], ys[None, None], xs[None, None]]


@st.composite
def unwarp_case(draw):
    n = draw(st.integers(1, 3))
    strides = [(draw(STRIDE), draw(STRIDE)) for _ in range(n)]
    b, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sy, sx = math.prod(a for a, _ in strides), math.prod(b for _, b in strides)
    crop = draw(st.booleans())
    out_h = draw(st.integers(1, h * sy)) if crop else 0
    out_w = draw(st.integers(1, w * sx)) if crop else 0
    explicit_batch = draw(st.booleans())
    return strides, b, c, h, w, out_h, out_w, (b if explicit_batch else 0)


@settings(max_examples=60, deadline=None)
@given(case=unwarp_case(), half=st.booleans())
def test_unwarp_matches_torch_op_and_contract(ref_lib, case, half):
    from edge.native import multipool_unwarp as native
    from edge.ops import multipool_unwarp as op

    strides, b, c, h, w, out_h, out_w, batch = case
    m = math.prod(a * q for a, q in strides)
    x = torch.randn(b * m, c, h, w, dtype=torch.float16 if half else torch.float32)
    got = native(x, strides, batch, out_h, out_w)
    want = op(x, strides, batch, out_h, out_w)
    assert got.dtype == x.dtype and got.shape == want.shape
    assert torch.equal(got, want)  # a gather: bit-exact in both precisions
    assert np.array_equal(got.numpy(), contract_unwarp(x.numpy(), strides, batch, out_h, out_w))


@pytest.mark.parametrize("strides", [((2, 2),), ((2, 2), (2, 2)), ((2, 3), (3, 2), (4, 4)), ((1, 4), (3, 1))])
def test_unwarp_inverts_the_dense_body_layout(ref_lib, strides):
    """space_to_batch per strided layer (edge.dense's body), then the reference gives back the image."""
    from edge.dense.layers import space_to_batch
    from edge.native import multipool_unwarp as native

    sy, sx = math.prod(a for a, _ in strides), math.prod(b for _, b in strides)
    img = torch.randn(2, 3, 3 * sy, 2 * sx)
    body = img
    for a, q in strides:
        body = space_to_batch(body, a, q)
    assert torch.equal(native(body, strides), img)


def test_unwarp_numpy_in_numpy_out(ref_lib):
    from edge.native import multipool_unwarp as native

    x = np.arange(16, dtype=np.float32).reshape(4, 1, 2, 2)
    y = native(x, [(2, 2)])
    assert isinstance(y, np.ndarray) and y.shape == (1, 1, 4, 4)
    assert np.array_equal(y, contract_unwarp(x, [(2, 2)]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(x_shape=(15, 1, 2, 2), strides=[(2, 2), (2, 2)]), "multiple"),
    (dict(x_shape=(16, 1, 2, 2), strides=[(2, 2)], batch=3), "batch"),
    (dict(x_shape=(4, 1, 2, 2), strides=[(2, 0)]), ">= 1"),
    (dict(x_shape=(4, 1, 2, 2), strides=[(2, 2)], out_h=5), "exceed"),
    (dict(x_shape=(4, 1, 2, 2), strides=[(2, 2)] * 9), "1 to 8"),
])
def test_unwarp_rejects_bad_input_with_the_reason(ref_lib, kwargs, message):
    from edge.native import multipool_unwarp as native

    x = np.zeros(kwargs.pop("x_shape"), np.float32)
    with pytest.raises(InputError, match=message):
        native(x, **kwargs)


def test_unwarp_rejects_other_dtypes(ref_lib):
    from edge.native import multipool_unwarp as native

    with pytest.raises(InputError, match="float32 or float16"):
        native(np.zeros((4, 1, 2, 2), np.float64), [(2, 2)])


def test_missing_reference_library_lists_the_paths_tried(monkeypatch, tmp_path):
    from edge.errors import PluginError
    from edge.native import _lib

    monkeypatch.setattr(_lib, "search_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    _lib.ref_library.cache_clear()
    try:
        with pytest.raises(PluginError) as err:
            _lib.ref_library()
        assert str(tmp_path / "a" / "libedge_ref.so") in str(err.value)
        assert str(tmp_path / "b" / "libedge_ref.so") in str(err.value)
        assert "build_plugins.sh" in str(err.value)
    finally:
        _lib.ref_library.cache_clear()  # the next call finds the real library again
