"""Sample-interp form (METHODS §4): mask heads, grid prior, Gumbel training, conversion, sparse inference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edge.errors import InputError
from edge.forms import (
    Interpolation,
    MaskHead,
    SampleInterpBlock,
    mask_density,
    set_mask_training,
    sparsity_loss,
    to_sample_interp,
)
from edge.forms.sample_interp import gumbel_mask, separable_interpolate
from edge.models import BasicBlock, Bottleneck, ResNet
from edge.ops.sample_interp import rbf_interpolate, rbf_kernel


def _tiny(block=BasicBlock, classes=5):
    torch.manual_seed(0)
    m = ResNet(block, [1, 1, 1, 1], num_classes=classes, in_chans=1, widths=(4, 8, 8, 8), small_stem=True)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_()
            mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


def _sparsify(model, bias=0.0):
    for b in model.modules():
        if isinstance(b, SampleInterpBlock):
            for h in (b.mask1, b.mask2):
                h.conv.weight.data.normal_(0, 0.3)
                h.conv.bias.data.fill_(bias)


def test_mask_head_init_and_grid_prior():
    h = MaskHead(4, stride=2).eval()
    assert torch.all(h.conv.weight == 0) and torch.all(h.conv.bias == 3)
    x = torch.randn(2, 4, 30, 30)
    m, p = h(x)
    assert m.shape == (2, 1, 15, 15) and torch.all(m == 1)
    torch.testing.assert_close(p, torch.full_like(p, torch.sigmoid(torch.tensor(3.0)).item()))
    h.conv.bias.data.fill_(-20)  # nothing sampled ... except the grid
    m, _ = h(x)
    assert torch.all(m[..., ::11, ::11] == 1) and m.sum() == 2 * 4  # grid points 0 and 11 per axis


def test_gumbel_training_and_temperature():
    torch.manual_seed(0)
    h = MaskHead(3, grid=0).train()
    m, _ = h(torch.randn(4, 3, 8, 8))
    assert m.requires_grad and ((m > 0) & (m < 1)).float().mean() > 0.5  # relaxed, not binary
    assert h.temperature.item() == pytest.approx(0.99998)
    soft = gumbel_mask(torch.full((10000,), 0.7), 1e-3)  # low T: Bernoulli(p)
    assert abs(soft.round().mean().item() - 0.7) < 0.03


def test_hard_training_uses_the_inference_mask_with_straight_through_gradient():
    torch.manual_seed(0)
    model = to_sample_interp(_tiny(BasicBlock))
    _sparsify(model)
    assert set_mask_training(model, "hard") == 8
    x = torch.randn(2, 1, 24, 24)
    h, f = model.layer1[0].mask2, torch.randn(2, 4, 24, 24)
    m_eval, _ = h.eval()(f)
    m_train, _ = h.train()(f)
    assert torch.equal(m_train.detach(), m_eval) and 0.2 < float(m_eval.mean()) < 0.8  # binary, = inference
    assert h.temperature.item() == 1.0  # no Gumbel step taken
    model.train()
    out = model(x)
    (out.square().mean() + sparsity_loss(model, 0.1)).backward()
    assert h.conv.weight.grad is not None and h.conv.weight.grad.abs().sum() > 0  # through p (straight-through)
    set_mask_training(model, "gumbel")
    m_soft, _ = h.train()(torch.randn(2, 4, 24, 24))
    assert ((m_soft > 0) & (m_soft < 1)).any()
    with pytest.raises(InputError, match="'gumbel' or 'hard'"):
        set_mask_training(model, "soft")
    with pytest.raises(InputError, match="no mask head"):
        set_mask_training(_tiny(), "hard")


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_fresh_conversion_equals_source(block):
    src = _tiny(block)
    dst, rep = to_sample_interp(src, return_report=True)
    assert len(rep.replaced) == 4
    x = torch.randn(2, 1, 20, 20)
    torch.testing.assert_close(dst.eval()(x), src(x), rtol=1e-5, atol=1e-5)
    assert mask_density(dst) == 1.0


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_sparse_inference_equals_dense_masked(block):
    model = to_sample_interp(_tiny(block)).eval()
    _sparsify(model)
    x = torch.randn(2, 1, 24, 24)
    y_sparse = model(x)
    assert 0.2 < mask_density(model) < 0.8
    for b in model.modules():
        if isinstance(b, SampleInterpBlock):
            b.sparse = False
    torch.testing.assert_close(y_sparse, model(x), rtol=1e-5, atol=1e-5)


def test_training_is_differentiable_end_to_end():
    model = to_sample_interp(_tiny(Bottleneck)).train()
    out = model(torch.randn(3, 1, 16, 16))
    loss = out.square().mean() + sparsity_loss(model, 0.1)
    loss.backward()
    blk = model.layer2[0]
    for p in (blk.mask1.conv.weight, blk.mask2.conv.bias, blk.interp1.sigma, blk.block.conv2.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_sparsity_loss_formula():
    model = to_sample_interp(_tiny(Bottleneck)).eval()
    model(torch.randn(1, 1, 16, 16))
    blocks = [b for b in model.modules() if isinstance(b, SampleInterpBlock)]
    expect = 0.05 / len(blocks) * sum(0.25 * b.last_p[0].mean() + 0.75 * b.last_p[1].mean() for b in blocks)
    torch.testing.assert_close(sparsity_loss(model, 0.05), expect)
    with pytest.raises(InputError, match="SampleInterpBlock"):
        sparsity_loss(_tiny())


@pytest.mark.parametrize("kind", ["learned", "avgpool"])
def test_interpolation_variants(kind):
    model = to_sample_interp(_tiny(), kind=kind).eval()
    _sparsify(model)
    x = torch.randn(1, 1, 16, 16)
    y = model(x)
    for b in model.modules():
        if isinstance(b, SampleInterpBlock):
            b.sparse = False
    torch.testing.assert_close(y, model(x), rtol=1e-5, atol=1e-5)
    interp = Interpolation(kind, 5)
    k = interp.kernel()
    assert k.shape == (5, 5) and torch.all(k >= 0)
    if kind == "avgpool":
        assert torch.all(k == 1)


def test_stochastic_eval_variant():
    h = MaskHead(2, grid=0, stochastic=True).eval()
    h.conv.bias.data.fill_(0.0)  # p = 0.5: the noisy mask is neither all ones nor all zeros
    m, _ = h(torch.randn(1, 2, 32, 32))
    assert 0.2 < m.mean().item() < 0.8 and set(m.unique().tolist()) <= {0.0, 1.0}


def test_rejects_models_without_blocks():
    with pytest.raises(InputError, match="no ResNet block"):
        to_sample_interp(nn.Sequential(nn.Conv2d(1, 2, 3)))


@pytest.mark.parametrize("shape,window,lam", [((2, 3, 9, 13), 7, 4.5), ((1, 5, 4, 4), 7, 0.3), ((2, 2, 11, 6), 5, 0.0)])
def test_separable_interpolation_equals_rbf_conv(shape, window, lam):
    torch.manual_seed(0)
    f = torch.randn(*shape, requires_grad=True)
    m = torch.rand(shape[0], 1, *shape[2:]).requires_grad_()  # soft (training) mask
    lam_t = torch.tensor(lam, requires_grad=True)
    ref = rbf_interpolate(f, m, rbf_kernel(window, lam_t))
    out = separable_interpolate(f, m, window, lam_t)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g_ref = torch.autograd.grad(ref.square().sum(), (f, m, lam_t))
    g_out = torch.autograd.grad(out.square().sum(), (f, m, lam_t))
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_sparsity_target_only_pushes_above_it():
    model = to_sample_interp(_tiny()).eval()
    model(torch.randn(1, 1, 16, 16))  # p = sigmoid(3) ~ 0.95 everywhere
    assert sparsity_loss(model, 1.0, target=0.99) == 0
    p = torch.sigmoid(torch.tensor(3.0))
    torch.testing.assert_close(sparsity_loss(model, 1.0, target=0.5), p - 0.5)
    with pytest.raises(InputError, match="target"):
        sparsity_loss(model, 1.0, target=1.5)


def test_inference_folds_bn_once_and_refolds_after_a_change():
    """Without autograd the BN-folded weights are cached (the sparse kernel then reuses its packed weights); an
    in-place change of a BN statistic or a conv weight is seen at the next forward."""
    model = to_sample_interp(_tiny()).eval()
    _sparsify(model)
    blk = next(b for b in model.modules() if isinstance(b, SampleInterpBlock))
    x = torch.randn(2, 1, 24, 24)
    with torch.no_grad():
        y0 = model(x)
        w0, _ = blk._fold(blk.block.conv1, blk.block.bn1)
        assert blk._fold(blk.block.conv1, blk.block.bn1)[0] is w0  # cached: the same tensor
        torch.testing.assert_close(model(x), y0, rtol=0, atol=0)
        blk.block.bn1.running_mean.add_(0.5)
        blk.block.conv2.weight.mul_(1.5)
        y1 = model(x)
        assert blk._fold(blk.block.conv1, blk.block.bn1)[0] is not w0
        for b in model.modules():
            if isinstance(b, SampleInterpBlock):
                b.sparse = False
        torch.testing.assert_close(y1, model(x), rtol=1e-5, atol=1e-5)  # the dense path folds nothing
    assert not torch.allclose(y0, y1)
    copy = __import__("copy").deepcopy(model)
    assert all(not b._folded for b in copy.modules() if isinstance(b, SampleInterpBlock))


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_inference_shares_one_conv_between_the_mask_heads(block):
    """Under no_grad the two heads of a block run as one 2-filter conv when they read x alike (BasicBlock: same
    stride), and the residual add runs in place: same masks, probabilities and outputs as the per-head path."""
    model = to_sample_interp(_tiny(block)).eval()
    _sparsify(model)
    x = torch.randn(2, 1, 24, 24)
    want = model(x)  # autograd on: every head on its own, out-of-place add
    want_masks = [b.last_masks for b in model.modules() if isinstance(b, SampleInterpBlock)]
    with torch.no_grad():
        got = model(x)
        blocks = [b for b in model.modules() if isinstance(b, SampleInterpBlock)]
        for blk, masks in zip(blocks, want_masks):
            assert all(torch.equal(a, b) for a, b in zip(blk.last_masks, masks))
            h1, h2 = blk.mask1, blk.mask2
            inp = torch.randn(1, h1.conv.in_channels, 12, 12)
            fused, alone = blk._masks(inp), (h1(inp), h2(inp))
            for (fm, fp), (am, ap) in zip(fused, alone):
                assert torch.equal(fm, am) and torch.allclose(fp, ap, atol=1e-6)
        shared = [isinstance(b._folded.get("heads"), tuple) for b in blocks]
    # BasicBlock: both heads take conv1's stride; Bottleneck: conv2 carries it, so only stride-1 blocks share
    assert shared == [b.mask1.conv.stride == b.mask2.conv.stride for b in blocks]
    assert all(shared) if block is BasicBlock else shared.count(True) == 1
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
