"""One dynamic-shape plugin-mode export of the dense basenet, run by the ONNX Runtime runner at two
image sizes and batch 2: equal to the PyTorch dense net, and to the brute-force patch network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("edge.export", reason="edge.export is not importable")

from edge.dense import PatchRunner, basenet, to_dense  # noqa: E402
from edge.export import to_onnx  # noqa: E402
from edge.runtime import compare, load  # noqa: E402


@pytest.mark.slow
def test_one_dynamic_plugin_export_runs_at_two_sizes(tmp_path):
    torch.manual_seed(0)
    net = basenet().eval()
    dense = to_dense(net, 15, unwarp="op").eval()
    path = to_onnx(dense, (torch.rand(1, 1, 32, 40),), tmp_path / "basenet.plugins.onnx", plugins=True)
    with load(path) as ort_runner:
        assert ort_runner.plugin_mode
        (inp,) = ort_runner.inputs
        assert not isinstance(inp.shape[2], int) and not isinstance(inp.shape[3], int), inp
        feeds = [{"x": np.random.default_rng(i).random(s, dtype=np.float32)}
                 for i, s in enumerate([(1, 1, 21, 30), (2, 1, 40, 17)])]
        report = compare([load(dense), ort_runner], feeds, atol=1e-4, rtol=1e-4)
        assert report.passed, report.table()
        (y,) = report.outputs[ort_runner.name][0].values()
    ref = PatchRunner(net, 15)(torch.from_numpy(feeds[0]["x"])).numpy()
    np.testing.assert_allclose(y, ref, atol=1e-4 * max(1.0, float(np.abs(ref).max())))
