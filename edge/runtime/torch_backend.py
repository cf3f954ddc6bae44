"""PyTorch backend: an ``nn.Module`` (or a saved one) behind the Runner interface.

This is the reference every exported artifact is compared against. Input metadata comes from the
options (``inputs=[TensorMeta...]`` or ``input_names``/``input_shapes``), else from the module: one
input per ``forward`` argument, a 4-D float input ``(batch, C, height, width)`` when the channel count
is known (a ``DenseNet``'s ``in_channels`` or the first ``Conv2d``), otherwise any shape.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from edge.errors import RuntimeBackendError
from edge.spec import load_module
from edge.runtime.base import Runner, TensorMeta, backend_error, backends

TORCH_SUFFIXES = (".pt", ".pth", ".pt2", ".ts")


def infer_input_metas(model: nn.Module, names: Sequence[str] | None = None) -> list[TensorMeta]:
    """Best-effort input metadata of ``model`` (see the module docstring)."""
    if names is None:
        fwd = model.forward if not isinstance(model, torch.jit.ScriptModule) else model.forward
        try:
            params = [p for p in inspect.signature(fwd).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]
            names = [p.name for p in params if p.default is inspect.Parameter.empty] or ["input"]
        except (TypeError, ValueError):
            names = ["input"]
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    channels = getattr(model, "in_channels", None)
    if not isinstance(channels, int):
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)  # TorchScript keeps the type's name
                     or getattr(m, "original_name", None) == "Conv2d"), None)
        channels = int(conv.weight.shape[1] * getattr(conv, "groups", 1)) if conv is not None else None
    shape = ("batch", channels, "height", "width") if len(names) == 1 and channels else None
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    return [TensorMeta(n, shape, np_dtype) for n in names]


@backends.register("torch")
class TorchRunner(Runner):
    """Runs an ``nn.Module`` (in eval mode, without autograd) on ``device``.

    Args:
        model: an ``nn.Module`` or a model file (``.pt2``, TorchScript, an edge checkpoint; a pickled module
            only with ``trust_pickle``: see ``edge.spec``).
        device: torch device; None = "cpu".
        inputs: explicit input metadata; None = derived from the module (see module docstring).
        input_names: names of the forward arguments in order; None = from the signature.
        output_names: names for the outputs (tensor, tuple or dict); None = "output" / "output_<i>" / dict keys.
        name: label used in reports.
        trust_pickle: allow a pickled-module file (runs the code it names); None = ``EDGE_TRUST_PICKLE``.
    """

    backend = "torch"

    def __init__(self, model: nn.Module | str | os.PathLike, device: str | None = None,
                 inputs: Sequence[TensorMeta] | None = None, input_names: Sequence[str] | None = None,
                 output_names: Sequence[str] | None = None, name: str | None = None,
                 trust_pickle: bool | None = None):
        label = type(model).__name__ if isinstance(model, nn.Module) else Path(model).name
        super().__init__(name or f"torch:{label}")
        self.source = model
        self.trust_pickle = trust_pickle
        self.device = torch.device(device or "cpu")
        self._inputs = list(inputs) if inputs is not None else None
        self.input_names = list(input_names) if input_names is not None else None
        self.output_names = list(output_names) if output_names is not None else None
        self.model: nn.Module | None = None
        self._out_meta: list[TensorMeta] | None = None

    def activate_impl(self) -> None:
        model = self.source if isinstance(self.source, nn.Module) else load_module(self.source, trust_pickle=self.trust_pickle)
        model = model.to(self.device)
        try:
            model.eval()
        except NotImplementedError:  # torch.export modules are already in inference form
            pass
        self.model = model
        if self._inputs is None:
            self._inputs = infer_input_metas(self.model, self.input_names)

    def deactivate_impl(self) -> None:
        self.model = None

    def inputs_impl(self) -> list[TensorMeta]:
        return list(self._inputs)

    def outputs_impl(self) -> list[TensorMeta]:
        if self._out_meta is not None:
            return list(self._out_meta)
        names = self.output_names or ["output"]
        return [TensorMeta(n, None, self._inputs[0].dtype if self._inputs else np.dtype(np.float32)) for n in names]

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        args = [torch.from_numpy(feed[m.name]).to(self.device) for m in self._inputs]
        try:
            with torch.inference_mode():
                result = self.model(*args)
        except Exception as e:  # noqa: BLE001
            raise backend_error(self.name, "PyTorch forward", e) from e
        out = self._name_outputs(result)
        self._out_meta = [TensorMeta(k, tuple(v.shape), v.dtype) for k, v in out.items()]
        return out

    def _name_outputs(self, result: Any) -> dict[str, np.ndarray]:
        if isinstance(result, torch.Tensor):
            tensors = {(self.output_names or ["output"])[0]: result}
        elif isinstance(result, dict):
            tensors = dict(result)
        elif isinstance(result, (tuple, list)):
            names = self.output_names or [f"output_{i}" for i in range(len(result))]
            if len(names) != len(result):
                raise RuntimeBackendError(f"{self.name}: the model returned {len(result)} outputs but "
                                          f"output_names has {len(names)}: {names}")
            tensors = dict(zip(names, result))
        else:
            raise RuntimeBackendError(f"{self.name}: the model returned a {type(result).__name__}; "
                                      "a runner needs a tensor, a tuple/list or a dict of tensors")
        return {k: v.detach().cpu().numpy() for k, v in tensors.items()}
