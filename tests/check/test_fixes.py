"""The files TensorRT rejected before issue 19, made again with the fixes (each test fails on the old code):
dynamic sample-interp exports without ScatterND, a valid FP16 file, IR version raised with the opset, cpu-u8
refused by ``edge build``, ``--opset`` checked, plugin inputs not fed by a shared DQ, one clear error for
calibration frames of different sizes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from synthetic import qdq_conv, save

from edge.cli.main import cli
from edge.export.check import check
from edge.forms import SampleInterpBlock, to_sample_interp
from edge.forms.sample_interp import grid_prior
from edge.models import BasicBlock, ResNet

ort = pytest.importorskip("onnxruntime")


def sample_interp_model():
    """A tiny ResNet (1 channel) in sample-interp form with random mask heads (as tests/forms does)."""
    torch.manual_seed(0)
    net = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5, in_chans=1, widths=(4, 8, 8, 8), small_stem=True).eval()
    m = to_sample_interp(net).eval()
    for b in m.modules():
        if isinstance(b, SampleInterpBlock):
            for head in (b.mask1, b.mask2):
                head.conv.weight.data.normal_(0, 0.3)
                head.conv.bias.data.zero_()
    return m


@pytest.fixture(scope="module")
def si_files(tmp_path_factory):
    """Dynamic sample-interp exports (plugin, portable) and the trt INT8 / FP16 / INT8+FP16 files made from them."""
    from edge.calib.fp16 import to_fp16
    from edge.calib.qdq import quantize
    from edge.core.frames import load
    from edge.export import to_onnx

    d = tmp_path_factory.mktemp("si")
    model, x = sample_interp_model(), torch.randn(2, 1, 28, 28)
    files = {"model": model, "x": x}
    for mode in ("plugins", "portable"):
        files[mode] = to_onnx(model, x, d / f"si.{mode}.dynamic.onnx", plugins=mode == "plugins", dynamic=True)
    frames = load("fashion-mnist:train", limit=8) if _has_fashion() else None
    if frames is not None:
        files["int8"] = quantize(files["plugins"], d / "si.plugins.int8.onnx", "fashion-cnn", frames,
                                 method="max").path
        files["cpu-u8"] = quantize(files["plugins"], d / "si.plugins.cpu-u8.onnx", "fashion-cnn", frames,
                                   method="max", scheme="cpu-u8").path
        files["int8-fp16"] = to_fp16(files["int8"], d / "si.plugins.int8.fp16.onnx")
    files["fp16"] = to_fp16(files["plugins"], d / "si.plugins.fp16.onnx")
    return files


def _has_fashion() -> bool:
    try:
        from edge.models.fashion_cnn import load_fashion_mnist

        load_fashion_mnist("train")
        return True
    except Exception:  # noqa: BLE001 - the Debian dataset is optional
        return False


def _need(files, key):
    if key not in files:
        pytest.skip("Fashion-MNIST is not installed (run `make data`): no calibration frames")
    return files[key]


def _old_grid_prior(shape, grid, dtype=torch.float32):
    g = torch.zeros(1, 1, *shape[-2:], dtype=dtype)
    if grid:
        g[..., ::grid, ::grid] = 1
    return g


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 1, 20, 20), (1, 1, 23, 11), (3, 1, 12, 45)])
@pytest.mark.parametrize("grid", [0, 1, 3, 11])
def test_grid_prior_values_unchanged(shape, grid):
    for dtype in (torch.float32, torch.float16):
        assert torch.equal(grid_prior(shape, grid, dtype=dtype), _old_grid_prior(shape, grid, dtype))


@pytest.mark.parametrize("mode", ["plugins", "portable"])
def test_dynamic_sample_interp_has_no_scatternd(si_files, mode):
    m = onnx.load(str(si_files[mode]))
    assert not [n for n in m.graph.node if n.op_type == "ScatterND"]
    report = check(m, ["10.3", "10.13"])
    assert report.ok, report.text()
    from edge.export import attach_plugin_functions

    sess = ort.InferenceSession(attach_plugin_functions(m).SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 1, 33, 21)  # another size than the export's: the prior follows H and W
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        ref = si_files["model"](x).numpy()
    assert np.abs(y - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())


def test_fp16_sample_interp_is_valid_onnx(si_files):
    from edge.export import attach_plugin_functions
    from edge.export.contract import register_schemas

    m = onnx.load(str(si_files["fp16"]))
    register_schemas()
    onnx.checker.check_model(m, full_check=True)
    sess = ort.InferenceSession(attach_plugin_functions(m).SerializeToString(), providers=["CPUExecutionProvider"])
    x = si_files["x"]
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        ref = si_files["model"](x).numpy()
    assert np.abs(y - ref).max() <= 0.05 * max(1.0, np.abs(ref).max())  # FP16 arithmetic
    assert check(m, ["10.3", "10.13"]).ok


def test_fp16_of_qdq_raises_ir_version_with_opset(tmp_path):
    from edge.calib.fp16 import to_fp16

    src = save(qdq_conv(), tmp_path / "qdq.onnx")
    assert onnx.load(src).ir_version == 8
    out = onnx.load(str(to_fp16(src, tmp_path / "qdq.fp16.onnx")))
    opset = next(o.version for o in out.opset_import if o.domain == "")
    assert opset == 19 and out.ir_version >= 9
    onnx.checker.check_model(out, full_check=True)


def test_int8_plugin_inputs_are_not_shared_dq(si_files):
    m = onnx.load(str(_need(si_files, "int8")))
    producers = {o: n for n in m.graph.node for o in n.output}
    plugin = [n for n in m.graph.node if n.domain == "trt.plugins"]
    assert plugin and not [i for n in plugin for i in n.input
                           if i in producers and producers[i].op_type == "DequantizeLinear"]
    assert check(m, ["10.3", "10.13"]).ok


def test_build_refuses_cpu_u8(si_files, tmp_path):
    for path in (str(_need(si_files, "cpu-u8")), save(qdq_conv(zp_type=np.uint8), tmp_path / "u8.onnx")):
        res = CliRunner().invoke(cli, ["build", path], standalone_mode=False)
        assert "cpu-u8" in str(res.exception) and "--scheme trt" in str(res.exception), res.exception


def test_build_refuses_a_file_tensorrt_rejects(tmp_path):
    from synthetic import scatter_nd

    from edge.export.check import TrtCompatError

    res = CliRunner().invoke(cli, ["build", save(scatter_nd("none"), tmp_path / "s.onnx")], standalone_mode=False)
    assert isinstance(res.exception, TrtCompatError) and "ScatterND" in str(res.exception)


@pytest.mark.parametrize("opset,ok", [(21, False), (8, False), (20, True)])
def test_export_opset_range(tmp_path, opset, ok):
    from edge.errors import InputError

    if ok:
        from edge.cli.export import check_opset

        check_opset(opset, ("10.3", "10.13"))
        return
    res = CliRunner().invoke(cli, ["export", "no_such_module:factory", "-o", str(tmp_path / "m.onnx"), "--opset",
                                   str(opset)], standalone_mode=False)
    assert isinstance(res.exception, InputError) and "9 and 20" in str(res.exception), res.exception


def test_calibration_frames_of_different_sizes(si_files, tmp_path):
    from edge.calib.qdq import quantize
    from edge.core.frames import load
    from edge.errors import CalibrationError

    frames = load("skimage", limit=3)
    with pytest.raises(CalibrationError, match="different sizes.*resize"):
        quantize(si_files["plugins"], tmp_path / "x.int8.onnx", "dense-basenet", frames)
    assert not (tmp_path / "x.int8.onnx").exists()
