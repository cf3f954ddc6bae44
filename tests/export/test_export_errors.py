"""Error paths of the export: unsupported ops, untraceable models, bad arguments, no partial files,
corrupted or truncated ONNX files."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import edge.export.onnx_export as onnx_export
from edge.errors import ExportError, InputError, ModelLoadError
from edge.export import load_onnx, to_onnx


@torch.library.custom_op("edgetest::double", mutates_args=())
def _double(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@_double.register_fake
def _(x):
    return torch.empty_like(x)


class Inner(nn.Module):
    def forward(self, x):
        return torch.ops.edgetest.double(x)


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.block = Inner()

    def forward(self, x):
        return self.block(self.conv(x))


class Branchy(nn.Module):
    def forward(self, x):
        return x * 2 if float(x.sum()) > 0 else x  # data-dependent Python control flow


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_unsupported_op_names_op_and_module(tmp_path):
    out = tmp_path / "m.onnx"
    with pytest.raises(ExportError) as info:
        to_onnx(Outer(), torch.randn(1, 1, 8, 8), out, dynamic=False)
    msg = str(info.value)
    assert "edgetest.double" in msg and "'block'" in msg and "Inner" in msg and "Fix" in msg
    assert _leftovers(tmp_path) == []  # nothing half-written


def test_untraceable_model(tmp_path):
    with pytest.raises(ExportError, match="Branchy|traceable"):
        to_onnx(Branchy(), torch.randn(1, 1, 4, 4), tmp_path / "b.onnx", dynamic=False)
    assert _leftovers(tmp_path) == []


def test_failure_after_export_keeps_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"previous")

    def broken_check(model):
        raise ExportError("checker says no")

    monkeypatch.setattr(onnx_export, "check_model", broken_check)
    with pytest.raises(ExportError, match="checker says no"):
        to_onnx(nn.Conv2d(1, 1, 1), torch.randn(1, 1, 4, 4), out, dynamic=False)
    assert out.read_bytes() == b"previous" and _leftovers(tmp_path) == ["m.onnx"]


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import onnx

    def half_save(model, path, *a, **k):
        with open(path, "wb") as f:
            f.write(model.SerializeToString()[:100])
        raise OSError("disk full")

    monkeypatch.setattr(onnx, "save_model", half_save)
    with pytest.raises(OSError, match="disk full"):
        to_onnx(nn.Conv2d(1, 1, 1), torch.randn(1, 1, 4, 4), tmp_path / "m.onnx", dynamic=False)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "model, inputs, match",
    [
        ("not a module", torch.randn(1), "torch.nn.Module"),
        (nn.Identity(), [1, 2], "tensor"),
        (nn.Identity(), (), "tensor"),
    ],
)
def test_bad_arguments(tmp_path, model, inputs, match):
    with pytest.raises(InputError, match=match):
        to_onnx(model, inputs, tmp_path / "x.onnx")
    assert _leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "conv.onnx"
    return to_onnx(
        nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU()).eval(), torch.randn(1, 1, 8, 8), path, dynamic=False
    )


def test_load_good_file(good_file):
    model = load_onnx(good_file)
    assert {p.key for p in model.metadata_props} >= {"edge_version", "source", "form", "mode", "opset"}


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.99])
def test_truncated_file(tmp_path, good_file, cut):
    data = good_file.read_bytes()
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelLoadError, match="truncated|corrupt|Fix"):
        load_onnx(bad)


def test_corrupted_empty_and_missing(tmp_path, good_file):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\xff\xff\xff" + b"garbage" * 10)
    with pytest.raises(ModelLoadError, match="not a readable ONNX|not a valid ONNX"):
        load_onnx(junk)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        load_onnx(empty)
    with pytest.raises(ModelLoadError, match="not found"):
        load_onnx(tmp_path / "missing.onnx")


class NineStridedLayers(nn.Module):
    def forward(self, x):
        from edge.ops import multipool_unwarp

        return multipool_unwarp(x, ((1, 2),) * 9)


def test_plugin_limit_on_strided_layers(tmp_path):
    x = torch.randn(512, 1, 2, 2)
    with pytest.raises(ExportError, match="at most 8 strided layers.*plugins=False"):
        to_onnx(NineStridedLayers(), x, tmp_path / "nine.onnx", dynamic=False)
    assert _leftovers(tmp_path) == []
    path = to_onnx(NineStridedLayers(), x, tmp_path / "nine.onnx", plugins=False, dynamic=False)
    assert path.is_file()
