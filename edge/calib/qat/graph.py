"""An ONNX graph run by PyTorch, with fake quantization exactly where the Q/DQ file has its Q/DQ nodes.

``QDQGraph(qdq_model, fp32_model)`` interprets the Q/DQ ONNX that ``edge.calib.qdq.quantize`` wrote (for either
scheme) node by node with torch ops, so the placement of every fake quantizer is the placement of the file by
construction (no second placement rule to keep in step with TensorRT's or ONNX Runtime's):

- an activation ``QuantizeLinear`` computes ``clamp(round(x / s) + zp, qmin, qmax)`` (straight-through round) and
  its ``DequantizeLinear`` ``(q - zp) * s``; ``s`` is one learnable parameter per scale initializer (stored as
  ``log s``, so that AdamW's steps are relative; the gradient through round/clamp is LSQ's), ``zp`` is fixed;
- a weight ``DequantizeLinear`` (int8 initializer ``<w>_quantized``, as onnxruntime names it) is replaced by the
  float weight ``<w>`` of the FP32 model, fake-quantized per output channel with the scale onnxruntime will
  compute from it at export (``max |w_c| / qmax``, ``qmax`` read off the file: 127, or 64 with ``reduce_range``);
- every other node runs in FP32; float Conv/Gemm weights and biases are parameters (fine-tuned);
- ``drop`` > 0 (QDrop, Wei et al., ICLR 2022): in training each activation element bypasses its quantizer with
  that probability, so the weights do not co-adapt to the noise of one particular set of quantizers: a layer
  the gate later returns to FP32 then does not break what its neighbours learnt.

``QDQGraph(fp32_model)`` (no Q/DQ nodes) is the FP32 teacher. The BatchNorms were folded by the export, so the
weights trained here are the weights the file holds.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edge._lazy import lazy_import
from edge.errors import CalibrationError

onnx = lazy_import("onnx", feature="quantization-aware training")

WEIGHT_OPS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,)}
QSUFFIX = "_quantized"  # onnxruntime's name of a quantized initializer
_QRANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def _ste_round(x: Tensor) -> Tensor:
    return x + (torch.round(x) - x).detach()


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads2d(x: Tensor, pads, value: float = 0.0) -> tuple[Tensor, tuple[int, int]]:
    """ONNX ``pads`` [top, left, bottom, right] -> (input padded where asymmetric, symmetric padding)."""
    if not pads or len(pads) != 4:
        return x, (0, 0)
    t, left, b, r = pads
    if t == b and left == r:
        return x, (t, left)
    return F.pad(x, (left, r, t, b), value=value), (0, 0)


def _conv(a, x, w, b=None):
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise CalibrationError("QAT graph: Conv auto_pad is not supported; export with explicit pads")
    x, pad = _pads2d(x, a.get("pads"))
    return F.conv2d(x, w, b, a.get("strides", 1), pad, a.get("dilations", 1), a.get("group", 1))


def _pool(a, x, kind: str):
    x, pad = _pads2d(x, a.get("pads"), float("-inf") if kind == "max" else 0.0)
    k, s = a["kernel_shape"], a.get("strides", 1)
    if kind == "max":
        return F.max_pool2d(x, k, s, pad, a.get("dilations", 1), bool(a.get("ceil_mode", 0)))
    return F.avg_pool2d(x, k, s, pad, bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0)))


def _gemm(a, x, w, c=None):
    x = x.t() if a.get("transA", 0) else x
    w = w.t() if a.get("transB", 0) else w
    y = a.get("alpha", 1.0) * (x @ w)
    return y if c is None else y + a.get("beta", 1.0) * c


def _reduce_mean(a, x, axes=None):
    ax = [int(v) for v in (axes.tolist() if axes is not None else a.get("axes", range(x.dim())))]
    return x.mean(ax, keepdim=bool(a.get("keepdims", 1)))


def _clip(a, x, lo=None, hi=None):
    return torch.clamp(x, None if lo is None else float(lo), None if hi is None else float(hi))


def _reshape(a, x, shape):
    s = [int(v) for v in shape.tolist()]
    s = [x.shape[i] if v == 0 and not a.get("allowzero", 0) else v for i, v in enumerate(s)]
    return x.reshape(s)


OPS = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": lambda a, x, w: x @ w,
    "Relu": lambda a, x: F.relu(x), "Clip": _clip, "Sigmoid": lambda a, x: torch.sigmoid(x),
    "HardSwish": lambda a, x: F.hardswish(x), "HardSigmoid": lambda a, x: torch.clamp(
        a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1),
    "Add": lambda a, x, y: x + y, "Sub": lambda a, x, y: x - y, "Mul": lambda a, x, y: x * y,
    "Div": lambda a, x, y: x / y, "Identity": lambda a, x: x,
    "MaxPool": lambda a, x: _pool(a, x, "max"), "AveragePool": lambda a, x: _pool(a, x, "avg"),
    "GlobalAveragePool": lambda a, x: x.mean((2, 3), keepdim=True), "ReduceMean": _reduce_mean,
    "Flatten": lambda a, x: x.flatten(a.get("axis", 1)) if a.get("axis", 1) else x.reshape(1, -1),
    "Reshape": _reshape, "Concat": lambda a, *xs: torch.cat(xs, a["axis"]),
    "Transpose": lambda a, x: x.permute(*a["perm"]), "Softmax": lambda a, x: torch.softmax(x, a.get("axis", -1)),
}


class QDQGraph(nn.Module):
    """The ONNX ``model`` (a Q/DQ file, or FP32) as a torch module: ``forward(x (N, C, H, W)) -> (N, ...)``.

    Args:
        model: onnx.ModelProto; its Q/DQ nodes become fake quantizers (see the module docstring).
        fp32_model: the FP32 model the Q/DQ file was quantized from (float weights; None: ``model`` itself).
        learn_ranges: the activation scales are trained (LSQ) when True, fixed otherwise.
    """

    def __init__(self, model, fp32_model=None, learn_ranges: bool = True):
        super().__init__()
        g = model.graph
        fp32 = {i.name: onnx.numpy_helper.to_array(i) for i in (fp32_model or model).graph.initializer}
        inits = {i.name: onnx.numpy_helper.to_array(i) for i in g.initializer}
        self.input_name = next(i.name for i in g.input if i.name not in inits)
        self.output_names = [o.name for o in g.output]
        self.nodes = list(g.node)
        self.attrs = [_attrs(n) for n in self.nodes]
        self.weights, self.log_scales = nn.ParameterList(), nn.ParameterList()
        self._param: dict[str, tuple[str, int]] = {}  # initializer name -> ("w" | "s", index)
        self._const: dict[str, Tensor] = {}
        self.weight_dq: dict[str, dict] = {}  # DQ output -> {"w": float name, "axis", "qmax"}
        self.act_q: dict[str, dict] = {}  # Q node name -> {"tensor", "scale", "zp", "qmin", "qmax"}
        self._q_input = {n.output[0]: n.input[0] for n in self.nodes if n.op_type == "QuantizeLinear"}
        self.drop = 0.0  # QDrop: in training, each activation element skips its quantizer with this probability
        self._wrap_weights(inits, fp32)
        self._wrap_activation_scales(inits, learn_ranges)
        for name, arr in inits.items():
            if name not in self._param and name not in self._const:
                self._buffer(name, arr)
        unknown = sorted({n.op_type for n in self.nodes} - set(OPS) - {"Constant", "QuantizeLinear", "DequantizeLinear"})
        if unknown:
            raise CalibrationError(f"QAT graph: ONNX ops {unknown} are not supported (supported: {sorted(OPS)}); "
                                   "quantize such a model post-training (edge quantize without --qat)")

    def _buffer(self, name: str, arr) -> None:
        t = torch.from_numpy(np.array(arr, dtype=np.float32 if arr.dtype.kind == "f" else np.int64))
        self.register_buffer(f"c{len(self._const)}", t, persistent=False)
        self._const[name] = getattr(self, f"c{len(self._const)}")

    def _add_weight(self, name: str, arr) -> None:
        if name not in self._param:
            self.weights.append(nn.Parameter(torch.from_numpy(np.array(arr, np.float32))))
            self._param[name] = ("w", len(self.weights) - 1)

    def _wrap_weights(self, inits: dict, fp32: dict) -> None:
        """Float weights/biases of Conv/Gemm (directly or behind a weight DQ) become parameters."""
        prod = {o: n for n in self.nodes for o in n.output}
        for n in self.nodes:
            for k in WEIGHT_OPS.get(n.op_type, ()):
                if k >= len(n.input) or not n.input[k]:
                    continue
                t = n.input[k]
                dq = prod.get(t)
                if t in inits and inits[t].dtype.kind == "f":
                    self._add_weight(t, inits[t])
                elif k == 1 and dq is not None and dq.op_type == "DequantizeLinear" and dq.input[0] in inits:
                    self._weight_dq(dq, inits, fp32)  # a quantized bias (k == 2) stays a literal DQ

    def _weight_dq(self, dq, inits: dict, fp32: dict) -> None:
        qname = dq.input[0]
        w_name = qname.removesuffix(QSUFFIX)
        if w_name not in fp32 or fp32[w_name].dtype.kind != "f":
            raise CalibrationError(f"QAT graph: no FP32 weight '{w_name}' for the quantized initializer '{qname}'")
        zp = inits[dq.input[2]] if len(dq.input) > 2 and dq.input[2] else np.zeros(1, np.int8)
        if np.any(zp != 0):
            raise CalibrationError(f"QAT graph: weight '{w_name}' is quantized asymmetrically; only symmetric weights")
        w, scale = fp32[w_name].astype(np.float64), inits[dq.input[1]].astype(np.float64)
        axis = int(_attrs(dq).get("axis", 1)) if scale.size > 1 else None
        absmax = np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis)) if axis is not None else np.abs(w).max()
        i = int(np.argmax(absmax)) if axis is not None else 0
        qmax = round(float(np.ravel(absmax)[i] / np.ravel(scale)[i]))  # 127, or 64 with reduce_range
        self._add_weight(w_name, fp32[w_name])
        self.weight_dq[dq.output[0]] = {"w": w_name, "axis": axis, "qmax": qmax}

    def _wrap_activation_scales(self, inits: dict, learn: bool) -> None:
        for n in self.nodes:
            if n.op_type != "QuantizeLinear":
                continue
            s, zp = inits.get(n.input[1]), inits.get(n.input[2]) if len(n.input) > 2 else None
            if s is None or s.size != 1:
                raise CalibrationError(f"QAT graph: activation Q '{n.name}' needs one constant scale")
            zp = np.zeros((), np.uint8) if zp is None else zp
            qmin, qmax = _QRANGE[zp.dtype]
            if n.input[1] not in self._param:
                self.log_scales.append(nn.Parameter(torch.tensor(float(np.log(s)), dtype=torch.float32),
                                                    requires_grad=learn))
                self._param[n.input[1]] = ("s", len(self.log_scales) - 1)
            if n.input[2:] and n.input[2] not in self._const:
                self._buffer(n.input[2], zp)
            self.act_q[n.name] = {"tensor": n.input[0], "scale": n.input[1], "zp": float(zp), "qmin": qmin,
                                  "qmax": qmax, "dtype": zp.dtype}

    def value(self, name: str) -> Tensor:
        """The current float value of initializer ``name`` (a scale: exp of its parameter)."""
        kind, i = self._param.get(name, (None, None))
        if kind == "w":
            return self.weights[i]
        if kind == "s":
            return self.log_scales[i].exp()
        return self._const[name]

    def fake_weight(self, spec: dict) -> Tensor:
        """Per-channel symmetric fake quantization of a float weight (scale from its current max |w|)."""
        w = self.value(spec["w"])
        if spec["axis"] is None:
            s = w.detach().abs().max().clamp_min(1e-12) / spec["qmax"]
        else:
            dims = [d for d in range(w.dim()) if d != spec["axis"]]
            shape = [-1 if d == spec["axis"] else 1 for d in range(w.dim())]
            s = (w.detach().abs().amax(dims).clamp_min(1e-12) / spec["qmax"]).reshape(shape)
        return torch.clamp(_ste_round(w / s), -spec["qmax"], spec["qmax"]) * s

    def forward(self, x: Tensor) -> Tensor:
        env: dict[str, Tensor] = {self.input_name: x}
        for node, a in zip(self.nodes, self.attrs):
            env.update(zip(node.output, self._run(node, a, env)))
        outs = [env[o] for o in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _run(self, node, a: dict, env: dict) -> list[Tensor]:
        op = node.op_type
        if op == "Constant":
            return [torch.from_numpy(np.array(onnx.numpy_helper.to_array(a["value"])))]
        if op == "DequantizeLinear" and node.output[0] in self.weight_dq:
            return [self.fake_weight(self.weight_dq[node.output[0]])]
        ins = [None if not t else (env[t] if t in env else self.value(t)) for t in node.input]
        if op == "QuantizeLinear":
            q = self.act_q[node.name]
            return [torch.clamp(_ste_round(ins[0] / ins[1]) + q["zp"], q["qmin"], q["qmax"])]
        if op == "DequantizeLinear":
            zp = ins[2].float() if len(ins) > 2 and ins[2] is not None else 0.0
            out = (ins[0] - zp) * ins[1]
            x = env.get(self._q_input.get(node.input[0], ""))
            if self.training and self.drop > 0 and x is not None:  # QDrop (Wei et al., ICLR 2022)
                out = torch.where(torch.rand_like(x) < self.drop, x, out)
            return [out]
        while ins and ins[-1] is None:  # trailing optional inputs
            ins.pop()
        out = OPS[op](a, *ins)
        return list(out) if isinstance(out, tuple) else [out]

    range_lr_scale: float = 30.0  # the log-scales learn this much faster than the weights (relative steps)

    def param_groups(self, lr: float) -> list[dict]:
        """AdamW groups for ``edge.forms.distill``: weights at ``lr``, trainable log-scales at ``lr * range_lr_scale``
        without weight decay (decay would pull every scale towards 1)."""
        groups = [{"params": [p for p in self.weights if p.requires_grad], "lr": lr}]
        scales = [p for p in self.log_scales if p.requires_grad]
        if scales:
            groups.append({"params": scales, "lr": lr * self.range_lr_scale, "weight_decay": 0.0})
        return groups
