"""Sample-interp form (Xie et al., ECCV 2020; METHODS §4): residual blocks whose convolutions run only at
sampled positions, the rest filled by interpolation.

- :class:`MaskHead`: 3x3 conv (1 channel, weights 0, bias 3) on the block input -> probabilities ``p``;
  training: Gumbel relaxation at temperature ``T`` (starts at 1, x0.99998 after every training forward);
  inference: deterministic ``p >= 0.5`` (default; the stochastic variant of the public code, noise at
  ``T = 0.03``, is ``stochastic=True``); the grid prior forces positions ``[::g, ::g]`` (g = 11).
- :class:`Interpolation`: RBF (``K = exp(-lam |d|^2)``, learnable ``lam = sigma^2 / 2``, sigma 3),
  or the paper's alternatives ``"learned"`` (absolute value of a learned kernel) and ``"avgpool"``.
- :class:`SampleInterpBlock`: wraps a ResNet Bottleneck (conv1 own mask; conv2 and conv3 share one, the
  interpolation after conv2's ReLU as METHODS §4 places it) or BasicBlock (one mask per 3x3 conv), keeping
  the original convs and BNs. In eval mode each gated conv (BN folded, ReLU fused) runs through
  ``torch.ops.edge.sample_interp`` (sparse on the CPU; an ``EdgeSampleInterp`` node in ONNX); the
  learned-kernel variant has no op and runs dense with the mask applied.
- :func:`sparsity_loss`: ``w / N_blocks * sum(0.25 * mean(p1) + 0.75 * mean(p2))``.

A freshly converted model in eval mode equals its source exactly: ``p = sigmoid(3) > 0.5`` samples
every position, and an all-ones mask returns the convolution itself.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edge.errors import InputError
from edge.forms.report import ConversionReport, excluded, set_submodule
from edge.ops.sample_interp import EPS, _plain_eager, rbf_interpolate, rbf_kernel, sample_interp

__all__ = [
    "Interpolation",
    "MaskHead",
    "SampleInterpBlock",
    "fold_bn",
    "grid_prior",
    "gumbel_mask",
    "mask_density",
    "separable_interpolate",
    "set_mask_training",
    "sparsity_loss",
    "to_sample_interp",
]

_E = 1e-8


def gumbel_mask(p: Tensor, temperature: float) -> Tensor:
    """Relaxed Bernoulli sample of METHODS §4: ``softmax([(log(p+e)+g1)/T, (log(1-p+e)+g2)/T])[0]``."""
    g1, g2 = (-torch.log(-torch.log(torch.rand_like(p) + _E) + _E) for _ in range(2))
    a = (torch.log(p + _E) + g1) / temperature
    b = (torch.log(1 - p + _E) + g2) / temperature
    return torch.sigmoid(a - b)  # == softmax([a, b])[0]


def grid_prior(shape, grid: int, device=None, dtype=torch.float32) -> Tensor:
    """Tensor[1, 1, H, W] with ones at ``[::grid, ::grid]`` (top-left anchored); grid 0 means none.

    Built as ``(arange(H) % grid == 0) & (arange(W) % grid == 0)`` rather than a strided assignment: with a
    symbolic H/W the exporter turns ``g[..., ::grid, ::grid] = 1`` into ScatterND nodes carrying
    ``reduction="none"``, which TensorRT 10.3's parser rejects for the attribute's mere presence
    (onnx/onnx-tensorrt 10.1-GA onnxOpImporters.cpp, ScatterND importer; fixed in 10.9 per TensorRT's
    CHANGELOG). Range/Mod/Equal/And/Cast are accepted by every targeted release.
    """
    h, w = shape[-2:]
    if not grid:
        return torch.zeros(1, 1, h, w, device=device, dtype=dtype)
    rows = torch.remainder(torch.arange(h, device=device), grid) == 0
    cols = torch.remainder(torch.arange(w, device=device), grid) == 0
    return (rows[:, None] & cols[None, :]).to(dtype)[None, None]


class MaskHead(nn.Module):
    """x (Tensor[B, Cin, H, W]) -> (mask Tensor[B, 1, Ho, Wo], probabilities Tensor[B, 1, Ho, Wo]).

    Args (None means default): stride of the gated conv; grid (11); temperature (1.0); decay (0.99998);
    stochastic: sample the eval mask with Gumbel noise at T = 0.03 (default False: ``p >= 0.5``).

    ``straight_through`` (attribute, default False; :func:`set_mask_training`): in training, use the
    inference mask ``p >= 0.5`` in the forward pass and the gradient of ``p`` in the backward pass
    (straight-through estimator) instead of the Gumbel relaxation of METHODS §4, so that the network and its
    BN statistics are fitted to the masks it will run with.
    """

    def __init__(self, cin: int, stride: int = 1, grid: int | None = None, temperature: float | None = None,
                 decay: float | None = None, stochastic: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, 1, 3, stride, 1)
        nn.init.zeros_(self.conv.weight)
        nn.init.constant_(self.conv.bias, 3.0)
        self.grid = 11 if grid is None else int(grid)
        self.decay = 0.99998 if decay is None else float(decay)
        self.stochastic = stochastic
        self.straight_through = False
        self.register_buffer("temperature", torch.tensor(1.0 if temperature is None else float(temperature)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.conv(x)
        p = torch.sigmoid(logits)
        g = grid_prior(p.shape, self.grid, p.device, p.dtype)
        if self.training and self.straight_through:
            m = (logits >= 0).to(p.dtype) + (p - p.detach())  # exactly binary forward, gradient of p
        elif self.training:
            m = gumbel_mask(p, float(self.temperature))
            with torch.no_grad():
                self.temperature.mul_(self.decay)
        elif self.stochastic:
            m = (gumbel_mask(p, 0.03) >= 0.5).to(p.dtype)
        else:
            m = (logits >= 0).to(p.dtype)  # p >= 0.5
        return torch.maximum(m, g), p


class Interpolation(nn.Module):
    """Fill unsampled positions: ``m * f + (1 - m) * conv(f*m, K) / (conv(m, K) + 1e-5)``.

    kind: "rbf" (default; learnable lam = sigma^2 / 2), "learned" (|learned k x k kernel|, initialised
    to the RBF) or "avgpool" (K = 1, i.e. lam = 0). window: odd, None means 7; sigma: None means 3.
    """

    def __init__(self, kind: str | None = None, window: int | None = None, sigma: float | None = None):
        super().__init__()
        self.kind = kind or "rbf"
        self.window = 7 if window is None else int(window)
        if self.kind not in ("rbf", "learned", "avgpool"):
            raise InputError(f"Interpolation: kind must be 'rbf', 'learned' or 'avgpool', got {self.kind!r}")
        if self.window < 1 or self.window % 2 == 0:
            raise InputError(f"Interpolation: window must be odd, got {self.window}")
        sigma = 3.0 if sigma is None else float(sigma)
        self.sigma = nn.Parameter(torch.tensor(sigma)) if self.kind == "rbf" else None
        self.weight = (nn.Parameter(rbf_kernel(self.window, sigma ** 2 / 2).clone())
                       if self.kind == "learned" else None)

    @property
    def lam(self) -> Tensor:
        """The RBF coefficient (Tensor[]); 0 for avgpool."""
        if self.kind == "avgpool":
            return torch.zeros(())
        if self.kind == "learned":
            raise InputError("Interpolation(kind='learned') has no RBF coefficient")
        return self.sigma ** 2 / 2

    def train(self, mode: bool = True):
        # Cache lam as a Python float when entering eval mode: the op takes it as an attribute, and
        # torch.export (which sees parameters as fake tensors) cannot read a tensor's value.
        if not mode and self.kind != "learned":
            self._lam_eval = float(self.lam.detach())
        return super().train(mode)

    def lam_value(self) -> float:
        """The current lam as a float (the cached one while torch.export / torch.compile trace)."""
        if torch.compiler.is_compiling() or torch.compiler.is_exporting():
            if not hasattr(self, "_lam_eval"):
                self.train(False)
            return self._lam_eval
        return float(self.lam.detach())

    def kernel(self) -> Tensor:
        """Tensor[window, window]."""
        if self.kind == "learned":
            return self.weight.abs()
        return rbf_kernel(self.window, self.lam)

    def forward(self, f: Tensor, mask: Tensor) -> Tensor:
        if self.kind == "learned":
            return rbf_interpolate(f, mask, self.kernel())
        return separable_interpolate(f, mask, self.window, self.lam)


def _band(n: int, window: int, lam: Tensor, dtype, device) -> Tensor:
    """Tensor[n, n]: ``exp(-lam d^2)`` for ``|d| <= window // 2`` (d = i - j), 0 elsewhere."""
    i = torch.arange(n, dtype=dtype, device=device)
    d2 = (i[:, None] - i[None, :]) ** 2
    return torch.exp(-lam.to(dtype) * d2) * (d2 <= (window // 2) ** 2)


def separable_interpolate(f: Tensor, mask: Tensor, window: int, lam: Tensor) -> Tensor:
    """:func:`rbf_interpolate` with the RBF kernel applied as two banded matrix products.

    ``exp(-lam (dy^2 + dx^2)) = exp(-lam dy^2) exp(-lam dx^2)``, so the zero-padded ``window x window``
    convolution equals ``Bh @ t @ Bw`` with banded ``Bh (H x H)``, ``Bw (W x W)``: the same numbers (float
    rounding aside) and about 5x faster than the depthwise 7x7 convolution on the CPU, forward and
    backward (training). f (Tensor[B, C, H, W]), mask (Tensor[B, 1, H, W]) -> Tensor[B, C, H, W].
    """
    lam = lam if isinstance(lam, Tensor) else torch.tensor(float(lam))
    bh = _band(f.shape[-2], window, lam, f.dtype, f.device)
    bw = _band(f.shape[-1], window, lam, f.dtype, f.device)
    n = bh @ mask @ bw + EPS
    return mask * f + (1 - mask) * ((bh @ (f * mask) @ bw) / n)


def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """(weight, bias) of conv followed by eval-mode BN: Tensor[Cout, Cin/g, kh, kw], Tensor[Cout]."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    return conv.weight * scale[:, None, None, None], bias


class SampleInterpBlock(nn.Module):
    """A ResNet block (Bottleneck or BasicBlock, torchvision layout) with sampled convolutions.

    x (Tensor[B, Cin, H, W]) -> Tensor[B, Cout, H/s, W/s]. The original block is kept as ``.block``.
    ``last_p`` holds the probabilities of the last forward (for :func:`sparsity_loss`), ``last_masks``
    the masks (for :func:`mask_density`).
    """

    def __init__(self, block: nn.Module, grid: int | None = None, kind: str | None = None,
                 window: int | None = None, sigma: float | None = None, stochastic: bool = False):
        super().__init__()
        self.block = block
        self.bottleneck = hasattr(block, "conv3")
        cin = block.conv1.in_channels
        s1, s2 = block.conv1.stride[0], block.conv2.stride[0]
        self.mask1 = MaskHead(cin, s1, grid, stochastic=stochastic)
        self.mask2 = MaskHead(cin, s1 * s2, grid, stochastic=stochastic)
        self.interp1 = Interpolation(kind, window, sigma)
        self.interp2 = Interpolation(kind, window, sigma)
        self.sparse = True  # eval mode: run through torch.ops.edge.sample_interp when the kernel allows
        self.last_p: tuple[Tensor, Tensor] | None = None
        self.last_masks: tuple[Tensor, Tensor] | None = None
        self._folded: dict[int, tuple] = {}  # id(conv) -> (key, (weight, bias)) of the BN-folded conv

    def __getstate__(self):
        # the last forward's tensors are transient (and non-leaf: they would break copy.deepcopy); the folded
        # weights are a cache of the parameters
        state = dict(super().__getstate__())
        state["last_p"] = state["last_masks"] = None
        state["_folded"] = {}
        return state

    def _cached(self, name, tensors, make):
        """``make()``, remembered under ``name`` until one of ``tensors`` changes (their version counters and
        storage are the key); only for inference without autograd, in plain eager mode (see callers)."""
        key = tuple((t._version, t.data_ptr()) for t in tensors if t is not None)
        cache = self.__dict__.setdefault("_folded", {})  # (blocks pickled before this cache existed lack it)
        hit = cache.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = make()
        cache[name] = (key, value)
        return value

    def _fold(self, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
        """:func:`fold_bn`, remembered without autograd until a parameter or BN statistic changes: inference
        folds once, and the sparse kernel's packed weights, cached per weight tensor, are reused instead of
        re-packed at every forward."""
        if torch.is_grad_enabled() or not _plain_eager(conv.weight, bn.running_mean):  # export, compile, fake tensors
            return fold_bn(conv, bn)
        return self._cached((id(conv), bn.eps), (conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean,
                                                 bn.running_var), lambda: fold_bn(conv, bn))

    def _masks(self, x: Tensor) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """((mask1, p1), (mask2, p2)) of the two heads. At inference, when both heads read x alike (same stride and
        grid, deterministic), ONE convolution with their two filters computes both logits: a 1-filter conv costs
        nearly as much as a 2-filter one."""
        h1, h2 = self.mask1, self.mask2
        if (self.training or h1.stochastic or h2.stochastic or h1.conv.stride != h2.conv.stride
                or h1.grid != h2.grid or torch.is_grad_enabled() or not _plain_eager(x, h1.conv.weight)):
            return h1(x), h2(x)
        c1, c2 = h1.conv, h2.conv
        w, b = self._cached("heads", (c1.weight, c1.bias, c2.weight, c2.bias),
                            lambda: (torch.cat([c1.weight, c2.weight]), torch.cat([c1.bias, c2.bias])))
        logits = F.conv2d(x, w, b, c1.stride, c1.padding)
        p = torch.sigmoid(logits)
        m = torch.maximum((logits >= 0).to(p.dtype), grid_prior(p.shape, h1.grid, p.device, p.dtype))
        return (m[:, :1], p[:, :1]), (m[:, 1:], p[:, 1:])

    def _gated(self, x: Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d, mask: Tensor, interp: Interpolation,
               relu: bool) -> Tensor:
        """act(bn(conv(x))) at the mask, interpolated elsewhere: Tensor[B, Cout, Ho, Wo]."""
        if self.training or not self.sparse or interp.kind == "learned":
            f = bn(conv(x))
            return interp(F.relu(f) if relu else f, mask)
        w, b = self._fold(conv, bn)
        return sample_interp(x, mask, w, b, conv.stride, conv.padding, conv.dilation, conv.groups,
                             1 if relu else 0, interp.window, interp.lam_value())

    def forward(self, x: Tensor) -> Tensor:
        blk = self.block
        (m1, p1), (m2, p2) = self._masks(x)
        self.last_p, self.last_masks = (p1, p2), (m1.detach(), m2.detach())
        identity = x if blk.downsample is None else blk.downsample(x)
        out = self._gated(x, blk.conv1, blk.bn1, m1, self.interp1, relu=True)
        if self.bottleneck:
            out = self._gated(out, blk.conv2, blk.bn2, m2, self.interp2, relu=True)
            out = blk.bn3(blk.conv3(out))
        else:
            out = self._gated(out, blk.conv2, blk.bn2, m2, self.interp2, relu=False)
        if not torch.is_grad_enabled() and not self.training:  # out is this forward's own tensor
            return out.add_(identity).relu_()
        return F.relu(out + identity)


def _is_resnet_block(m: nn.Module) -> bool:
    return all(hasattr(m, a) for a in ("conv1", "bn1", "conv2", "bn2", "downsample")) and \
        isinstance(m.conv1, nn.Conv2d) and isinstance(m.conv2, nn.Conv2d)


def to_sample_interp(model: nn.Module, grid: int | None = None, kind: str | None = None,
                     window: int | None = None, sigma: float | None = None, stochastic: bool = False,
                     exclude=None, inplace: bool = False, return_report: bool = False):
    """Wrap every ResNet block of ``model`` (BasicBlock/Bottleneck, torchvision layout) in a
    :class:`SampleInterpBlock` (deep copy unless ``inplace``); the block keeps its weights.

    Train the mask heads with :func:`edge.forms.distill` and a sparsity weight; ``exclude``: fnmatch
    patterns of block paths to keep dense.
    """
    model = model if inplace else copy.deepcopy(model)
    report = ConversionReport(form=f"sample_interp(kind={kind or 'rbf'}, grid={11 if grid is None else grid})")
    targets = [(p, m) for p, m in model.named_modules() if _is_resnet_block(m)]
    for path, blk in targets:
        if excluded(path, exclude):
            report.skipped.append((path, "excluded by pattern"))
            continue
        new = SampleInterpBlock(blk, grid, kind, window, sigma, stochastic).to(blk.conv1.weight.device)
        set_submodule(model, path, new)
        report.replaced.append((path, f"{type(blk).__name__} -> SampleInterpBlock (2 masks)"))
    if not report.replaced:
        raise InputError(f"to_sample_interp: no ResNet block (conv1/bn1/conv2/bn2/downsample) in "
                         f"{type(model).__name__}; the form applies to residual blocks of the torchvision layout")
    return (model, report) if return_report else model


def _blocks(model: nn.Module) -> list[SampleInterpBlock]:
    return [m for m in model.modules() if isinstance(m, SampleInterpBlock)]


def sparsity_loss(model: nn.Module, weight: float | None = None, target: float | None = None) -> Tensor:
    """``w / N_blocks * sum_blocks(0.25 * mean(p1) + 0.75 * mean(p2))`` over the last forward (w: 0.05).

    ``target`` (None: the paper's loss above): a density budget; each term becomes ``relu(mean(p) - target)``,
    so masks are pushed down only while their mean probability exceeds it.
    """
    blocks = [b for b in _blocks(model) if b.last_p is not None]
    if not blocks:
        raise InputError("sparsity_loss: the model has no SampleInterpBlock that ran a forward pass; "
                         "convert it with to_sample_interp and call it first")
    if target is not None and not 0 <= target <= 1:
        raise InputError(f"sparsity_loss: target must be in [0, 1], got {target}")
    w = 0.05 if weight is None else float(weight)

    def term(p: Tensor) -> Tensor:
        return p.mean() if target is None else F.relu(p.mean() - target)

    total = sum(0.25 * term(b.last_p[0]) + 0.75 * term(b.last_p[1]) for b in blocks)
    return w / len(blocks) * total


def set_mask_training(model: nn.Module, mode: str) -> int:
    """Training mode of every mask head of ``model``: ``"gumbel"`` (METHODS §4, the default) or ``"hard"``
    (forward with the inference mask ``p >= 0.5``, straight-through gradient). Returns the count of heads."""
    if mode not in ("gumbel", "hard"):
        raise InputError(f"set_mask_training: mode must be 'gumbel' or 'hard', got {mode!r}")
    heads = [m for m in model.modules() if isinstance(m, MaskHead)]
    if not heads:
        raise InputError(f"set_mask_training: {type(model).__name__} has no mask head; convert it with "
                         f"to_sample_interp first")
    for h in heads:
        h.straight_through = mode == "hard"
    return len(heads)


def mask_density(model: nn.Module) -> float:
    """Mean share of sampled positions over the masks of the last forward (1.0 = dense)."""
    vals = [m.mean().item() for b in _blocks(model) if b.last_masks for m in b.last_masks]
    return float(sum(vals) / len(vals)) if vals else math.nan
