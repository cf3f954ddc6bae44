"""FP16 for TensorRT: an FP16-typed ONNX for strongly typed networks (TensorRT 11, and 10.x with the
STRONGLY_TYPED flag), keeping numerically sensitive ops in FP32; on TensorRT 10.x the alternative is the
FP32 ONNX + ``BuilderFlag.FP16`` (edge.trt, ``precision="fp16"``).

Uses onnxconverter-common's ``float16.convert_float_to_float16`` (Cast nodes around the blocked ops),
with model inputs/outputs kept FP32 by default so the recipe's float32 feeds still apply.

A Q/DQ (INT8) model becomes INT8 + FP16: the quantized layers stay INT8 and every layer the accuracy gate kept
in higher precision runs FP16, with FP16 Q/DQ scales (opset 19: the model is upgraded first when older). That is
the strongly typed file for TensorRT 11, which has no FP16 builder flag to lower those layers itself.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from edge import __version__
from edge._lazy import lazy_import
from edge.errors import InputError
from edge.export.contract import DOMAIN
from edge.io import atomic_path

onnx = lazy_import("onnx", feature="FP16 conversion")
float16 = lazy_import("onnxconverter_common.float16", feature="FP16 conversion",
                      install="pip install 'edge[onnx]' (onnxconverter-common)")

# reductions/normalisations whose FP16 accumulation or range loses accuracy; kept in FP32
SENSITIVE_OPS = ("Softmax", "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceL2", "LayerNormalization",
                 "InstanceNormalization", "GroupNormalization", "Exp", "Log", "Pow", "Sqrt", "Div", "TopK",
                 "GlobalAveragePool", "NonMaxSuppression", "Resize", "RoiAlign")


def to_fp16(onnx_in: str | os.PathLike, onnx_out: str | os.PathLike, keep_fp32_ops: Sequence[str] | None = None,
            keep_fp32_nodes: Sequence[str] | None = None, keep_io_types: bool = True) -> Path:
    """Write an FP16-typed copy of ``onnx_in``; see the module docstring.

    Args:
        keep_fp32_ops: op types left in FP32; None means ``SENSITIVE_OPS``.
        keep_fp32_nodes: node names left in FP32 in addition.
        keep_io_types: keep graph inputs/outputs FP32 (a Cast at each end) so existing feeds still work.
    Plugin nodes (domain trt.plugins) are always kept in FP32 unless their README says they run FP16.
    """
    onnx_in = Path(onnx_in)
    if not onnx_in.exists():
        raise InputError(f"ONNX model {onnx_in} does not exist")
    model = _qdq_opset(onnx.load(str(onnx_in)))
    block = list(keep_fp32_ops if keep_fp32_ops is not None else SENSITIVE_OPS)
    block += sorted({n.op_type for n in model.graph.node if n.domain == DOMAIN})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one warning per clamped tiny weight
        m16 = float16.convert_float_to_float16(model, keep_io_types=keep_io_types, op_block_list=block,
                                               node_block_list=list(keep_fp32_nodes or []))
    _align_cast_targets(m16)
    _raise_ir_version(m16)
    m16.metadata_props.add(key="edge_fp16", value=f"edge {__version__}; fp32 ops: {','.join(block)}")
    _check_valid(m16, onnx_in)
    with atomic_path(onnx_out, suffix=".onnx") as tmp:
        onnx.save(m16, str(tmp))
    _trt_check(onnx_out)
    return Path(onnx_out)


def _align_cast_targets(model) -> list[str]:
    """Make each Cast's ``to`` agree with the type the converter declared for its output.

    onnxconverter-common re-declares the outputs of Casts from non-float tensors (e.g. the BOOL mask of the
    sample-interp heads) as FLOAT16 but leaves ``to=FLOAT``; the FP16 consumer (a ``Max`` with an FP16 operand)
    then sees mismatched types, ``onnx.checker`` (full) fails and ONNX Runtime refuses the file. The declared
    type is what the converted consumers expect, so the attribute follows it. Returns the changed node names.
    """
    declared = {vi.name: vi.type.tensor_type.elem_type
                for vi in [*model.graph.value_info, *model.graph.output] if vi.type.HasField("tensor_type")}
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16}
    changed = []
    for node in model.graph.node:
        if node.op_type != "Cast" or node.domain not in ("", "ai.onnx"):
            continue
        want = declared.get(node.output[0])
        to = next((a for a in node.attribute if a.name == "to"), None)
        if to is not None and want in floats and to.i in floats and to.i != want:
            to.i = want
            changed.append(node.name)
    return changed


def _raise_ir_version(model) -> None:
    """An opset needs a minimum IR version (opset 19 -> IR 9); the version converter leaves it as it was."""
    need = onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    model.ir_version = max(model.ir_version, need)


def _check_valid(model, onnx_in: Path) -> None:
    """Full ``onnx.checker`` (strict type inference): the FP16 file must load in ONNX Runtime and TensorRT."""
    from edge.export.contract import register_schemas

    register_schemas()
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # onnx raises several types; one clear error for all
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"the FP16 conversion of {onnx_in} is not a valid ONNX model ({first}). Fix: keep the "
                         "offending node in FP32 with --exclude NODE, or report the model") from e


def _trt_check(path) -> None:
    """The static TensorRT parser check (edge.export.check) on the written file: warnings printed, errors raised."""
    from edge.export.check import enforce

    enforce(path, stage="edge quantize --fp16")


QDQ_FP16_OPSET = 19  # QuantizeLinear/DequantizeLinear take FP16 scales from opset 19


def _qdq_opset(model):
    """Upgrade a model with Q/DQ nodes to opset 19 so its scales may become FP16; others are returned as they are."""
    if not any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node):
        return model
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset >= QDQ_FP16_OPSET:
        return model
    from onnx import version_converter

    try:
        upgraded = version_converter.convert_version(model, QDQ_FP16_OPSET)
        _raise_ir_version(upgraded)
        return upgraded
    except Exception as e:  # the converter raises bare RuntimeErrors
        raise InputError(f"cannot upgrade the Q/DQ model from opset {opset} to {QDQ_FP16_OPSET} for FP16 scales "
                         f"({e}); re-export it with opset >= {QDQ_FP16_OPSET}") from e
