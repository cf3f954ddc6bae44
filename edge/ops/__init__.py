"""Custom PyTorch operators of edge (``torch.ops.edge.*``), one module per op.

Each op is a ``torch.library`` custom op with a reference implementation and a fake (shape)
implementation; it exports to ONNX as one TensorRT plugin node or as standard operators
(:mod:`edge.export`). Importing this package registers both ops.

- :func:`multipool_unwarp` (``edge::multipool_unwarp``, plugin EdgeMultiPoolUnwarp)
- :func:`sample_interp` (``edge::sample_interp``, plugin EdgeSampleInterp)

The functions are bound after their modules are imported, so ``edge.ops.sample_interp`` is the
function (as ``edge.ops.multipool_unwarp`` is), not the submodule of the same name.
"""

from __future__ import annotations

from edge.ops.multipool_unwarp import multipool_unwarp
from edge.ops.sample_interp import sample_interp

__all__ = ["multipool_unwarp", "sample_interp"]
