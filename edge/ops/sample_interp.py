"""``edge::sample_interp``: one gated convolution computed only where a mask samples it, then RBF
interpolation of the skipped positions (docs/METHODS.md §4, plugin contract ``EdgeSampleInterp``).

Semantics, per output ``(B, Cout, Ho, Wo)``:

- ``F = act(conv2d(x, weight, bias, stride, padding, dilation, groups))`` computed ONLY at positions
  where ``mask == 1`` (``activation``: 0 none, 1 relu, 2 relu6);
- ``N = conv2d(mask, K, padding=window//2) + 1e-5`` with ``K(dy, dx) = exp(-lam * (dy^2 + dx^2))``, the
  ``window x window`` RBF kernel centred on the position;
- ``R = depthwise_conv2d(F * mask, K) / N``; output ``mask * F + (1 - mask) * R``.

A position with no sampled neighbour in its window gets 0; an all-ones mask returns ``act(conv)``.

Three implementations, all giving the same numbers (1e-5):

- :func:`sample_interp_reference`: plain dense torch, the definition (dense conv, mask, 2-D RBF conv);
- :func:`sample_interp_sparse`: the CPU kernel of the custom op, in two backends giving the same numbers:
  ``"native"`` (float32, the default whenever ``libedge_ref.so`` is built: :mod:`edge.native.sample_interp_cpu`,
  ONE C++ call: index -> in blocks of 48 sampled positions the receptive fields (read in place from channels-last
  input) -> a register-blocked GEMM on packed weights -> bias and activation, then a pass writing every output
  element once, the RBF interpolation computed only at unsampled positions) and ``"torch"`` (pure PyTorch, the
  fallback: one ``index_select`` im2col, one ``addmm`` whose extra zero weight column with bias 1 gives the
  interpolation's denominator, a scatter of the P sampled rows with the RBF weights - the whole window at low
  density, else a horizontal scatter and a dense vertical pass -, one division, an ``index_copy_``). The
  convolution at skipped positions never runs. Above a sampled share of ``DENSE_ABOVE`` (0.7) the PyTorch kernel
  runs one dense convolution instead (the native one only for an all-ones mask, ``NATIVE_DENSE_ABOVE``); an
  all-ones mask is exactly the convolution.
- ``torch.ops.edge.sample_interp``: the custom op (CPU kernel above, a fake kernel for shapes); it is
  what the ONNX exporter maps to the ``EdgeSampleInterp`` plugin node.

The mask must hold 0/1 values; the sparse kernel treats ``mask > 0.5`` as sampled.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils._python_dispatch import _get_current_dispatch_mode

from edge.errors import InputError, PluginError
from edge.native.sample_interp_cpu import BACKENDS  # the op's CPU kernels: "native" and "torch"

__all__ = [
    "ACTIVATIONS",
    "BACKENDS",
    "EPS",
    "rbf_interpolate",
    "rbf_kernel",
    "sample_interp",
    "sample_interp_backend",
    "sample_interp_reference",
    "sample_interp_sparse",
]

EPS = 1e-5
# Sampled share from which a CPU kernel runs the convolution densely (conv everywhere, then the interpolation of the
# unsampled positions; the FLOP formula below counts what the kernel that runs does). PyTorch kernel: break-even vs a
# dense conv near density 0.25; DENSE_ABOVE. Native kernel: its GEMM runs at the dense conv's FLOP rate, so its
# sparse path stays cheaper than that dense path at every density below 1 (docs/BENCHMARKS.md, issue 6, "ratio
# native dense path" of scripts/bench_sparse.py --dense-path, 64->64 @ 56x56 and 128->128 @ 28x28, 1 and 2 threads:
# sparse 0.63-0.81 / 0.80-1.03 of the dense conv at densities 0.7 / 0.9, the dense path 1.15-1.27 / 1.16-1.28):
# NATIVE_DENSE_ABOVE = 1, i.e. only an all-ones mask runs the plain convolution.
DENSE_ABOVE = 0.7
NATIVE_DENSE_ABOVE = 1.0
# PyTorch kernel: full 2-D scatter of the RBF window while P * window <= SCATTER_FULL_BELOW * positions
# (P * window^2 rows); above, the horizontal pass is scattered and the vertical pass runs densely.
SCATTER_FULL_BELOW = 0.5
# PyTorch kernel, NCHW input: gather from a channels-last copy once P * GATHER_NHWC_ABOVE >= B*H*W (the
# layout conversion then costs less than the strided column gather).
GATHER_NHWC_ABOVE = 5
ACTIVATIONS = {0: "none", 1: "relu", 2: "relu6"}


def _act(y: Tensor, activation: int) -> Tensor:
    if activation == 0:
        return y
    if activation == 1:
        return torch.relu_(y) if not y.requires_grad else torch.relu(y)
    if activation == 2:
        return y.clamp_(0.0, 6.0) if not y.requires_grad else y.clamp(0.0, 6.0)
    raise InputError(f"sample_interp: activation must be 0 (none), 1 (relu) or 2 (relu6), got {activation}")


def rbf_kernel(window: int, lam: float | Tensor, dtype=torch.float32, device=None) -> Tensor:
    """The ``window x window`` RBF kernel ``K(d) = exp(-lam * |d|^2)`` (Tensor[window, window]).

    ``lam`` may be a tensor (learnable); gradients flow through it.
    """
    r = window // 2
    d = torch.arange(-r, r + 1, dtype=dtype, device=device)
    d2 = d[:, None] ** 2 + d[None, :] ** 2
    lam_t = lam if isinstance(lam, Tensor) else torch.tensor(float(lam), dtype=dtype, device=device)
    return torch.exp(-lam_t.to(dtype) * d2)


def rbf_interpolate(f: Tensor, mask: Tensor, kernel: Tensor) -> Tensor:
    """Dense interpolation of docs/METHODS.md §4: ``m * f + (1 - m) * conv(f * m, K) / (conv(m, K) + 1e-5)``.

    f (Tensor[B, C, H, W]); mask (Tensor[B, 1, H, W], 0/1 or soft in training);
    kernel (Tensor[k, k]) shared by every channel. Differentiable in f, mask and kernel.
    """
    c = f.shape[1]
    k = kernel.shape[-1]
    kk = kernel.to(f.dtype)[None, None]
    n = F.conv2d(mask, kk, padding=k // 2) + EPS
    r = F.conv2d(f * mask, kk.expand(c, 1, k, k), padding=k // 2, groups=c) / n
    return mask * f + (1 - mask) * r


_CHECKED: dict[tuple, tuple[int, int]] = {}  # signature of a call that passed _check -> (Ho, Wo)


def _check_cached(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
                  groups: int, window: int, activation: int) -> tuple[int, int]:
    """:func:`_check` plus the activation code, remembered per signature (shapes and attributes): a model calls
    the same layers again and again, and the checks would cost ~10 us of Python per call."""
    key = (x.shape, mask.shape, weight.shape, None if bias is None else bias.shape, tuple(stride), tuple(padding),
           tuple(dilation), groups, window, activation)
    hw = _CHECKED.get(key)
    if hw is None:
        hw = _check(x, mask, weight, bias, stride, padding, dilation, groups, window)
        if activation not in ACTIVATIONS:
            _act(x, activation)  # raises the InputError naming the valid codes
        if len(_CHECKED) >= 1024:
            _CHECKED.clear()
        _CHECKED[key] = hw
    return hw


def _check(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
           groups: int, window: int) -> tuple[int, int]:
    """Validate shapes and attributes; return the conv output size (Ho, Wo)."""
    if x.dim() != 4 or weight.dim() != 4:
        raise InputError(f"sample_interp: x must be (B, Cin, H, W) and weight (Cout, Cin/groups, kh, kw); "
                         f"got x {tuple(x.shape)}, weight {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise InputError(f"sample_interp: x has {x.shape[1]} channels but weight {tuple(weight.shape)} with "
                         f"groups={groups} expects {weight.shape[1] * groups}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise InputError(f"sample_interp: bias must be ({weight.shape[0]},), got {tuple(bias.shape)}")
    if window < 1 or window % 2 == 0:
        raise InputError(f"sample_interp: window must be odd and >= 1, got {window}")
    for name, v in (("stride", stride), ("padding", padding), ("dilation", dilation)):
        if len(v) != 2:
            raise InputError(f"sample_interp: {name} must have 2 values [y, x], got {list(v)}")
    ho = (x.shape[2] + 2 * padding[0] - dilation[0] * (weight.shape[2] - 1) - 1) // stride[0] + 1
    wo = (x.shape[3] + 2 * padding[1] - dilation[1] * (weight.shape[3] - 1) - 1) // stride[1] + 1
    if ho < 1 or wo < 1:
        raise InputError(f"sample_interp: input {tuple(x.shape[2:])} is too small for the convolution")
    if mask.shape != (x.shape[0], 1, ho, wo):
        raise InputError(f"sample_interp: mask must be (B, 1, Ho, Wo) = {(x.shape[0], 1, ho, wo)} at the "
                         f"convolution's output resolution; got {tuple(mask.shape)}")
    return ho, wo


def sample_interp_reference(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor | None,
                            stride: Sequence[int] = (1, 1), padding: Sequence[int] = (0, 0),
                            dilation: Sequence[int] = (1, 1), groups: int = 1, activation: int = 0,
                            window: int = 7, lam: float = 4.5) -> Tensor:
    """Dense masked reference (the definition): Tensor[B, Cout, Ho, Wo]."""
    _check(x, mask, weight, bias, stride, padding, dilation, groups, window)
    f = _act(F.conv2d(x, weight, bias, list(stride), list(padding), list(dilation), groups), activation)
    return rbf_interpolate(f, mask.to(f.dtype), rbf_kernel(window, lam, f.dtype, f.device))


@functools.lru_cache(maxsize=64)
def _rbf_consts(window: int, lam: float, dtype: torch.dtype) -> tuple[Tensor, Tensor, tuple[float, ...]]:
    """Per-(window, lambda, dtype) constants: (dy, dx) offsets (Tensor[window^2] each, row-major), the 2-D
    weights ``exp(-lam*dy^2) * exp(-lam*dx^2)`` (Tensor[window^2]) and the 1-D weights k1 (floats)."""
    r = window // 2
    d = torch.arange(-r, r + 1)
    k1 = torch.exp(-lam * d.to(torch.float64) ** 2)
    dy, dx = torch.meshgrid(d, d, indexing="ij")
    return dy.reshape(-1), dx.reshape(-1), (k1[:, None] * k1[None, :]).reshape(-1).to(dtype), tuple(k1.tolist())


def _gather_gemm(x: Tensor, oy: Tensor, ox: Tensor, bi: Tensor, weight: Tensor, bias: Tensor | None,
                 stride, padding, dilation, groups: int) -> Tensor:
    """Conv at the output positions (bi, oy, ox) (Tensor[P] each) only: Tensor[P, Cout + 1], the last
    column exactly 1 (a zero weight column and a bias of 1: the ones the interpolation's denominator needs).

    im2col of the P receptive fields only, by ONE ``index_select`` on a zero-padded copy of ``x``, then ONE
    ``addmm`` (``bmm`` over groups). Channels-last ``x``, or many positions: rows of Cin contiguous values
    from a channels-last padded copy (P*kh*kw rows). NCHW ``x`` and few positions: the padded copy stays
    NCHW, viewed as (Cin, B*Hp*Wp), and the gather picks kh*kw*P columns (no layout conversion).
    """
    b, cin, h, w = x.shape
    cout, cg, kh, kw = weight.shape
    (sy, sx), (py, px), (dy, dx) = stride, padding, dilation
    hp, wp, p = h + 2 * py, w + 2 * px, oy.numel()
    taps = ((torch.arange(kh) * (dy * wp))[:, None] + torch.arange(kw) * dx).reshape(-1)  # (kh*kw,)
    base = (bi * hp + oy * sy) * wp + ox * sx  # top-left tap of each receptive field
    if x.is_contiguous(memory_format=torch.channels_last) or p * GATHER_NHWC_ABOVE >= b * h * w:
        xp = x.new_zeros(b, hp, wp, cin)  # channels-last zero-padded copy: one row of Cin per pixel
        xp[:, py:py + h, px:px + w] = x.permute(0, 2, 3, 1)
        xp = xp.view(-1, cin)
        rows = xp.index_select(0, (base[:, None] + taps[None, :]).reshape(-1))  # (P*kh*kw, Cin)
        if groups == 1:  # (P, kh*kw*Cin) @ (kh*kw*Cin, Cout + 1)
            wmat = F.pad(weight.permute(2, 3, 1, 0).reshape(kh * kw * cin, cout), (0, 1))
            return torch.addmm(_bias1(bias, weight), rows.view(p, kh * kw * cin), wmat)
        cols = rows.view(p, kh * kw, groups, cg).permute(2, 3, 1, 0).reshape(groups, cg * kh * kw, p)
    else:
        xp = F.pad(x, (px, px, py, py)) if py or px else x
        flat = xp.transpose(0, 1).reshape(cin, b * hp * wp)  # a view when B == 1
        cols = flat.index_select(1, (taps[:, None] + base[None, :]).reshape(-1))  # (Cin, kh*kw*P)
        if groups == 1:  # (P, Cin*kh*kw) @ (Cin*kh*kw, Cout + 1)
            wmat = F.pad(weight.reshape(cout, cin * kh * kw), (0, 0, 0, 1)).t()
            return torch.addmm(_bias1(bias, weight), cols.view(cin * kh * kw, p).t(), wmat)
        cols = cols.view(groups, cg * kh * kw, p)
    cog = cout // groups  # grouped: one batched GEMM over the groups, (G, cog, cg*kh*kw) @ (G, cg*kh*kw, P)
    out = torch.bmm(weight.reshape(groups, cog, cg * kh * kw), cols).reshape(cout, p).t()
    return torch.add(F.pad(out, (0, 1)), _bias1(bias, weight))


def _bias1(bias: Tensor | None, weight: Tensor) -> Tensor:
    """Tensor[Cout + 1]: the bias (zeros when None) followed by a 1."""
    b = bias if bias is not None else weight.new_zeros(weight.shape[0])
    return F.pad(b, (0, 1), value=1.0)


def _interp_scatter(ext: Tensor, bpos: Tensor, consts, b: int, hb: int, wb: int, full: bool) -> Tensor:
    """Numerator and denominator of the RBF interpolation by scattering the sampled values.

    ext (Tensor[P, C+1]): sampled values with a last column of ones (its filtered value is N - 1e-5);
    bpos (Tensor[P]): flat positions in the (B, Hb, Wb) map zero padded by r = window // 2.
    ``full``: scatter the whole window (P * window^2 rows: cheapest at low density); otherwise scatter the
    horizontal 1-D pass only (P * window rows) and run the vertical 1-D pass densely (shifted adds).
    Returns Tensor[B, Ho, Wo, C+1] (a view).
    """
    dy, dx, k2, k1 = consts
    r, c1 = len(k1) // 2, ext.shape[1]
    ho, wo = hb - 2 * r, wb - 2 * r
    acc = ext.new_zeros(b * hb * wb, c1)
    if full:
        tgt = (bpos[:, None] + (dy * wb + dx)[None, :]).reshape(-1)
        acc.index_add_(0, tgt, (ext[:, None, :] * k2[:, None]).view(-1, c1))
        return acc.view(b, hb, wb, c1)[:, r:r + ho, r:r + wo]
    d = torch.arange(-r, r + 1)
    k1t = torch.tensor(k1, dtype=ext.dtype)
    acc.index_add_(0, (bpos[:, None] + d[None, :]).reshape(-1), (ext[:, None, :] * k1t[:, None]).view(-1, c1))
    t = acc.view(b, hb, wb, c1)[:, :, r:r + wo]
    out = t[:, 0:ho] * k1[0]
    for i in range(1, len(k1)):
        out.add_(t[:, i:i + ho], alpha=k1[i])
    return out


def sample_interp_backend(x: Tensor | None = None, weight: Tensor | None = None, backend: str | None = None) -> str:
    """The CPU kernel that runs for these tensors: ``"native"`` or ``"torch"`` (see :data:`BACKENDS`).

    ``backend`` None/"auto": EDGE_SAMPLE_INTERP_BACKEND if set, else "native" when the library is built and
    x and weight are float32 CPU tensors, else "torch". Asking for "native" where it cannot run raises
    PluginError with the reason. Both are inference kernels: the op has no autograd formula (training uses
    :func:`rbf_interpolate` on the dense convolution); the "torch" one stays differentiable when called
    directly.
    """
    from edge.native import sample_interp_cpu as native

    choice = native.requested_backend(backend)
    if choice == "torch":
        return "torch"

    fits = ((x is None or (x.dtype == torch.float32 and x.is_cpu))
            and (weight is None or (weight.dtype == torch.float32 and weight.is_cpu)))
    if fits and native.available():
        return "native"
    if choice == "native":
        why = native.unavailable_reason() or "it runs float32 CPU tensors only"
        raise PluginError(f"sample_interp: the native CPU backend cannot run here: {why}")
    return "torch"


def sample_interp_sparse(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor | None,
                         stride: Sequence[int] = (1, 1), padding: Sequence[int] = (0, 0),
                         dilation: Sequence[int] = (1, 1), groups: int = 1, activation: int = 0,
                         window: int = 7, lam: float = 4.5, backend: str | None = None) -> Tensor:
    """Sparse execution: conv at sampled positions only (gather -> GEMM -> scatter), then interpolation.

    x (Tensor[B, Cin, H, W]), mask (Tensor[B, 1, Ho, Wo]) -> Tensor[B, Cout, Ho, Wo] (channels-last
    strides). Equals :func:`sample_interp_reference` to float rounding. ``backend``: see
    :func:`sample_interp_backend` (None = the fastest available).
    """
    _check_cached(x, mask, weight, bias, stride, padding, dilation, groups, window, activation)
    if sample_interp_backend(x, weight, backend) == "native":
        from edge.native.sample_interp_cpu import sample_interp_cpu

        b = bias if bias is not None and bias.dtype == torch.float32 else (
            bias.float() if bias is not None else weight.new_zeros(weight.shape[0]))
        return sample_interp_cpu(x, mask, weight, b, stride, padding, dilation, groups, activation, window, lam,
                                 NATIVE_DENSE_ABOVE)
    return _sparse_torch(x, mask, weight, bias, stride, padding, dilation, groups, activation, window, lam)


def _sparse_torch(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
                  groups: int, activation: int, window: int, lam: float) -> Tensor:
    """The pure-PyTorch backend of :func:`sample_interp_sparse` (any dtype and device, differentiable)."""
    ho, wo = _check(x, mask, weight, bias, stride, padding, dilation, groups, window)
    b, cout = x.shape[0], weight.shape[0]
    r = window // 2
    m = mask.reshape(-1) > 0.5
    pos = m.nonzero().squeeze(1)
    n, p = m.numel(), pos.numel()
    bi, rem = pos.div(ho * wo, rounding_mode="floor"), pos.remainder(ho * wo)
    oy, ox = rem.div(wo, rounding_mode="floor"), rem.remainder(wo)
    if p >= DENSE_ABOVE * n:
        # mostly sampled: one dense convolution is cheaper than gathering nearly every receptive field
        f = _act(F.conv2d(x, weight, bias, list(stride), list(padding), list(dilation), groups), activation)
        f = f.contiguous(memory_format=torch.channels_last)
        if p == n:
            return f
        ext = F.pad(f.permute(0, 2, 3, 1).reshape(-1, cout).index_select(0, pos), (0, 1), value=1.0)
    else:  # (P, Cout + 1): the convolution at the sampled positions and a column of ones (act(1) = 1)
        ext = _act(_gather_gemm(x, oy, ox, bi, weight, bias, stride, padding, dilation, groups), activation)
    hb, wb = ho + 2 * r, wo + 2 * r
    bpos = (bi * hb + oy + r) * wb + ox + r
    nd = _interp_scatter(ext, bpos, _rbf_consts(window, float(lam), ext.dtype), b, hb, wb,
                         full=p * window <= SCATTER_FULL_BELOW * n)
    out = torch.div(nd[..., :cout], nd[..., cout:].add(EPS))  # (B, Ho, Wo, Cout), contiguous
    out.view(-1, cout).index_copy_(0, pos, ext[:, :cout])  # sampled positions: the convolution itself
    return out.permute(0, 3, 1, 2)


@torch.library.custom_op("edge::sample_interp", mutates_args=())
def _sample_interp_op(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor, stride: list[int],
                      padding: list[int], dilation: list[int], groups: int, activation: int, window: int,
                      lam: float) -> Tensor:
    return sample_interp_sparse(x, mask, weight, bias, stride, padding, dilation, groups, activation,
                                window, lam)


@_sample_interp_op.register_fake
def _sample_interp_fake(x, mask, weight, bias, stride, padding, dilation, groups, activation, window, lam):
    ho = (x.shape[2] + 2 * padding[0] - dilation[0] * (weight.shape[2] - 1) - 1) // stride[0] + 1
    wo = (x.shape[3] + 2 * padding[1] - dilation[1] * (weight.shape[3] - 1) - 1) // stride[1] + 1
    return x.new_empty(x.shape[0], weight.shape[0], ho, wo).contiguous(memory_format=torch.channels_last)


def _pair(v, default: int) -> list[int]:
    if v is None:
        return [default, default]
    if isinstance(v, int):
        return [v, v]
    return [int(i) for i in v]


def sample_interp(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor | None = None, stride=None,
                  padding=None, dilation=None, groups: int | None = None, activation: int | None = None,
                  window: int | None = None, lam: float | None = None) -> Tensor:
    """Python wrapper of ``torch.ops.edge.sample_interp`` (None means default).

    Defaults: stride 1, padding 0, dilation 1, groups 1, activation 0 (none), window 7,
    lam = 4.5 (sigma = 3, lam = sigma^2 / 2 as the paper's code initialises it).
    x (Tensor[B, Cin, H, W]), mask (Tensor[B, 1, Ho, Wo]) -> Tensor[B, Cout, Ho, Wo].
    """
    if bias is None:
        bias = weight.new_zeros(weight.shape[0])
    lam = 4.5 if lam is None else float(lam)
    if not math.isfinite(lam) or lam < 0:
        raise InputError(f"sample_interp: lam must be finite and >= 0, got {lam}")
    args = (x, mask, weight, bias, _pair(stride, 1), _pair(padding, 0), _pair(dilation, 1),
            1 if groups is None else int(groups), 0 if activation is None else int(activation),
            7 if window is None else int(window), lam)
    if _plain_eager(x, mask, weight, bias):
        return sample_interp_sparse(*args)  # what the op runs, without its dispatch layers
    return torch.ops.edge.sample_interp(*args)


def _plain_eager(*tensors: Tensor) -> bool:
    """True when calling the op's CPU kernel directly is indistinguishable from calling the op: plain CPU tensors,
    no autograd recording, and no tracer, compiler, FX proxy, fake tensor or dispatch/function mode (FLOP
    counter, export, torch.compile) that must see ``torch.ops.edge.sample_interp`` itself. Skips the custom op's
    Python dispatch layers (~25-80 us a call, 0.01-0.03x of a 3 ms convolution)."""
    if _get_current_dispatch_mode() is not None or torch._C._is_torch_function_mode_enabled():
        return False
    grad = torch.is_grad_enabled()
    for t in tensors:
        if type(t) not in _PLAIN or not t.is_cpu or (grad and t.requires_grad):
            return False
    return not torch.compiler.is_compiling() and not torch.jit.is_tracing()


_PLAIN = (torch.Tensor, torch.nn.Parameter)


def _sample_interp_flops(x, mask, weight, bias, stride, padding, dilation, groups, activation, window, lam,
                         *args, out_val=None, **kwargs) -> int:
    """FLOPs actually executed by the CPU kernel (data-dependent: counts the sampled positions).

    2 * P * Cout * (Cin/groups) * kh * kw for the convolution at the P sampled positions (all positions
    when the kernel takes its dense path: above DENSE_ABOVE for the PyTorch kernel, NATIVE_DENSE_ABOVE for the
    native one, whichever runs these tensors), plus the separable interpolation: 2 passes of ``window``
    multiply-adds per output element (2 FLOPs each); an all-ones mask costs the convolution alone.
    """
    cout, cg, kh, kw = weight.shape
    n = mask.numel()
    p = int((mask > 0.5).sum()) if not getattr(mask, "is_meta", False) else n
    if p == n:  # all sampled: the convolution alone
        return 2 * n * cout * cg * kh * kw
    native = not getattr(x, "is_meta", False) and sample_interp_backend(x, weight) == "native"
    conv = n if p >= (NATIVE_DENSE_ABOVE if native else DENSE_ABOVE) * n else p  # the kernel's dense path
    return 2 * conv * cout * cg * kh * kw + 2 * 2 * window * n * cout


def _register_flops() -> None:
    from torch.utils.flop_counter import flop_registry, register_flop_formula

    if torch.ops.edge.sample_interp not in flop_registry:
        register_flop_formula(torch.ops.edge.sample_interp, get_raw=True)(_sample_interp_flops)


_register_flops()
