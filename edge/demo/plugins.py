"""Demo step of the plugins: which plugin libraries are present, and the plugins' CPU references (the same C++
index functions as the CUDA kernels) against the PyTorch reference ops on a real dense body and a gated conv."""

from __future__ import annotations

import math
from typing import Any

import torch

from edge.errors import PluginError
from edge.io import markdown_table


def _library_status() -> dict:
    from edge._lazy import has_module
    from edge.trt import plugins

    try:
        plugin_lib = str(plugins.library_path())
    except PluginError:
        plugin_lib = "TensorRT plugin library absent: it is built on a machine with TensorRT (make plugins, plugins/README.md)"
    trt = "installed" if has_module("tensorrt") else "not installed (engines need a Jetson)"
    return {"plugin_library": plugin_lib, "tensorrt": trt}


def _unwarp_check(quick: bool) -> dict:
    """The basenet dense body on a real-sized image: CPU reference vs torch.ops.edge.multipool_unwarp."""
    from edge.dense import basenet, to_dense
    from edge.native import multipool_unwarp as native
    from edge.ops import multipool_unwarp as op

    h, w = (60, 80) if quick else (240, 360)
    dense = to_dense(basenet().eval(), (15, 15))
    body_out = None

    def grab(_module, args, _out):  # the unwarp's input: the batch-stacked body output
        nonlocal body_out
        body_out = args[0]

    unwarps = [m for m in dense.modules() if type(m).__name__ == "Unwarp"]
    handle = unwarps[0].register_forward_hook(grab) if unwarps else None
    with torch.no_grad():
        dense(torch.rand(1, 1, h, w))
    if handle is None or body_out is None:
        return {"skipped": "the dense net has no Unwarp module"}
    handle.remove()
    strides: Any = unwarps[0].strides
    got, want = native(body_out, strides), op(body_out, strides)
    return {"input": list(body_out.shape), "output": list(got.shape), "bit_exact": bool(torch.equal(got, want))}


def _interp_check(quick: bool) -> list[dict]:
    """A 3x3 conv, 32 -> 32 channels, relu, window 7: CPU reference vs the dense masked definition."""
    from edge.native import sample_interp as native
    from edge.ops.sample_interp import sample_interp_reference

    g = torch.Generator().manual_seed(0)
    size, c, window, lam = (24, 16, 7, 0.5) if quick else (48, 32, 7, 0.5)
    x = torch.randn(1, c, size, size, generator=g)
    weight = torch.randn(c, c, 3, 3, generator=g) / math.sqrt(9 * c)
    bias = torch.randn(c, generator=g) * 0.1
    rows = []
    for density in (0.1, 0.5, 0.9):
        mask = (torch.rand(1, 1, size, size, generator=g) < density).float()
        kw: dict[str, Any] = dict(padding=(1, 1), activation=1, window=window, lam=lam)
        got, want = native(x, mask, weight, bias, **kw), sample_interp_reference(x, mask, weight, bias, **kw)
        p = float(mask.mean())
        kc = 9 * c
        macs = p * kc * c + (1 - p) * (c + 1) * window**2  # per position, plugins/sample_interp/README.md
        rows.append({"density": round(p, 3), "max_err_rel": float((got - want).abs().max() / want.abs().max()),
                     "plugin_macs_vs_dense_conv": round(macs / (kc * c), 3)})
    return rows


def run(ctx) -> dict:
    from edge.native import REF_LIBRARY, find_library

    status = _library_status()
    from edge.errors import DependencyError

    ref, tried = find_library(REF_LIBRARY)
    if ref is None:
        raise DependencyError(f"the plugins' CPU reference library is missing (tried {', '.join(map(str, tried))}): "
                              "reinstall edge with a C++ compiler present (pip install -e .), or run `make plugins`")
    status["reference_library"] = str(ref)
    unwarp = _unwarp_check(ctx.quick)
    interp = _interp_check(ctx.quick)
    ctx.echo(f"plugin library: {status['plugin_library']}; TensorRT {status['tensorrt']}")
    ctx.echo(f"EdgeMultiPoolUnwarp CPU reference vs torch op: bit-exact = {unwarp.get('bit_exact')}")
    for r in interp:
        ctx.echo(f"EdgeSampleInterp density {r['density']}: rel err {r['max_err_rel']:.2e}, "
                 f"MACs {r['plugin_macs_vs_dense_conv']:.2f}x of the dense conv")
    ctx.markdown.append("## Plugins\n\n" + markdown_table([status], list(status)) + "\n"
                        + f"EdgeMultiPoolUnwarp (CPU reference vs torch op, basenet body {unwarp.get('input')}): "
                        + f"bit-exact = {unwarp.get('bit_exact')}\n\n"
                        + "EdgeSampleInterp (CPU reference vs dense masked definition, cost model of the plugin):\n\n"
                        + markdown_table(interp))
    return {**status, "unwarp": unwarp, "sample_interp": interp}
