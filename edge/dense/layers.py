"""Building blocks of a dense network (docs/METHODS.md §1): multi-stride layers and the unwarp step.

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

# the reference tensor functions live with the op they define (edge.ops.multipool_unwarp); re-exported here
from edge.ops.multipool_unwarp import TRT_MAX_RANK, space_to_batch, unwarp  # noqa: F401

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


class Unwarp(nn.Module):
    """Module form of :func:`unwarp`; ``impl`` selects the plain permute or the ``edge::multipool_unwarp``
    custom op (which exports as one EdgeMultiPoolUnwarp plugin node)."""

    def __init__(self, strides: tuple[tuple[int, int], ...], impl: str = "permute"):
        super().__init__()
        self.strides = tuple((int(a), int(b)) for a, b in strides)
        self.impl = impl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.impl == "op":
            from edge.ops import multipool_unwarp

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
