"""``to_onnx``: a PyTorch model -> one checked ONNX file, with plugin nodes or standard ops only.

The dynamo exporter (``torch.onnx.export(..., dynamo=True)``) records edge's custom ops through a
``custom_translation_table`` (:mod:`edge.export.translations`): in plugin mode each op becomes one
``trt.plugins`` node that the TensorRT ONNX parser hands to the plugin of the same name; in portable
mode the op decomposes into standard operators. The file is checked (``onnx.checker`` full check with
strict shape inference), optionally simplified with onnxslim, stamped with provenance
(``metadata_props``) and written atomically: after any failure no file (or the previous one) is there.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from edge._lazy import lazy_import
from edge.errors import ExportError, InputError, ModelLoadError
from edge.export.contract import DOMAIN, register_schemas
from edge.export.graph_passes import fold_unwarp_crop, name_dynamic_dims
from edge.export.translations import load_all, translation_table
from edge.io import atomic_path

onnx = lazy_import("onnx", feature="ONNX export")
DEFAULT_OPSET = 18
_TARGET_RE = re.compile(r"target=([A-Za-z0-9_.:]+)")


def _prepare(model, plugins: bool):
    """Deep copy in eval mode; in plugin mode every dense Unwarp uses the custom op (one plugin node)."""
    from torch import nn

    from edge.dense.layers import Unwarp

    if not isinstance(model, nn.Module):
        raise InputError(f"to_onnx exports a torch.nn.Module, got {type(model).__name__}")
    model = copy.deepcopy(model).eval()
    if plugins:
        for m in model.modules():
            if isinstance(m, Unwarp):
                m.impl = "op"
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _example_tuple(example_inputs) -> tuple:
    import torch

    if isinstance(example_inputs, torch.Tensor):
        args = (example_inputs,)
    elif isinstance(example_inputs, (tuple, list)):
        args = tuple(example_inputs)
    else:
        raise InputError(
            f"example_inputs must be a tensor or a tuple of tensors, got {type(example_inputs).__name__}"
        )
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise InputError(
            "example_inputs must be a tensor or a tuple of tensors, got "
            f"{[type(a).__name__ for a in args] or 'nothing'}"
        )
    return args


def _dynamic_shapes(args: tuple, dynamic):
    """``dynamic``: None/True -> batch and, for 4-D inputs, H and W dynamic (Dim.AUTO: axes the model
    cannot vary stay static); False -> static; otherwise passed to torch.export as given."""
    import torch

    if dynamic is False:
        return None
    if dynamic is None or dynamic is True:
        auto = torch.export.Dim.AUTO
        return tuple({ax: auto for ax in ((0, 2, 3) if a.dim() == 4 else (0,))} for a in args)
    return dynamic


def _trace_args(args: tuple, dynamic) -> tuple:
    """torch.export specialises a dimension of size 1 to the constant 1: when the batch is to be dynamic,
    trace with a batch of 2 (the example repeated) so that it stays symbolic."""
    if dynamic is False or not isinstance(dynamic, (bool, type(None))):
        return args
    return tuple(
        a.expand(2, *a.shape[1:]).contiguous() if a.dim() >= 1 and a.shape[0] == 1 else a for a in args
    )


def _module_of(ep, target: str) -> str:
    """The module path (and type) of the first FX node calling ``target`` in the exported program."""
    for node in ep.graph.nodes:
        if node.op == "call_function" and target in str(node.target):
            stack = node.meta.get("nn_module_stack") or {}
            if stack:
                path, cls = list(stack.values())[-1]
                name = getattr(cls, "__name__", str(cls)).rsplit(".", 1)[-1]
                return f"module '{path or '<root>'}' ({name})"
    return "an unknown module"


def _export(model, args, dynamic_shapes, table, opset, input_names, output_names):
    """torch.onnx.export (dynamo) -> ModelProto; failures become ExportError naming the op and module."""
    import logging

    import torch

    from edge._lazy import require

    require("onnx", "onnxscript", feature="ONNX export (torch.onnx.export with dynamo=True)")
    # torch.onnx warns once per export that torchvision's ops are not registered; edge never uses them
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    try:
        program = torch.onnx.export(
            model,
            args,
            dynamo=True,
            custom_translation_table=table,
            dynamic_shapes=dynamic_shapes,
            opset_version=opset,
            input_names=input_names,
            output_names=output_names,
            external_data=False,
            optimize=True,
            verbose=False,
            report=False,
        )
    except Exception as e:
        raise _explain(e, model, args, dynamic_shapes) from e
    return program.model_proto


def _explain(e: Exception, model, args, dynamic_shapes) -> ExportError:
    """An ExportError saying which operator failed in which module (found by re-capturing the model)."""
    import torch

    ours = next((x for x in _chain(e) if isinstance(x, ExportError)), None)
    if ours is not None:  # raised by one of our translations: its message is the explanation
        return ExportError(str(ours))
    text = "\n".join(str(x) for x in _chain(e))
    found = _TARGET_RE.search(text)
    if found is None:
        root = list(_chain(e))[-1]  # the innermost cause says what went wrong
        first = next((ln for ln in str(root).splitlines() if ln.strip()), "")
        first = re.sub(r"\x1b\[[0-9;]*m", "", first)
        return ExportError(
            f"ONNX export of {type(model).__name__} failed: {type(root).__name__}: {first}. "
            "Fix: make forward traceable "
            "by torch.export (no data-dependent Python control flow), or pass dynamic=False"
        )
    target = found.group(1).removeprefix("torch.ops.")
    where = "the model"
    try:
        ep = torch.export.export(model, args, dynamic_shapes=dynamic_shapes, strict=False)
        where = _module_of(ep, target.removesuffix(".default"))
    except Exception:  # the capture itself failed: the message above is all we know
        pass
    return ExportError(
        f"operator {target} used in {where} cannot be converted to ONNX (no translation). Fix: "
        "replace it with standard torch ops, or register an ONNX translation in edge/export "
        f"(known custom ops: {', '.join(sorted(load_all().names()))})"
    )


def _chain(e: BaseException):
    while e is not None:
        yield e
        e = e.__cause__ or e.__context__


def _simplify(model):
    slim = lazy_import("onnxslim", feature="ONNX simplification (simplify=True)")
    out = slim.slim(model)
    if out is None:
        raise ExportError("onnxslim returned no model")
    return out


def check_model(model) -> None:
    """``onnx.checker`` full check (strict shape inference); ExportError names the problem."""
    register_schemas()
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:
        raise ExportError(f"the exported ONNX model does not pass onnx.checker: {e}") from e


def _stamp(model, source: str, form: str, plugins: bool, opset: int) -> None:
    from edge import __version__

    props = {
        "edge_version": __version__,
        "source": source,
        "form": form,
        "mode": "plugins" if plugins else "portable",
        "opset": str(opset),
        "plugins": ",".join(sorted({n.op_type for n in model.graph.node if n.domain == DOMAIN})),
    }
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    model.producer_name = "edge"
    model.producer_version = __version__


def _form_of(model) -> str:
    from edge.dense.network import DenseNet

    return "dense" if any(isinstance(m, DenseNet) for m in model.modules()) else type(model).__name__


def to_onnx(
    model,
    example_inputs,
    path,
    plugins: bool = True,
    dynamic=None,
    opset: int | None = None,
    simplify: bool | None = None,
    input_names=None,
    output_names=None,
    source: str | None = None,
    form: str | None = None,
    trt_check: bool | str = True,
) -> Path:
    """Export ``model`` to one checked ONNX file at ``path`` (written atomically).

    Args:
        model: an ``nn.Module`` (e.g. a :class:`~edge.dense.DenseNet`); not modified (deep-copied).
        example_inputs: a tensor or tuple of tensors, e.g. ``Tensor[B, C, H, W]``.
        path: output file.
        plugins: True: each custom op -> one ``trt.plugins`` node (EdgeMultiPoolUnwarp, EdgeSampleInterp);
            dense Unwarp modules switch to the custom op. False ("portable"): standard ONNX ops only.
        dynamic: None/True (default): dynamic batch and H/W where the model allows (others stay static);
            False: static shapes; or a torch.export ``dynamic_shapes`` spec.
        opset: ONNX opset of the default domain (default 18).
        simplify: run onnxslim (default False); plugin nodes are kept.
        input_names, output_names: graph input/output names (default "input"/"output", numbered if several).
        source, form: provenance stored in ``metadata_props`` (default: the model class and its form).
        trt_check: run the static TensorRT parser check (:mod:`edge.export.check`) before writing: True for the
            default releases (10.3 and 10.13, or ``EDGE_TRT_RELEASES``), a string such as "10.13" for others,
            False to skip (a file not meant for TensorRT). Errors raise and nothing is written.

    Returns:
        Path of the written file.

    Raises:
        ExportError: an op without ONNX translation (names the op and the module), a failing checker.
        TrtCompatError: the file breaks a rule of TensorRT's ONNX parser (names node, rule, release, fix).
        InputError: bad arguments.
    """
    import torch

    model = _prepare(model, bool(plugins))
    args = _example_tuple(example_inputs)
    opset = int(opset or DEFAULT_OPSET)
    register_schemas()
    table = translation_table(bool(plugins))
    input_names = (
        list(input_names)
        if input_names
        else (["input"] if len(args) == 1 else [f"input{i}" for i in range(len(args))])
    )
    output_names = list(output_names) if output_names else None
    with torch.no_grad():
        proto = _export(
            model,
            _trace_args(args, dynamic),
            _dynamic_shapes(args, dynamic),
            table,
            opset,
            input_names,
            output_names,
        )
    if output_names is None and len(proto.graph.output) == 1:
        _rename_output(proto, "output")
    fold_unwarp_crop(proto)
    name_dynamic_dims(proto)
    if simplify:
        proto = _simplify(proto)
    _stamp(proto, source or type(model).__name__, form or _form_of(model), bool(plugins), opset)
    check_model(proto)
    if trt_check:
        from edge.export.check import enforce

        enforce(proto, None if trt_check is True else trt_check, stage="edge export", name=str(path))
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    return Path(path)


def _rename_output(model, name: str) -> None:
    old = model.graph.output[0].name
    if old == name or any(v.name == name for v in model.graph.input):
        return
    for node in model.graph.node:
        for k, o in enumerate(node.output):
            if o == old:
                node.output[k] = name
        for k, i in enumerate(node.input):
            if i == old:
                node.input[k] = name
    model.graph.output[0].name = name


def load_onnx(path, check: bool = True):
    """Load an ONNX model from a path, bytes or a ModelProto (returned as is); ModelLoadError (with the reason
    and the fix) for a missing, empty, truncated or corrupt file. Plugin schemas are registered first so that
    plugin nodes check."""
    if hasattr(path, "graph") and hasattr(path, "SerializeToString"):
        return path
    if isinstance(path, (bytes, bytearray)):
        path, data = Path("<bytes>"), bytes(path)
    else:
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"ONNX file not found: {path}")
        data = path.read_bytes()
    if not data:
        raise ModelLoadError(f"ONNX file {path} is empty (an interrupted export?). Fix: export it again")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:
        raise ModelLoadError(
            f"{path} is not a readable ONNX file (truncated or corrupt: {e}). "
            "Fix: export it again with edge export"
        ) from e
    if not model.graph.node and not model.graph.output:  # bytes that happen to parse as an empty message
        raise ModelLoadError(f"{path} parsed as an empty ONNX model (truncated, or not an ONNX file). "
                             "Fix: export it again with edge export")
    if check:
        register_schemas()
        try:
            onnx.checker.check_model(model, full_check=False)
        except Exception as e:
            raise ModelLoadError(
                f"{path} is not a valid ONNX model (truncated or corrupt?): "
                f"{str(e).splitlines()[0]}. Fix: export it again with edge export"
            ) from e
        if not model.graph.node:
            raise ModelLoadError(
                f"{path} holds an ONNX model without nodes (truncated?). Fix: export it again"
            )
    return model


__all__ = ["to_onnx", "load_onnx", "check_model", "DEFAULT_OPSET"]
