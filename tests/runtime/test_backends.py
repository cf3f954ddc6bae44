"""Every registered backend, through the registry: same numbers as PyTorch, metadata, input errors.

A newly registered backend fails ``test_every_backend_has_an_artifact`` until 
ARTIFACT_FIXTURES names an artifact for it, so none goes untested.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.errors import InputError
from edge.runtime import backends, load

# backend name -> fixture giving an artifact it runs; a newly registered backend must add one here
ARTIFACT_FIXTURES = {"torch": "small_net", "onnxruntime": "small_onnx", "tensorrt": "small_engine"}
# TensorRT may run FP32 convolutions in TF32 (10-bit mantissa) on Ampere GPUs such as Orin
TOLERANCE = {"tensorrt": 2e-3}
BACKEND_MARKS = {"tensorrt": [pytest.mark.needs_trt, pytest.mark.needs_gpu]}

BACKENDS = [pytest.param(n, marks=BACKEND_MARKS.get(n, [])) for n in backends.names()]


def test_every_backend_has_an_artifact():
    assert set(backends.names()) <= set(ARTIFACT_FIXTURES), "add an artifact fixture for the new backend"


@pytest.fixture
def runner(request):
    name = request.param
    artifact = request.getfixturevalue(ARTIFACT_FIXTURES[name])
    with load(artifact, backend=name) as r:
        yield r


def _input(runner):
    return runner.inputs[0].name


@pytest.mark.parametrize("runner", BACKENDS, indirect=True)
def test_backend_matches_torch_at_two_sizes(runner, small_net):
    assert runner.backend in backends.names()
    for shape in [(1, 1, 16, 20), (2, 1, 24, 12)]:
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        out = runner.infer({_input(runner): x})
        assert len(out) == 1
        (y,) = out.values()
        with torch.no_grad():
            ref = small_net(torch.from_numpy(x)).numpy()
        assert y.shape == ref.shape and y.dtype == np.float32
        tol = TOLERANCE.get(runner.backend, 1e-5)
        np.testing.assert_allclose(y, ref, atol=tol, rtol=tol)
        assert runner.last_inference_time > 0


@pytest.mark.parametrize("runner", BACKENDS, indirect=True)
def test_backend_metadata(runner):
    (inp,) = runner.inputs
    assert inp.dtype == np.float32 and len(inp.shape) == 4 and inp.shape[1] == 1
    assert all(not isinstance(d, int) for d in (inp.shape[0], inp.shape[2], inp.shape[3]))
    assert len(runner.outputs) == 1


@pytest.mark.parametrize("runner", BACKENDS, indirect=True)
def test_backend_wrong_inputs_raise_input_error(runner):
    name = _input(runner)
    good = np.zeros((1, 1, 16, 16), np.float32)
    with pytest.raises(InputError, match="unknown input name"):
        runner.infer({"not_" + name: good})
    with pytest.raises(InputError, match=f"'{name}' has shape \\(1, 3, 16, 16\\)"):
        runner.infer({name: np.zeros((1, 3, 16, 16), np.float32)})
    with pytest.raises(InputError, match=f"'{name}' has dtype float64"):
        runner.infer({name: good.astype(np.float64)})
    assert runner.infer({name: torch.from_numpy(good)})  # torch tensors are accepted
