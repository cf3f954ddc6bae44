"""Building blocks of a dense network (SPEC §1): multi-stride layers and the unwarp step.

A layer with stride ``(sy, sx)`` of the patch network becomes :class:`MultiStride`: the same layer at
stride 1 followed by a space-to-batch rearrangement. This is value-for-value what the article's
multi-pool computes (the layer applied to ``x[..., i:, j:]`` at stride ``s`` for every shift
``(i, j)``, cropped to a common size and stacked on the batch in ``(i, j)`` order): the stride-``s``
output at shift ``i`` and position ``y*`` is the stride-1 output at ``i + s*y*``. One call to the layer
instead of ``sy*sx`` calls keeps the convolution a single large GEMM and the graph exportable
(slice, reshape, transpose only).
"""

from __future__ import annotations

import torch
from torch import nn

# TensorRT's maximum tensor rank: a single-permute unwarp needs rank 2n + 4 for n strided layers.
TRT_MAX_RANK = 8


class MultiStride(nn.Module):
    """The stride-1 form of a strided layer followed by space-to-batch.

    Args:
        layer: the layer with its stride set to 1 (Conv2d, MaxPool2d, AvgPool2d).
        stride: the original ``(sy, sx)``.

    Shape: ``(B, C, H, W) -> (sy*sx*B, C', (H-kh+1)//sy, (W-kw+1)//sx)``; the new batch index is
    ``(i*sx + j)*B + b`` for shift ``(i, j)``.
    """

    def __init__(self, layer: nn.Module, stride: tuple[int, int]):
        super().__init__()
        self.layer = layer
        self.sy, self.sx = int(stride[0]), int(stride[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return space_to_batch(self.layer(x), self.sy, self.sx)

    def extra_repr(self) -> str:
        return f"stride=({self.sy}, {self.sx})"


def space_to_batch(y: torch.Tensor, sy: int, sx: int) -> torch.Tensor:
    """``(B, C, H1, W1) -> (sy*sx*B, C, H1//sy, W1//sx)``: shift ``(i, j)`` goes to batch block ``i*sx+j``."""
    b, c, h1, w1 = y.shape
    h, w = h1 // sy, w1 // sx
    y = y[:, :, : h * sy, : w * sx]
    y = y.reshape(b, c, h, sy, w, sx).permute(3, 5, 0, 1, 2, 4)
    return y.reshape(sy * sx * b, c, h, w)


def unwarp(x: torch.Tensor, strides: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """Batch-stacked multi-stride output -> dense map (SPEC §1 step 5).

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


class Unwarp(nn.Module):
    """Module form of :func:`unwarp`; ``impl`` selects the plain permute or the ``edge::multipool_unwarp``
    custom op (which exports as one EdgeMultiPoolUnwarp plugin node)."""

    def __init__(self, strides: tuple[tuple[int, int], ...], impl: str = "permute"):
        super().__init__()
        self.strides = tuple((int(a), int(b)) for a, b in strides)
        self.impl = impl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.impl == "op":
            from edge.ops import multipool_unwarp  # registers the custom op on first use

            return multipool_unwarp(x, self.strides)
        return unwarp(x, self.strides)

    def extra_repr(self) -> str:
        return f"strides={self.strides}, impl={self.impl!r}"


class Pointwise(nn.Module):
    """A pointwise function found in a traced forward (``torch.relu(x)``, ``x.tanh()``) as a module."""

    def __init__(self, fn, kwargs: dict | None = None, name: str | None = None):
        super().__init__()
        self.fn = fn
        self.kwargs = dict(kwargs or {})
        self.name = name or getattr(fn, "__name__", str(fn))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, **self.kwargs)

    def extra_repr(self) -> str:
        return self.name
