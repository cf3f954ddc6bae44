"""Shared fixtures: a small random descriptor in dense form exported to ONNX once per session."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def small_descriptor():
    from edge.stereo.model import descriptor

    torch.manual_seed(0)
    return descriptor(features=8, width=4).eval()


@pytest.fixture(scope="session")
def descriptor_onnx(small_descriptor, tmp_path_factory):
    """The small descriptor's dense form as a portable ONNX (dynamic batch and H/W)."""
    pytest.importorskip("onnxruntime")
    from edge.dense import to_dense
    from edge.export import to_onnx
    from edge.stereo.model import PATCH

    dense = to_dense(small_descriptor, PATCH)
    return to_onnx(dense, torch.rand(1, 1, 24, 32), tmp_path_factory.mktemp("desc") / "desc.onnx", plugins=False)


@pytest.fixture()
def frames():
    from edge.core.frames import FrameSet

    rng = np.random.default_rng(0)
    return FrameSet([rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(4)], name="random")
