#!/usr/bin/env python3
"""Plugin vs decomposed graph latency inside TensorRT engines (EdgeMultiPoolUnwarp, EdgeSampleInterp).

For every case two ONNX graphs are made with onnx.helper: one plugin node (domain trt.plugins, as the
exporter writes it) and the decomposed form from standard operators (reshape/transpose for the unwarp;
conv + mask + RBF depthwise conv + division for sample-interp). Both go through TensorRT's ONNX parser
(the plugin library loaded with edge.trt.plugins.load()), are built strongly typed in FP32 or FP16, and
are timed with CUDA events in edge's TensorRT runner (copies, enqueues and events on its one stream). ``mac_ratio`` is the cost model of
plugins/sample_interp/README.md (plugin multiply-adds / decomposed multiply-adds) at the drawn mask density.
Runs on a Jetson (TensorRT + cuda-python or pycuda).

Without TensorRT (our CPU machines) it checks the decomposed graphs in ONNX Runtime against the plugins'
CPU reference (edge.native), prints that no latency was measured and exits with status 2.

    python scripts/bench_plugins.py --dtype fp16 --iters 200 --json bench_plugins.json
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DOMAIN = "trt.plugins"
EPS = 1e-5
# (name, batch, channels, h, w, strides): body outputs of the reference dense nets at 360x240
UNWARP_CASES = [
    ("basenet-360x240", 1, 113, 60, 90, [(2, 2), (2, 2)]),
    ("simo_serra-360x240", 1, 128, 10, 15, [(2, 2), (3, 3), (4, 4)]),
]
# (name, batch, cin, cout, h, w, k, stride, padding); densities from --densities
INTERP_CASES = [("conv3x3-64-56x56", 1, 64, 64, 56, 56, 3, 1, 1), ("conv3x3-128-28x28", 1, 128, 128, 28, 28, 3, 1, 1)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"], help="engine and I/O precision")
    p.add_argument("--iters", type=int, default=100, help="timed executions per engine (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="untimed executions first (default 10)")
    p.add_argument("--densities", default="0.1,0.3,0.5,0.9", help="sample-interp mask densities")
    p.add_argument("--window", type=int, default=7, help="sample-interp RBF window (default 7)")
    p.add_argument("--lam", type=float, default=0.5, help="sample-interp RBF lambda (default 0.5)")
    p.add_argument("--plugin-lib", type=Path, default=None, help="libedge_plugins.so (default: search)")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--quick", action="store_true", help="first case of each op and one density only")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------------- ONNX graphs
def _model(nodes, inputs, outputs, initializers=(), name="g"):
    from onnx import helper

    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="edge.bench_plugins")


def _vi(name, dtype, shape):
    from onnx import helper

    return helper.make_tensor_value_info(name, _onnx_type(dtype), list(shape))


def _onnx_type(dtype):
    from onnx import TensorProto

    return TensorProto.FLOAT16 if np.dtype(dtype) == np.float16 else TensorProto.FLOAT


def _const(name, array):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(array), name)


def unwarp_models(b, c, h, w, strides, dtype):
    """(plugin model, decomposed model) for X (b*M, c, h, w) -> (b, c, h*Sy, w*Sx)."""
    from onnx import helper

    m = math.prod(sy * sx for sy, sx in strides)
    sy_t, sx_t = math.prod(s for s, _ in strides), math.prod(s for _, s in strides)
    x, y = _vi("X", dtype, (b * m, c, h, w)), _vi("Y", dtype, (b, c, h * sy_t, w * sx_t))
    node = helper.make_node("EdgeMultiPoolUnwarp", ["X"], ["Y"], domain=DOMAIN, strides_y=[s for s, _ in strides],
                            strides_x=[s for _, s in strides], batch=0, out_h=0, out_w=0, plugin_version="1",
                            plugin_namespace="")
    plugin = _model([node], [x], [y])
    nodes, inits, cur, n = [], [], "X", len(strides)
    if 2 * n + 4 <= 8:  # one permute (edge.dense.layers.unwarp)
        digits = [d for sy, sx in reversed(strides) for d in (sy, sx)]
        perm = [2 * n, 2 * n + 1, 2 * n + 2, *range(0, 2 * n, 2), 2 * n + 3, *range(1, 2 * n, 2)]
        steps = [([*digits, b, c, h, w], perm, [b, c, h * sy_t, w * sx_t])]
    else:  # chain of rank-6 permutes, last layer first
        steps, rest, hh, ww = [], b * m, h, w
        for sy, sx in reversed(strides):
            rest //= sy * sx
            steps.append(([sy, sx, rest, c, hh, ww], [2, 3, 4, 0, 5, 1], [rest, c, hh * sy, ww * sx]))
            hh, ww = hh * sy, ww * sx
    for i, (shape_in, perm, shape_out) in enumerate(steps):
        inits += [_const(f"s{i}a", np.array(shape_in, np.int64)), _const(f"s{i}b", np.array(shape_out, np.int64))]
        nodes += [helper.make_node("Reshape", [cur, f"s{i}a"], [f"r{i}"]),
                  helper.make_node("Transpose", [f"r{i}"], [f"t{i}"], perm=perm),
                  helper.make_node("Reshape", [f"t{i}", f"s{i}b"], ["Y" if i == len(steps) - 1 else f"u{i}"])]
        cur = f"u{i}"
    return plugin, _model(nodes, [x], [y], inits)


def rbf(window, lam):
    r = window // 2
    d = np.arange(-r, r + 1, dtype=np.float64)
    return np.exp(-lam * (d[:, None] ** 2 + d[None, :] ** 2))


def interp_models(b, cin, cout, h, w, k, stride, padding, dtype, window, lam, seed=0):
    """(plugin model, decomposed model, weight, bias): inputs X (b, cin, h, w) and M (b, 1, ho, wo)."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((cout, cin, k, k)) / math.sqrt(cin * k * k)).astype(dtype)
    bias = (rng.standard_normal(cout) * 0.1).astype(dtype)
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    ins = [_vi("X", dtype, (b, cin, h, w)), _vi("M", dtype, (b, 1, ho, wo))]
    out = [_vi("Y", dtype, (b, cout, ho, wo))]
    inits = [_const("W", weight), _const("B", bias)]
    node = helper.make_node("EdgeSampleInterp", ["X", "M", "W", "B"], ["Y"], domain=DOMAIN, stride=[stride] * 2,
                            padding=[padding] * 2, dilation=[1, 1], groups=1, activation=1, window=window,
                            plugin_version="1", plugin_namespace="", **{"lambda": float(lam)})
    plugin = _model([node], ins, out, inits)
    kern = rbf(window, lam).astype(dtype)
    r = window // 2
    dec_inits = inits + [_const("Kc", np.broadcast_to(kern, (cout, 1, window, window)).copy()),
                         _const("K1", kern[None, None].copy()), _const("eps", np.array(EPS, dtype)),
                         _const("one", np.array(1, dtype))]
    conv = dict(kernel_shape=[window, window], pads=[r] * 4)
    nodes = [
        helper.make_node("Conv", ["X", "W", "B"], ["c"], strides=[stride] * 2, pads=[padding] * 4),
        helper.make_node("Relu", ["c"], ["F"]),
        helper.make_node("Mul", ["F", "M"], ["FM"]),
        helper.make_node("Conv", ["FM", "Kc"], ["num"], group=cout, **conv),
        helper.make_node("Conv", ["M", "K1"], ["den0"], **conv),
        helper.make_node("Add", ["den0", "eps"], ["den"]),
        helper.make_node("Div", ["num", "den"], ["R"]),
        helper.make_node("Sub", ["one", "M"], ["notM"]),
        helper.make_node("Mul", ["notM", "R"], ["RM"]),
        helper.make_node("Add", ["FM", "RM"], ["Y"]),
    ]
    return plugin, _model(nodes, ins, out, dec_inits), weight, bias


def interp_macs(b, cin, cout, ho, wo, k, density, window):
    """(plugin, decomposed) multiply-adds of one EdgeSampleInterp (plugins/sample_interp/README.md, cost)."""
    pos, kc = b * ho * wo, cin * k * k
    plugin = density * pos * cout * kc + (1 - density) * pos * (cout + 1) * window**2
    return plugin, pos * cout * kc + pos * (cout + 1) * window**2


def cases(args):
    """Yield (op, case name, plugin model, decomposed model, feeds, reference fn)."""
    from edge import native

    dtype = np.float16 if args.dtype == "fp16" else np.float32
    rng = np.random.default_rng(0)
    for name, b, c, h, w, strides in UNWARP_CASES[: 1 if args.quick else None]:
        plugin, dec = unwarp_models(b, c, h, w, strides, dtype)
        m = math.prod(sy * sx for sy, sx in strides)
        x = rng.standard_normal((b * m, c, h, w)).astype(dtype)
        ref = (lambda f, s=strides: native.multipool_unwarp(f["X"], s))
        yield "EdgeMultiPoolUnwarp", name, plugin, dec, {"X": x}, ref
    densities = [float(d) for d in args.densities.split(",")][: 1 if args.quick else None]
    for name, b, cin, cout, h, w, k, stride, pad in INTERP_CASES[: 1 if args.quick else None]:
        plugin, dec, weight, bias = interp_models(b, cin, cout, h, w, k, stride, pad, dtype, args.window, args.lam)
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        x = rng.standard_normal((b, cin, h, w)).astype(dtype)
        for p in densities:
            mask = (rng.random((b, 1, ho, wo)) < p).astype(dtype)
            ref = (lambda f, wt=weight, bs=bias, s=stride, pd=pad: native.sample_interp(
                f["X"], f["M"], wt, bs, stride=s, padding=pd, activation=1, window=args.window, lam=args.lam))
            pm, dm = interp_macs(b, cin, cout, ho, wo, k, float(mask.astype(np.float32).mean()), args.window)
            ref.mac_ratio = pm / dm  # the README's cost model, for the table
            yield "EdgeSampleInterp", f"{name}-p{p:g}", plugin, dec, {"X": x, "M": mask}, ref


# ------------------------------------------------------------------------------------------- CPU check
def cpu_check(args) -> list[dict]:
    """Decomposed graphs in ONNX Runtime vs the plugins' CPU reference (what can be checked without a GPU)."""
    import onnxruntime as ort

    rows = []
    for op, name, _plugin, dec, feeds, ref in cases(args):
        sess = ort.InferenceSession(dec.SerializeToString(), providers=["CPUExecutionProvider"])
        got = sess.run(None, feeds)[0].astype(np.float64)
        want = np.asarray(ref(feeds), np.float64)
        err = float(np.abs(got - want).max() / max(1.0, np.abs(want).max()))
        rows.append({"op": op, "case": name, "decomposed_vs_reference_rel_err": err,
                     "mac_ratio": getattr(ref, "mac_ratio", "")})
    return rows


# ------------------------------------------------------------------------------------------- on the device
def build_engine(trt, model, logger) -> bytes:
    """The serialised plan of ``model`` (strongly typed; the plugin library is already registered)."""
    builder = trt.Builder(logger)
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    network = builder.create_network(0 if flag is None else 1 << int(flag))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(model.SerializeToString()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"ONNX parser failed: {errors}")
    blob = builder.build_serialized_network(network, builder.create_builder_config())
    if blob is None:
        raise RuntimeError("engine build failed (see the TensorRT log)")
    return bytes(blob)


def time_engine(plan, feeds, iters, warmup, plugin_lib=None):
    """Median and p90 GPU time (ms) of the enqueue alone, with CUDA events; returns (stats, first output).

    The engine runs in edge's TensorRT runner (loaded by edge.trt.engine, the one loading path): the H2D
    copies, every enqueue, the events and the D2H copy are all issued on the runner's one stream, so each
    enqueue starts after the inputs are on the device and the read-back waits for the last enqueue.
    """
    from edge.bench.gpu import CudaEvents
    from edge.runtime.tensorrt_backend import TensorRTRunner

    with TensorRTRunner(plan, plugins=plugin_lib, name="bench_plugins engine") as runner:
        runner.copy_inputs(feeds)
        for _ in range(warmup):
            runner.execute()
        events = CudaEvents(2, runner.api)
        times = []
        for _ in range(iters):
            events.record(0, runner.stream)
            runner.execute()
            events.record(1, runner.stream)
            times.append(events.elapsed_ms(0, 1))
        runner.copy_outputs()
        runner.synchronize()
        out = next(iter(runner.host_outputs().values())).copy()
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))]}, out


def device_bench(args, trt) -> list[dict]:
    from edge.core.cuda import gpu_status
    from edge.trt import plugins

    st = gpu_status()
    if not st.usable:
        raise SystemExit(f"bench_plugins: the GPU is not usable: {st.reason}. Fix: {st.fix}")
    lib = plugins.load(args.plugin_lib)
    print(f"plugin library: {lib}")
    logger = trt.Logger(trt.Logger.WARNING)
    rows = []
    for op, name, plugin, dec, feeds, ref in cases(args):
        want = np.asarray(ref(feeds), np.float64)
        row = {"op": op, "case": name, "mac_ratio": getattr(ref, "mac_ratio", "")}
        for form, model in (("plugin", plugin), ("decomposed", dec)):
            stats, out = time_engine(build_engine(trt, model, logger), feeds, args.iters, args.warmup, lib)
            row[f"{form}_ms"] = stats["median_ms"]
            row[f"{form}_p90_ms"] = stats["p90_ms"]
            row[f"{form}_rel_err"] = float(np.abs(out.astype(np.float64) - want).max() / max(1.0, np.abs(want).max()))
        row["speedup"] = row["decomposed_ms"] / row["plugin_ms"]
        rows.append(row)
        print(f"  {op:20s} {name:28s} plugin {row['plugin_ms']:.3f} ms  decomposed {row['decomposed_ms']:.3f} ms  "
              f"x{row['speedup']:.2f}")
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    from edge.io import markdown_table, write_json

    env = {"python": platform.python_version(), "machine": platform.machine(), "dtype": args.dtype,
           "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        import tensorrt as trt

        trt.Logger  # noqa: B018 - the stubs package has no runtime attributes
    except (ImportError, AttributeError) as e:
        print(f"bench_plugins: TensorRT is not available here ({e}); this benchmark runs on a Jetson "
              "(JetPack 6.1+ / 7.x) with the plugin library built there (bash scripts/build_plugins.sh).")
        print("Checking the decomposed ONNX graphs against the plugins' CPU reference instead (no latency):")
        rows = cpu_check(args)
        print(markdown_table(rows, ["op", "case", "decomposed_vs_reference_rel_err", "mac_ratio"]))
        if args.json:
            write_json(args.json, {"environment": env, "tensorrt": None, "cpu_check": rows})
        return 2
    env["tensorrt"] = trt.__version__
    rows = device_bench(args, trt)
    print(markdown_table(rows, ["op", "case", "plugin_ms", "decomposed_ms", "speedup", "mac_ratio",
                                "plugin_rel_err", "decomposed_rel_err"]))
    if args.json:
        write_json(args.json, {"environment": env, "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
