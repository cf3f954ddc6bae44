"""The plugin contract on the Python side: op_type, inputs, attributes of each TensorRT plugin node.

``plugins/<op>/README.md`` is the written definition; :data:`PLUGINS` mirrors it and
``tests/export/test_contract.py`` checks that the two agree. Every plugin node lives in domain
``trt.plugins`` and carries the STRING attributes ``plugin_version`` and ``plugin_namespace`` that the
TensorRT ONNX parser's fallback plugin importer reads (docs/TENSORRT.md, "Plugin nodes in ONNX").

Registering the plugins as ONNX op schemas (:func:`register_schemas`) lets the dynamo exporter
record the nodes and makes ``onnx.checker`` verify their attribute names and types.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge._lazy import lazy_import

onnx = lazy_import("onnx", feature="ONNX export")

DOMAIN = "trt.plugins"
PLUGIN_VERSION = "1"
PLUGIN_NAMESPACE = ""
TYPES = ("tensor(float)", "tensor(float16)")


@dataclass(frozen=True)
class PluginSpec:
    """One plugin node: ``op_type`` (= TensorRT plugin name), its inputs/outputs and typed attributes.

    ``attributes`` maps name -> ONNX attribute type ("INT", "INTS", "FLOAT", "STRING"), in the order
    the README lists them; ``plugin_version``/``plugin_namespace`` are appended by :meth:`all_attributes`.
    """

    op_type: str
    torch_op: str  # "edge::multipool_unwarp"
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]

    def all_attributes(self) -> dict[str, str]:
        return {**dict(self.attributes), "plugin_version": "STRING", "plugin_namespace": "STRING"}


PLUGINS: dict[str, PluginSpec] = {
    "EdgeMultiPoolUnwarp": PluginSpec(
        op_type="EdgeMultiPoolUnwarp",
        torch_op="edge::multipool_unwarp",
        inputs=("X",),
        outputs=("Y",),
        attributes=(
            ("strides_y", "INTS"),
            ("strides_x", "INTS"),
            ("batch", "INT"),
            ("out_h", "INT"),
            ("out_w", "INT"),
        ),
    ),
    "EdgeSampleInterp": PluginSpec(
        op_type="EdgeSampleInterp",
        torch_op="edge::sample_interp",
        inputs=("X", "M", "W", "bias"),
        outputs=("Y",),
        attributes=(
            ("stride", "INTS"),
            ("padding", "INTS"),
            ("dilation", "INTS"),
            ("groups", "INT"),
            ("activation", "INT"),
            ("window", "INT"),
            ("lambda", "FLOAT"),
        ),
    ),
}


def plugin_attributes(op_type: str, **values) -> dict:
    """The complete attribute dict of a plugin node (contract attributes + version/namespace), checked
    against :data:`PLUGINS` so that a translation cannot drift from the contract."""
    spec = PLUGINS[op_type]
    names = [n for n, _ in spec.attributes]
    if sorted(values) != sorted(names):
        from edge.errors import InternalError

        raise InternalError(
            f"{op_type}: attributes {sorted(values)} differ from the contract {sorted(names)}"
        )
    return {
        **{n: values[n] for n in names},
        "plugin_version": PLUGIN_VERSION,
        "plugin_namespace": PLUGIN_NAMESPACE,
    }


_registered = False


def register_schemas() -> None:
    """Register every plugin as an ONNX op schema in domain ``trt.plugins`` version 1 (idempotent)."""
    global _registered
    if _registered:
        return
    defs = onnx.defs
    schema_cls = defs.OpSchema
    for spec in PLUGINS.values():
        if defs.has(spec.op_type, DOMAIN):
            continue
        attrs = [
            schema_cls.Attribute(name, getattr(schema_cls.AttrType, kind), f"{spec.op_type}.{name}")
            for name, kind in spec.all_attributes().items()
        ]
        schema = schema_cls(
            spec.op_type,
            DOMAIN,
            1,
            doc=f"TensorRT plugin {spec.op_type} (see plugins/*/README.md)",
            inputs=[schema_cls.FormalParameter(n, "T") for n in spec.inputs],
            outputs=[schema_cls.FormalParameter(n, "T") for n in spec.outputs],
            type_constraints=[("T", list(TYPES), "float32 or float16, linear NCHW")],
            attributes=attrs,
        )
        defs.register_schema(schema)
    _registered = True
