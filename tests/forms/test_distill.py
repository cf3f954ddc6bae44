"""distill: the student learns the teacher, checkpoints resume, BN recalibration, data distillation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edge.errors import InputError, ModelLoadError
from edge.forms import distill, to_sample_interp, to_spconv
from edge.forms.distill import evaluate, fit_stages, kd_loss, recalibrate_bn
from edge.models import BasicBlock, ResNet


def _tiny():
    torch.manual_seed(0)
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=4, in_chans=1, widths=(4, 8, 8, 8), small_stem=True).eval()


def _data(n=64, batch=16, labels=True):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 1, 12, 12, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return [(x[i:i + batch], y[i:i + batch]) if labels else x[i:i + batch] for i in range(0, n, batch)]


def test_kd_loss_zero_for_identical_logits():
    t = torch.randn(5, 7)
    assert kd_loss(t, t, 4.0).abs() < 1e-6 and kd_loss(t + torch.randn(5, 7), t, 4.0) > 0


def test_student_moves_towards_teacher():
    teacher, data = _tiny(), _data()
    teacher.fc.weight.data.mul_(30)  # confident, input-dependent targets
    recalibrate_bn(teacher, data)  # a trained teacher's BN statistics fit its data
    student = to_spconv(teacher)
    x = torch.cat([b[0] for b in data])
    with torch.no_grad():
        before = kd_loss(student.eval()(x), teacher(x), 4.0)
    res = distill(student, teacher, data, epochs=4, lr=3e-3, eval_data=data, progress=False)
    with torch.no_grad():
        after = kd_loss(student.eval()(x), teacher(x), 4.0)
    assert after < before
    assert res.steps == 16 and len(res.history) == 4 and res.student_acc is not None and 0 <= res.agreement <= 1


def test_data_distillation_without_labels_and_features():
    teacher = _tiny()
    student = to_spconv(teacher)
    res = distill(student, teacher, _data(labels=False), epochs=1, feature_layers=["layer2", "layer4"],
                  progress=False)
    assert res.history[0]["ce"] == 0 and res.history[0]["feat"] > 0


def test_checkpoint_resume(tmp_path):
    teacher, data = _tiny(), _data()
    ck = tmp_path / "ck.pt"
    student = to_sample_interp(teacher)
    r1 = distill(student, teacher, data, epochs=1, checkpoint=ck, progress=False)
    assert ck.exists() and r1.history[0]["sparsity"] > 0
    r2 = distill(student, teacher, data, epochs=2, checkpoint=ck, progress=False)
    assert r2.epochs == 2 and r2.steps == 8 and r2.history[0] == r1.history[0]  # resumed at epoch 2
    ck.write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="resume"):
        distill(student, teacher, data, epochs=3, checkpoint=ck, progress=False)


def test_bn_recalibration_matches_data_statistics():
    net = nn.Sequential(nn.Conv2d(1, 3, 1), nn.BatchNorm2d(3)).eval()
    data = [torch.randn(8, 1, 5, 5) * 3 + 2 for _ in range(4)]
    assert recalibrate_bn(net, data) == 4
    with torch.no_grad():
        feats = torch.cat([net[0](x) for x in data])
    torch.testing.assert_close(net[1].running_mean, feats.mean((0, 2, 3)), rtol=1e-4, atol=1e-4)
    assert not net[1].training


def test_errors():
    teacher = _tiny()
    with pytest.raises(InputError, match="sparsity_weight"):
        distill(to_spconv(teacher), teacher, _data(), sparsity_weight=0.1, progress=False)
    with pytest.raises(InputError, match="batch"):
        distill(to_spconv(teacher), teacher, [["not a tensor"]], progress=False)
    assert evaluate(teacher, _data(labels=False))["acc"] is None


def _stage_errors(student, teacher, x, names):
    from edge.forms.distill import _stage_io

    handles, store = _stage_io(teacher, names)
    with torch.no_grad():
        teacher(x)
        errs = [float(((student.get_submodule(n).eval()(store[n][0]) - store[n][1]) ** 2).mean()) for n in names]
    for h in handles:
        h.remove()
    return errs


def test_fit_stages_brings_each_stage_towards_the_teacher():
    from edge.forms import to_csp

    teacher, data = _tiny(), _data()
    recalibrate_bn(teacher, data)
    student = to_csp(teacher)
    names = ["layer1", "layer2", "layer3", "layer4"]
    x = torch.cat([b[0] for b in data])
    before = _stage_errors(student, teacher, x, names)
    losses = fit_stages(student, teacher, data, steps=20, lr=1e-2)
    after = _stage_errors(student, teacher, x, names)
    assert len(losses) == 4 and all(a < b for a, b in zip(after, before))
    assert torch.equal(student.conv1.weight, teacher.conv1.weight)  # only the stages were trained
    with pytest.raises(InputError, match="layer9"):
        fit_stages(student, teacher, data, stages=["layer9"], steps=1)


def test_temperature_schedule_reaches_tau_end():
    from edge.forms import MaskHead

    teacher, data = _tiny(), _data()
    student = to_sample_interp(teacher)
    distill(student, teacher, data, epochs=2, sparsity_weight=0.5, sparsity_target=0.5, tau_end=0.1,
            progress=False)
    temps = [float(m.temperature) for m in student.modules() if isinstance(m, MaskHead)]
    assert temps and all(abs(t - 0.1) < 1e-3 for t in temps)
    with pytest.raises(InputError, match="tau_end"):
        distill(to_sample_interp(teacher), teacher, data, tau_end=0.0, progress=False)


def test_cli_distill_sample_interp_with_budget_and_hard_phase(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from edge.cli.main import cli
    from edge.forms import MaskHead

    torch.save(_tiny(), tmp_path / "teacher.pt")
    x = torch.cat([b[0] for b in _data(48)])
    torch.save({"x": x, "y": torch.randint(0, 4, (48,))}, tmp_path / "data.pt")
    monkeypatch.setenv("EDGE_TRUST_PICKLE", "1")  # the teacher is a pickled module this test wrote itself
    common = ["distill", "--teacher", str(tmp_path / "teacher.pt"), "--data", str(tmp_path / "data.pt"),
              "--batch-size", "16", "--epochs", "1"]
    res = CliRunner().invoke(cli, common + ["--form", "sample_interp", "--sparsity-weight", "2", "--density-target",
                                            "0.5", "--tau-end", "0.2", "--hard-epochs", "1",
                                            "--save", str(tmp_path / "s.pt")])
    assert res.exit_code == 0, res.output
    from edge.spec import load_module

    saved = load_module(tmp_path / "s.pt")  # an edge checkpoint: loads with weights_only=True
    heads = [m for m in saved.modules() if isinstance(m, MaskHead)]
    assert heads and not any(h.straight_through for h in heads)  # back to the default after the hard phase
    assert all(h.temperature.item() == pytest.approx(0.2, rel=1e-3) for h in heads)  # Gumbel phase reached tau_end
    bad = CliRunner().invoke(cli, common + ["--form", "spconv", "--hard-epochs", "1", "--save", str(tmp_path / "x.pt")])
    assert isinstance(bad.exception, InputError) and "sample_interp only" in str(bad.exception)
    assert not (tmp_path / "x.pt").exists()
