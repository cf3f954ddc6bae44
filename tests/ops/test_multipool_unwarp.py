"""edge::multipool_unwarp: the custom op against the README's per-element definition, the dense unwarp,
its fake (symbolic) shapes, autograd and input errors."""

from __future__ import annotations

import math

import pytest
import torch

from edge.dense import basenet, to_dense, unwarp
from edge.errors import InputError
from edge.ops import multipool_unwarp

STRIDES = [
    ((2, 2),),
    ((3, 2),),
    ((2, 3), (3, 2)),
    ((2, 2), (1, 3), (4, 1)),
    ((1, 1),),
    ((2, 2), (1, 1), (2, 2)),
]


def naive(x: torch.Tensor, strides, batch: int = 0, out_h: int = 0, out_w: int = 0) -> torch.Tensor:
    """plugins/multipool_unwarp/README.md "Element definition", with plain loops over output elements."""
    sy = [a for a, _ in strides]
    sx = [b for _, b in strides]
    m = math.prod(a * b for a, b in strides)
    n, c, h, w = x.shape
    b_ = batch or n // m
    ho, wo = out_h or h * math.prod(sy), out_w or w * math.prod(sx)
    out = x.new_empty(b_, c, ho, wo)
    for y in range(ho):
        for xx in range(wo):
            yy, xr, iy, jx = y, xx, [], []
            for a, b in zip(sy, sx):  # first layer's digit is least significant
                iy.append(yy % a)
                jx.append(xr % b)
                yy //= a
                xr //= b
            shift = 0
            for layer in reversed(range(len(sy))):  # (i_n, j_n, ..., i_1, j_1), i_n most significant
                shift = (shift * sy[layer] + iy[layer]) * sx[layer] + jx[layer]
            for bi in range(b_):
                out[bi, :, y, xx] = x[shift * b_ + bi, :, yy, xr]
    return out


@pytest.mark.parametrize("strides", STRIDES, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_matches_element_definition_bit_exact(strides, dtype):
    m = math.prod(a * b for a, b in strides)
    x = torch.randn(2 * m, 3, 3, 2).to(dtype)
    got = multipool_unwarp(x, strides)
    assert got.dtype == dtype
    assert torch.equal(got, naive(x, strides))
    assert torch.equal(got, unwarp(x, strides))


@pytest.mark.parametrize("strides", STRIDES[:4], ids=str)
def test_crop_and_explicit_batch(strides):
    m = math.prod(a * b for a, b in strides)
    x = torch.randn(3 * m, 2, 3, 4)
    sy, sx = math.prod(a for a, _ in strides), math.prod(b for _, b in strides)
    oh, ow = 3 * sy - 1 or 1, 4 * sx - 1
    got = multipool_unwarp(x, strides, batch=3, out_h=oh, out_w=ow)
    assert got.shape == (3, 2, oh, ow)
    assert torch.equal(got, naive(x, strides, 3, oh, ow))
    assert torch.equal(got, unwarp(x, strides)[:, :, :oh, :ow])
    only_w = multipool_unwarp(x, strides, out_w=ow)
    assert only_w.shape == (3, 2, 3 * sy, ow)


def test_output_is_a_fresh_tensor():
    x = torch.randn(2, 3, 4, 5)
    y = multipool_unwarp(x, ((1, 1),))
    assert torch.equal(x, y)
    y.add_(1)
    assert not torch.equal(x, y)


def test_opcheck_and_symbolic_shapes():
    x = torch.randn(12, 2, 3, 4)
    torch.library.opcheck(torch.ops.edge.multipool_unwarp.default, (x, [2, 1], [1, 3], 0, 5, 11))

    class M(torch.nn.Module):
        def forward(self, t):
            return multipool_unwarp(t, ((2, 1), (1, 3)))

    b = torch.export.Dim("b", min=2, max=100)
    dims = {0: 6 * b, 2: torch.export.Dim("h"), 3: torch.export.Dim("w")}
    ep = torch.export.export(M(), (x,), dynamic_shapes=(dims,))
    out = [n for n in ep.graph.nodes if n.op == "output"][0].args[0][0].meta["val"]
    assert all(isinstance(d, torch.SymInt) for d in (out.shape[0], out.shape[2], out.shape[3]))
    t = torch.randn(18, 2, 5, 7)
    y = ep.module()(t)
    assert y.shape == (3, 2, 10, 21)
    assert torch.equal(y, naive(t, ((2, 1), (1, 3))))


def test_gradient():
    strides = ((2, 1), (1, 2))
    x = torch.randn(8, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: multipool_unwarp(t, strides, out_h=3, out_w=5), (x,))


def test_dense_net_with_op_equals_permute():
    net = basenet()
    x = torch.randn(2, 1, 21, 30)
    a = to_dense(net, 15, unwarp="permute")(x)
    b = to_dense(net, 15, unwarp="op")(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "args, match",
    [
        (dict(strides=((2, 2),)), "multiple of M = 4"),
        (dict(strides=((2, 2),), batch=3), "must be 3 \\* 4"),
        (dict(strides=((0, 2),)), "positive"),
        (dict(strides=()), "non-empty"),
        (dict(strides="ab"), "pairs"),
        (dict(strides=((1, 1),), out_h=9), "exceeds"),
        (dict(strides=((1, 1),), batch=-1), ">= 0"),
    ],
)
def test_bad_arguments(args, match):
    with pytest.raises(InputError, match=match):
        multipool_unwarp(torch.randn(6, 1, 2, 2), **args)


def test_bad_rank():
    with pytest.raises(InputError, match="4-D"):
        multipool_unwarp(torch.randn(4, 2, 2), ((2, 2),))
