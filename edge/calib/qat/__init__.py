"""Quantization-aware distillation (QAT): fine-tune the model with fake quantization where the Q/DQ file has its
Q/DQ nodes, by distillation from the FP32 model on the unlabelled calibration frames, and write the same Q/DQ file.

``quantize_qat(onnx_in, onnx_out, recipe, calib, scheme=...)`` (``edge quantize --qat``):

1. post-training quantization as ``edge.calib.qdq.quantize`` does it (calibrated ranges, the scheme's Q/DQ
   placement: ``trt`` symmetric S8 on the inputs TensorRT fuses, ``cpu-u8`` asymmetric U8 + sealed outputs);
2. that Q/DQ file run in PyTorch (:class:`edge.calib.qat.graph.QDQGraph`: each Q/DQ pair a fake quantizer whose
   scale starts at the calibrated one, each quantized weight its FP32 weight fake-quantized per channel);
3. ``edge.forms.distill.distill`` of that graph from the FP32 graph on the calibration frames (random horizontal
   flips; KD loss on the logits; calibrated ranges kept, or learned LSQ-style with ``learn_ranges=True``), data-parallel under
   torchrun;
4. export by PTQ's own writer: the fine-tuned weights (quantized ones on their INT8 grid, so that re-quantizing
   them is exact) go into a copy of the FP32 ONNX (``<out>.qat-fp32.onnx``),
   the learned ranges into onnxruntime's calibration cache, and ``quantize`` writes the Q/DQ file from both,
   so its Q/DQ structure is PTQ's by construction and the gate, ``edge bench`` and ``edge build`` take it as is.

The accuracy gate is then run on the fine-tuned FP32 file with the learned ranges, against the ORIGINAL FP32
model (``quantize_with_gate(..., reference=onnx_in, cache_path=result.ranges_path)``; the CLI does this).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from edge._lazy import lazy_import
from edge.calib.qat.graph import QDQGraph
from edge.calib.qdq import SCHEMES, QuantResult, _ranges_key, quantize
from edge.core.frames import FrameSet
from edge.core.frames import load_many as load_frames
from edge.core.recipe import Recipe
from edge.errors import CalibrationError, InputError
from edge.forms import ddp
from edge.io import atomic_path, write_text

onnx = lazy_import("onnx", feature="quantization-aware training")

__all__ = ["QATResult", "QDQGraph", "export_qat", "learned_ranges", "quantize_qat"]


@dataclass
class QATResult:
    """What ``quantize_qat`` wrote: the Q/DQ file (``result``), the fine-tuned FP32 file it was written from,
    the learned ranges cache, the PTQ file it started from and the distillation history."""

    result: QuantResult
    fp32_path: Path
    ranges_path: Path
    ptq: QuantResult
    frames: int
    epochs: int
    steps: int
    seconds: float
    learn_ranges: bool
    world_size: int = 1
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("result", "ptq")}
        d.update(fp32_path=str(self.fp32_path), ranges_path=str(self.ranges_path),
                 quantization=self.result.to_dict(), ptq=self.ptq.to_dict())
        return d


class _Frames(torch.utils.data.Dataset):
    """Preprocessed frames ``(N, C, H, W)``; ``flip``: each read mirrored left-right with probability 1/2."""

    def __init__(self, x: torch.Tensor, flip: bool):
        self.x, self.flip = x, flip

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i].flip(-1) if self.flip and torch.rand(()) < 0.5 else self.x[i]


def quantize_qat(onnx_in: str | os.PathLike, onnx_out: str | os.PathLike, recipe: Recipe | str,
                 calib: FrameSet | str | Sequence[str], scheme: str = "trt", method: str = "percentile",
                 epochs: int | None = None, lr: float | None = None, batch_size: int = 16,
                 learn_ranges: bool = False, nodes_to_exclude: Sequence[str] | None = None,
                 temperature: float | None = None, flip: bool = True, checkpoint=None, seed: int = 0,
                 percentile: float | None = None, reduce_range: bool | None = None, progress: bool = True,
                 device=None, drop: float = 0.0, cache_path=None) -> QATResult | None:
    """Quantization-aware distillation of ``onnx_in`` into the Q/DQ file ``onnx_out`` (see the module docstring).

    Args:
        calib: the unlabelled frames: calibration ranges and fine-tuning data (FrameSet or source specs).
        scheme / method / percentile / reduce_range / nodes_to_exclude: as ``edge.calib.qdq.quantize``.
        epochs: passes over the frames (default 8); lr: AdamW learning rate of the weights (default 1e-5;
            the ranges learn ``QDQGraph.range_lr_scale`` times faster); batch_size: TOTAL batch over all
            data-parallel processes; temperature: KD temperature (default 1: top-1 agreement is the target).
        learn_ranges: train the activation ranges (LSQ) or keep the calibrated ones (default: kept; they measured
            better on the Fashion CNN, 40.1 vs 38.2 dB for trt and 42.3 vs 40.5 dB for cpu-u8, docs/BENCHMARKS.md).
        checkpoint: distillation checkpoint (resumed when present; one per epoch, written by rank 0).
        drop: QDrop probability (``QDQGraph.drop``); 0 trains with every quantizer on.
        cache_path: PTQ's calibration ranges cache to reuse (default ``<out>.ptq.ranges.<method>.<sym>.json``).
    Returns:
        QATResult on rank 0 (and on a single process); None on the other ranks of a torchrun job.
    """
    t0 = time.perf_counter()
    torch.manual_seed(seed)  # the flips (and nothing else) draw from torch's global generator
    recipe = Recipe.load(recipe) if not isinstance(recipe, Recipe) else recipe
    frames = calib if isinstance(calib, FrameSet) else load_frames([calib] if isinstance(calib, str) else list(calib))
    if len(recipe.inputs) != 1:
        raise InputError("quantize_qat: the model must have one image input (the recipe declares several)")
    cfg = SCHEMES.get(scheme)
    onnx_in, onnx_out = Path(onnx_in), Path(onnx_out)
    ddp.init(device)
    sym = "sym" if cfg["symmetric_act"] else "asym"
    ptq_path = onnx_out.with_name(f"{onnx_out.stem}.ptq.onnx")
    ptq_ranges = Path(cache_path) if cache_path else onnx_out.with_name(f"{onnx_out.stem}.ptq.ranges.{method}.{sym}.json")
    kw = {"method": method, "scheme": scheme, "percentile": percentile, "reduce_range": reduce_range}
    excluded = list(nodes_to_exclude or [])
    ptq = quantize(onnx_in, ptq_path, recipe, frames, nodes_to_exclude=excluded, cache_path=ptq_ranges, **kw) \
        if ddp.is_main() else None
    ddp.barrier()
    fp32 = onnx.load(str(onnx_in))
    student = QDQGraph(onnx.load(str(ptq_path)), fp32, learn_ranges=learn_ranges)
    student.drop = drop
    teacher = QDQGraph(fp32)
    dev = torch.device(device) if device is not None else ddp.default_device()
    student.to(dev), teacher.to(dev)
    x = torch.from_numpy(recipe.preprocess_batch(frames.frames)[recipe.input.name])
    loader = ddp.make_loader(_Frames(x, flip), batch_size, shuffle=True, seed=seed)
    from edge.forms.distill import distill

    res = distill(student, teacher, loader, epochs=epochs or 8, lr=lr or 1e-5, temperature=temperature or 1.0,
                  alpha=1.0, checkpoint=checkpoint, progress=progress, device=dev)
    if not ddp.is_main():
        ddp.barrier()
        return None
    out = export_qat(student.cpu(), fp32, onnx_out, recipe, frames, ptq_ranges, nodes_to_exclude=excluded, **kw)
    ddp.barrier()
    return QATResult(out, onnx_out.with_name(f"{onnx_out.stem}.qat-fp32.onnx"), out.ranges_path, ptq, len(frames),
                     res.epochs, res.steps, time.perf_counter() - t0, learn_ranges, res.world_size, res.history)


def learned_ranges(graph: QDQGraph) -> dict[str, tuple[float, float]]:
    """``{tensor: (lowest, highest)}`` from which onnxruntime's quantizer recomputes each learned scale and zero
    point exactly: symmetric S8 (scale = absmax / 127): ``(-127 s, 127 s)``; U8 (scale = range / 255, ORT's
    ``compute_scale_zp`` and ``ort_cpu._u8_params``): ``(-zp s, (255 - zp) s)``."""
    out = {}
    for q in graph.act_q.values():
        s = float(graph.value(q["scale"]).detach())
        if q["dtype"] == np.dtype(np.int8):
            out[q["tensor"]] = (-127.0 * s, 127.0 * s)
        else:
            out[q["tensor"]] = (-q["zp"] * s, (255.0 - q["zp"]) * s)
    return out


def export_qat(graph: QDQGraph, fp32_model, onnx_out: str | os.PathLike, recipe: Recipe, frames: FrameSet,
               ptq_ranges: str | os.PathLike, method: str = "percentile", scheme: str = "trt",
               percentile: float | None = None, nodes_to_exclude: Sequence[str] | None = None,
               reduce_range: bool | None = None) -> QuantResult:
    """Write ``graph``'s weights into ``<out>.qat-fp32.onnx``, its ranges into ``<out>.qat.ranges...json`` (PTQ's
    cache with the learned tensors replaced) and the Q/DQ file ``onnx_out`` with ``edge.calib.qdq.quantize``;
    checks that every scale of the written file is the learned one."""
    from onnxruntime.quantization.calibrate import TensorData, load_tensors_data, save_tensors_data

    onnx_out = Path(onnx_out)
    fp32_path = onnx_out.with_name(f"{onnx_out.stem}.qat-fp32.onnx")
    m = onnx.ModelProto()
    m.CopyFrom(fp32_model)
    # a quantized weight is written as its fake-quantized value: re-quantizing it is exact (its max |w| maps to
    # the same scale), and a layer the gate later returns to FP32 keeps the weights QAT adapted its neighbours to
    with torch.no_grad():
        snapped = {spec["w"]: graph.fake_weight(spec) for spec in graph.weight_dq.values()}
    for init in m.graph.initializer:
        if graph._param.get(init.name, ("", 0))[0] == "w":
            w = snapped.get(init.name, graph.value(init.name)).detach().numpy()
            init.CopyFrom(onnx.numpy_helper.from_array(w.astype(np.float32), init.name))
    with atomic_path(fp32_path, suffix=".onnx") as tmp:
        onnx.save(m, str(tmp))
    sym = "sym" if SCHEMES.get(scheme)["symmetric_act"] else "asym"
    ranges_path = onnx_out.with_name(f"{onnx_out.stem}.qat.ranges.{method}.{sym}.json")
    data = load_tensors_data(str(ptq_ranges))
    for t, (lo, hi) in learned_ranges(graph).items():
        data.data[t] = TensorData(lowest=np.array(lo, np.float32), highest=np.array(hi, np.float32))
    save_tensors_data(data, ranges_path)
    write_text(ranges_path.with_suffix(".key"), _ranges_key(frames.sha256(), recipe, f"{method}.{sym}", percentile))
    res = quantize(fp32_path, onnx_out, recipe, frames, method=method, scheme=scheme, percentile=percentile,
                   nodes_to_exclude=list(nodes_to_exclude or []), cache_path=ranges_path, reduce_range=reduce_range)
    _check_scales(graph, onnx.load(str(onnx_out)))
    return res


def _check_scales(graph: QDQGraph, written) -> None:
    """Every activation scale of the written file equals the learned one (relative 1e-5)."""
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in written.graph.initializer}
    for q in graph.act_q.values():
        got = inits.get(q["scale"])
        want = float(graph.value(q["scale"]).detach())
        if got is not None and abs(float(got) - want) > 1e-5 * abs(want):
            raise CalibrationError(f"QAT export: scale {q['scale']} written as {float(got)} but learned {want}; "
                                   "the quantizer's range convention changed (report this)")
