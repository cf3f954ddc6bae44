"""edge analyze: per-layer costs add up, side-by-side ratios, CLI output formats and errors."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from edge.cli.main import cli
from edge.flops import count_flops
from edge.forms import analyze, to_spconv
from edge.forms.analyze import compare, format_compare
from edge.models import BasicBlock, ResNet


def _tiny():
    torch.manual_seed(0)
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5, in_chans=1, widths=(4, 8, 8, 8), small_stem=True).eval()


def test_rows_add_up_to_model_totals():
    m = _tiny()
    a = analyze(m, (2, 1, 16, 16))
    assert a.total_flops == count_flops(m, torch.randn(2, 1, 16, 16)) > 0
    assert sum(r.params for r in a.rows) == a.total_params == sum(p.numel() for p in m.parameters())
    conv = next(r for r in a.rows if r.name == "layer1.0.conv1")
    assert conv.out_shape == (2, 4, 16, 16)
    assert conv.mac == 2 * 4 * 16 * 16 * 2 + 4 * 4 * 9  # input + output + weights
    assert conv.flops == 2 * (2 * 16 * 16) * 4 * 4 * 9


def test_hints_flag_shufflenet_rules():
    net = nn.Sequential(nn.Conv2d(8, 64, 1), nn.Conv2d(64, 64, 3, padding=1, groups=8), nn.ReLU(),
                        nn.BatchNorm2d(64), nn.ReLU()).eval()
    a = analyze(net, (1, 8, 8, 8))
    hints = {r.name: r.hints for r in a.rows}
    assert "G1" in hints["0"] and "G2" in hints["1"]
    assert any(h.startswith("G4") for h in a.hints)  # element-wise layers dominate the memory traffic


def test_compare_ratios():
    base = _tiny()
    a, b = analyze(base, (1, 1, 16, 16), "base"), analyze(to_spconv(base).eval(), (1, 1, 16, 16), "sp")
    rows = {r["module"]: r for r in compare(a, b)}
    assert rows["TOTAL"]["MFLOPs ratio"] == round(b.total_flops / a.total_flops, 3) < 1
    assert rows["conv1"]["params ratio"] == 1.0
    assert "base vs sp" in format_compare(a, b, "markdown")
    assert json.loads(format_compare(a, b, "json"))["b"]["total_params"] == b.total_params


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_cli(fmt, tmp_path):
    out = tmp_path / "r.txt"
    res = CliRunner().invoke(cli, ["analyze", "fashion-resnet", "fashion-resnet:csp", "--input-shape", "1,1,16,16",
                                   "--format", fmt, "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "fashion-resnet:csp" in text and "TOTAL" in text


def test_cli_saved_model_and_errors(tmp_path):
    p = tmp_path / "m.pt"
    torch.save(_tiny(), p)  # a pickled module: refused unless trusted
    assert CliRunner().invoke(cli, ["analyze", str(p), "--input-shape", "1,1,16,16"]).exit_code != 0
    res = CliRunner().invoke(cli, ["--trust-pickle", "analyze", str(p), "--input-shape", "1,1,16,16", "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.output)["total_params"] > 0
    from edge.cli.main import main

    assert main(["analyze", "no-such-model"]) == 2
    assert main(["analyze", str(tmp_path / "missing.pt")]) == 2
    assert main(["analyze", "resnet18", "--input-shape", "1,3"]) == 2
