"""``edge::multipool_unwarp``: batch-stacked multi-stride output -> dense map, as one custom op.

The op is the EdgeMultiPoolUnwarp plugin of ``plugins/multipool_unwarp/README.md`` (METHODS §1 step 5):
a pure gather. In PyTorch its reference is :func:`unwarp` below (reshape + permute)
followed by a crop; its fake implementation gives the output shape for symbolic (dynamic) sizes, so
``torch.export`` and the ONNX exporter see one opaque node that they turn into one plugin node
(or into standard reshape/transpose ops in portable mode, see :mod:`edge.export.multipool_unwarp`).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from edge.errors import InputError

OP_NAME = "edge::multipool_unwarp"

# TensorRT's maximum tensor rank: a single-permute unwarp needs rank 2n + 4 for n strided layers.
TRT_MAX_RANK = 8


def space_to_batch(y: torch.Tensor, sy: int, sx: int) -> torch.Tensor:
    """``(B, C, H1, W1) -> (sy*sx*B, C, H1//sy, W1//sx)``: shift ``(i, j)`` goes to batch block ``i*sx+j``."""
    b, c, h1, w1 = y.shape
    h, w = h1 // sy, w1 // sx
    y = y[:, :, : h * sy, : w * sx]
    y = y.reshape(b, c, h, sy, w, sx).permute(3, 5, 0, 1, 2, 4)
    return y.reshape(sy * sx * b, c, h, w)


def unwarp(x: torch.Tensor, strides: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """Batch-stacked multi-stride output -> dense map (docs/METHODS.md §1 step 5).

    Args:
        x (Tensor[M*B, k, h, w]): output of the last layer, ``M = prod(sy*sx)``; the batch is laid out
            as ``(yn, xn, ..., y1, x1, B)``, the last strided layer's shifts most significant.
        strides: ``((sy1, sx1), ..., (syn, sxn))`` of the strided layers, first layer first.

    Returns:
        Tensor[B, k, h*Sy, w*Sx] with ``Sy = prod(sy)``, ``Sx = prod(sx)``.

    One permute when its rank fits TensorRT's limit of 8 (at most two strided layers), otherwise the
    equivalent chain of rank-6 permutes, one per strided layer, last layer first.
    """
    strides = tuple((int(a), int(b)) for a, b in strides if a * b > 1)
    n = len(strides)
    if n == 0:
        return x
    m = 1
    for sy, sx in strides:
        m *= sy * sx
    mb, k, h, w = x.shape
    b = mb // m
    if 2 * n + 4 <= TRT_MAX_RANK:
        digits = [d for sy, sx in reversed(strides) for d in (sy, sx)]  # yn, xn, ..., y1, x1
        x = x.reshape(*digits, b, k, h, w)
        ys = list(range(0, 2 * n, 2))
        xs = list(range(1, 2 * n, 2))
        x = x.permute(2 * n, 2 * n + 1, 2 * n + 2, *ys, 2 * n + 3, *xs)
        sy_tot = 1
        sx_tot = 1
        for sy, sx in strides:
            sy_tot *= sy
            sx_tot *= sx
        return x.reshape(b, k, h * sy_tot, w * sx_tot)
    for sy, sx in reversed(strides):
        rest = x.shape[0] // (sy * sx)
        h, w = x.shape[-2], x.shape[-1]
        x = x.reshape(sy, sx, rest, k, h, w).permute(2, 3, 4, 0, 5, 1).reshape(rest, k, h * sy, w * sx)
    return x


def _digits(strides_y: Sequence[int], strides_x: Sequence[int]) -> tuple[int, int, int]:
    """``(M, Sy, Sx)``: batch multiplier and total strides."""
    return (
        math.prod(a * b for a, b in zip(strides_y, strides_x)),
        math.prod(strides_y),
        math.prod(strides_x),
    )


def output_shape(n, c, h, w, strides_y, strides_x, batch: int = 0, out_h: int = 0, out_w: int = 0):
    """Output ``(B, C, Ho, Wo)`` of the op for an input ``(N, C, h, w)`` (works on SymInts too)."""
    m, sy, sx = _digits(strides_y, strides_x)
    b = batch if batch > 0 else n // m
    return b, c, (out_h if out_h > 0 else h * sy), (out_w if out_w > 0 else w * sx)


@torch.library.custom_op(OP_NAME, mutates_args=())
def _multipool_unwarp(
    x: torch.Tensor, strides_y: list[int], strides_x: list[int], batch: int, out_h: int, out_w: int
) -> torch.Tensor:
    """Reference implementation: ``unwarp`` (reshape + one permute) then crop; always a fresh tensor."""
    y = unwarp(x, tuple(zip(strides_y, strides_x)))
    if out_h > 0 or out_w > 0:
        y = y[:, :, : out_h if out_h > 0 else y.shape[2], : out_w if out_w > 0 else y.shape[3]]
    y = y.contiguous()
    if y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        y = y.clone()  # a custom op's output must not alias its input (strides all 1)
    return y


@_multipool_unwarp.register_fake
def _multipool_unwarp_fake(x, strides_y, strides_x, batch, out_h, out_w):
    n, c, h, w = x.shape
    m, _, _ = _digits(strides_y, strides_x)
    if batch > 0:
        torch._check(n == batch * m, lambda: f"multipool_unwarp: batch {n} != {batch} * {m}")
    else:
        torch._check(n % m == 0, lambda: f"multipool_unwarp: batch {n} is not a multiple of {m}")
    return x.new_empty(output_shape(n, c, h, w, strides_y, strides_x, batch, out_h, out_w))


def _inverse(grad: torch.Tensor, strides_y, strides_x, n: int, h: int, w: int) -> torch.Tensor:
    """Adjoint of the gather: scatter ``grad (B, C, Ho, Wo)`` back to the input layout ``(N, C, h, w)``."""
    b, c = grad.shape[0], grad.shape[1]
    _, sy, sx = _digits(strides_y, strides_x)
    full = grad.new_zeros((b, c, h * sy, w * sx))
    full[:, :, : grad.shape[2], : grad.shape[3]] = grad
    for ky, kx in zip(strides_y, strides_x):  # first layer's shift is least significant: undo it first
        if ky * kx > 1:
            full = space_to_batch(full, ky, kx)
    return full.reshape(n, c, h, w)


def _setup_context(ctx, inputs, output):
    x, strides_y, strides_x, _, _, _ = inputs
    ctx.meta = (list(strides_y), list(strides_x), x.shape[0], x.shape[2], x.shape[3])


def _backward(ctx, grad):
    sy, sx, n, h, w = ctx.meta
    return _inverse(grad, sy, sx, n, h, w), None, None, None, None, None


_multipool_unwarp.register_autograd(_backward, setup_context=_setup_context)


def _check_args(x, strides) -> tuple[list[int], list[int]]:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"multipool_unwarp takes a 4-D (N, C, h, w) tensor, got {shape}")
    try:
        pairs = [(int(a), int(b)) for a, b in strides]
    except (TypeError, ValueError) as e:
        raise InputError(f"strides must be a sequence of (sy, sx) pairs, got {strides!r}") from e
    if not pairs or any(a < 1 or b < 1 for a, b in pairs):
        raise InputError(f"strides must be a non-empty sequence of positive (sy, sx) pairs, got {strides!r}")
    return [a for a, _ in pairs], [b for _, b in pairs]


def multipool_unwarp(
    x: torch.Tensor, strides, batch: int = 0, out_h: int = 0, out_w: int = 0
) -> torch.Tensor:
    """Dense map from the batch-stacked output of a dense body (METHODS §1 step 5, EdgeMultiPoolUnwarp).

    Args:
        x (Tensor[N, C, h, w]): ``N = B * M``, ``M = prod(sy*sx)``, batch laid out as
            ``(yn, xn, ..., y1, x1, B)`` (the last strided layer's shifts most significant).
        strides: ``((sy1, sx1), ..., (syn, sxn))``, first strided layer first.
        batch: ``B``; 0 (default) derives it as ``N / M``.
        out_h, out_w: crop the output to this size; 0 (default) keeps ``h*Sy`` resp. ``w*Sx``.

    Returns:
        Tensor[B, C, out_h or h*Sy, out_w or w*Sx], same dtype; bit-exact gather of ``x``.
    """
    strides_y, strides_x = _check_args(x, strides)
    batch, out_h, out_w = int(batch or 0), int(out_h or 0), int(out_w or 0)
    if min(batch, out_h, out_w) < 0:
        raise InputError(f"batch/out_h/out_w must be >= 0 (0 = default), got {batch}/{out_h}/{out_w}")
    exporting = torch.compiler.is_compiling()
    if not exporting:
        m, sy, sx = _digits(strides_y, strides_x)
        n, _, h, w = x.shape
        if n % m or (batch and n != batch * m):
            want = f"{batch} * {m}" if batch else f"a multiple of M = {m}"
            raise InputError(
                f"multipool_unwarp: input batch {n} must be {want} (strides {strides!r}). "
                "Fix: pass the output of the dense body unchanged, or the right batch"
            )
        if out_h > h * sy or out_w > w * sx:
            raise InputError(
                f"multipool_unwarp: crop {out_h}x{out_w} exceeds the unwarped size {h * sy}x{w * sx}"
            )
    return torch.ops.edge.multipool_unwarp(x, strides_y, strides_x, batch, out_h, out_w)
