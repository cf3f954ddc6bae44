"""Runner base: input checking, metadata, lifecycle, and the load() dispatch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.errors import InputError, ModelLoadError
from edge.runtime import Runner, TensorMeta, backend_for, check_feed, load
from edge.runtime.base import is_dynamic

METAS = [TensorMeta("input", ("batch", 3, None, 8), np.dtype(np.float32))]


def test_check_feed_accepts_dynamic_dims_and_tensors():
    out = check_feed({"input": torch.zeros(2, 3, 5, 8)}, METAS, "r")
    assert isinstance(out["input"], np.ndarray) and out["input"].shape == (2, 3, 5, 8)


@pytest.mark.parametrize("feed, words", [
    ({"image": np.zeros((1, 3, 4, 8), np.float32)}, ["missing input(s) ['input']", "unknown input name(s) ['image']"]),
    ({"input": np.zeros((1, 3, 4, 8), np.float64)}, ["'input'", "float64", "expected float32"]),
    ({"input": np.zeros((1, 1, 4, 8), np.float32)}, ["'input'", "(1, 1, 4, 8)", "(batch, 3, ?, 8)"]),
    ({"input": np.zeros((3, 4, 8), np.float32)}, ["'input'", "(3, 4, 8)"]),
])
def test_check_feed_errors_name_the_input_expected_and_got(feed, words):
    with pytest.raises(InputError) as e:
        check_feed(feed, METAS, "r")
    for w in words:
        assert w in str(e.value)


def test_check_feed_rejects_non_dict():
    with pytest.raises(InputError, match="dict name -> array"):
        check_feed([np.zeros(3)], METAS, "r")


def test_is_dynamic():
    assert is_dynamic(None) and is_dynamic("h") and is_dynamic(-1) and not is_dynamic(3)


class Doubler(Runner):
    """A minimal backend used to test the base's lifecycle and timing (not registered)."""

    backend = "doubler"

    def __init__(self):
        super().__init__()
        self.events = []

    def activate_impl(self):
        self.events.append("activate")

    def deactivate_impl(self):
        self.events.append("deactivate")

    def inputs_impl(self):
        return [TensorMeta("a", (None,), np.dtype(np.float32))]

    def outputs_impl(self):
        return [TensorMeta("b", (None,), np.dtype(np.float32))]

    def infer_impl(self, feed):
        return {"b": feed["a"] * 2}


def test_lifecycle_activates_lazily_once_and_times():
    r = Doubler()
    assert r.last_inference_time is None
    with r:
        out = r.infer({"a": np.arange(3, dtype=np.float32)})
        r.infer({"a": np.arange(2, dtype=np.float32)})
    np.testing.assert_array_equal(out["b"], [0, 2, 4])
    assert r.events == ["activate", "deactivate"] and not r.is_active
    assert r.last_inference_time >= 0
    assert load(r) is r


def test_backend_for_dispatch(tmp_path, small_net):
    assert backend_for(small_net) == "torch"
    assert backend_for("m.onnx") == "onnxruntime"
    assert backend_for("m.engine") == backend_for("m.plan") == "tensorrt"
    assert backend_for("m.pt") == "torch"
    with pytest.raises(ModelLoadError, match="backend="):
        backend_for("model.xyz")
    with pytest.raises(InputError):
        backend_for(42)


def test_load_missing_file_is_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load(tmp_path / "nothing.onnx")


@pytest.mark.parametrize("fmt", ["pickled", "torchscript", "export"])
def test_torch_files_load(tmp_path, small_net, fmt):
    x = torch.rand(1, 1, 9, 9)
    path = tmp_path / ("net.pt2" if fmt == "export" else "net.pt")
    if fmt == "pickled":  # torch's own classes: the pickle does not depend on which conftest is imported
        small_net = torch.nn.Sequential(small_net.conv, torch.nn.ReLU(), small_net.head)
        torch.save(small_net, path)
    elif fmt == "torchscript":
        torch.jit.save(torch.jit.trace(small_net, x), str(path))
    else:
        torch.export.save(torch.export.export(small_net, (x,)), str(path))
    with load(path, trust_pickle=fmt == "pickled") as r:
        (y,) = r.infer({r.inputs[0].name: x.numpy()}).values()
    np.testing.assert_allclose(y, small_net(x).detach().numpy(), atol=1e-6)


def test_state_dict_file_is_rejected_with_fix(tmp_path, small_net):
    torch.save(small_net.state_dict(), tmp_path / "w.pt")
    with pytest.raises(ModelLoadError, match="state dict"):
        load(tmp_path / "w.pt").activate()
