"""Knowledge-distillation fine-tuning of a converted model from its original (``edge distill``).

Loss per batch (None means default for every knob):

- soft targets: ``alpha * T^2 * KL(softmax(t / T) || softmax(s / T))`` (T = 4, alpha = 0.9 with labels,
  1.0 without);
- labels when the data has them: ``(1 - alpha) * cross_entropy(s, y)``; without labels (data
  distillation: unlabelled images labelled by the teacher) the soft targets alone;
- optional feature matching: ``feature_weight * mean MSE`` between student and teacher outputs of the
  named modules (e.g. ``["layer1", "layer2", "layer3", "layer4"]``, same shapes in every form);
- the sparsity loss of sample-interp students (:func:`edge.forms.sparsity_loss`, weight 0.05).

After training, BatchNorm statistics are recalibrated on ``bn_batches`` batches with the inference-time
masks (sample-interp blocks run dense-with-mask so their BNs see data), then the student is evaluated.
Checkpoints (student, optimizer, epoch) are written atomically after every epoch; ``resume`` continues.

Data-parallel (``torchrun --nproc-per-node N ...``, see :mod:`edge.forms.ddp`): when torch.distributed runs with
more than one process, the student is wrapped in DistributedDataParallel (gradients averaged over the ranks), the
teacher runs on every rank, the epoch losses are averaged over the ranks, BN statistics recalibrated on each
rank's shard are averaged, and rank 0 alone writes checkpoints, shows progress and evaluates. Build ``data`` with
:func:`edge.forms.ddp.make_loader` (a DistributedSampler; per-rank batch = total batch / N), so that N processes
see the same global batches as one process with the same seed and total batch size.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edge.errors import InputError, ModelLoadError
from edge.forms import ddp
from edge.io import atomic_path

__all__ = ["DistillResult", "distill", "evaluate", "fit_stages", "kd_loss", "recalibrate_bn"]


@dataclass
class DistillResult:
    epochs: int
    steps: int
    history: list[dict] = field(default_factory=list)  # per epoch: mean losses
    student_acc: float | None = None
    teacher_acc: float | None = None
    agreement: float | None = None  # share of inputs where student and teacher agree on the top-1 class
    density: float | None = None  # sample-interp students: mean mask density at evaluation
    resumed_from: int | None = None  # epochs already done in the checkpoint this run resumed from
    world_size: int = 1  # data-parallel processes that trained it


def kd_loss(s: Tensor, t: Tensor, temperature: float) -> Tensor:
    """``T^2 * KL(softmax(t/T) || softmax(s/T))`` averaged over the batch; s, t (Tensor[B, classes])."""
    return F.kl_div(F.log_softmax(s / temperature, 1), F.log_softmax(t / temperature, 1), reduction="batchmean",
                    log_target=True) * temperature ** 2


def _split(batch) -> tuple[Tensor, Tensor | None]:
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        y = batch[1] if len(batch) > 1 and isinstance(batch[1], Tensor) else None
        return batch[0], y
    raise InputError(f"distill: a batch must be a Tensor or (images, labels); got {type(batch).__name__}")


class _Features:
    """Forward hooks collecting the outputs of named modules."""

    def __init__(self, model: nn.Module, names):
        self.out: dict[str, Tensor] = {}
        mods = dict(model.named_modules())
        missing = [n for n in names if n not in mods]
        if missing:
            raise InputError(f"distill: feature layers {missing} not found in {type(model).__name__}")
        self.handles = [mods[n].register_forward_hook(self._hook(n)) for n in names]

    def _hook(self, name):
        def hook(mod, inp, out):
            self.out[name] = out
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def _sample_blocks(model: nn.Module):
    from edge.forms.sample_interp import SampleInterpBlock

    return [m for m in model.modules() if isinstance(m, SampleInterpBlock)]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, data: Iterable, batches: int | None = None, device=None) -> int:
    """Re-estimate BN running statistics (cumulative average) with inference-time masks; returns batches."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    blocks = _sample_blocks(model)
    model.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    for b in blocks:
        b.sparse = False
    n = 0
    try:
        for batch in data:
            x, _ = _split(batch)
            model(x.to(device) if device else x)
            n += 1
            if n >= (batches or 50):
                break
    finally:
        for bn in bns:
            bn.momentum = 0.1
            bn.eval()
        for b in blocks:
            b.sparse = True
    for bn in bns:  # data-parallel: each rank saw its shard; average the statistics (no-op on one process)
        ddp.average_(bn.running_mean, bn.running_var)
    return n


@torch.no_grad()
def evaluate(model: nn.Module, data: Iterable, teacher: nn.Module | None = None, device=None) -> dict:
    """Top-1 accuracy (when labels exist), teacher accuracy and agreement, mean mask density."""
    from edge.forms.sample_interp import mask_density

    model.eval()
    if teacher is not None:
        teacher.eval()
    correct = t_correct = agree = total = labelled = 0
    dens = []
    for batch in data:
        x, y = _split(batch)
        x = x.to(device) if device else x
        pred = model(x).argmax(1)
        if _sample_blocks(model):
            dens.append(mask_density(model))
        if teacher is not None:
            tp = teacher(x).argmax(1)
            agree += int((tp == pred).sum())
            if y is not None:
                t_correct += int((tp == y.to(tp.device)).sum())
        if y is not None:
            correct += int((pred == y.to(pred.device)).sum())
            labelled += len(y)
        total += len(x)
    return {"acc": correct / labelled if labelled else None,
            "teacher_acc": t_correct / labelled if labelled and teacher is not None else None,
            "agreement": agree / total if teacher is not None and total else None,
            "density": sum(dens) / len(dens) if dens else None}


def _param_groups(student: nn.Module, lr: float, scale: float | None) -> list[dict]:
    """Two groups: sample-interp mask heads / interpolations at lr * scale, everything else at lr. A student
    with its own ``param_groups(lr)`` (e.g. ``edge.calib.qat.QDQGraph``: quantizer ranges) gives them itself."""
    if callable(getattr(student, "param_groups", None)):
        return student.param_groups(lr)
    from edge.forms.sample_interp import Interpolation, MaskHead

    fast = {id(p) for m in student.modules() if isinstance(m, (MaskHead, Interpolation)) for p in m.parameters()}
    params = [p for p in student.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if id(p) not in fast], "lr": lr}]
    if fast:
        groups.append({"params": [p for p in params if id(p) in fast], "lr": lr * (scale or 10.0)})
    return groups


def _save(path: Path, student, opt, sched, epoch: int, steps: int, history) -> None:
    """Rank 0 writes (atomically); every rank waits until the file is complete."""
    if ddp.rank() == 0:
        _write_checkpoint(path, student, opt, sched, epoch, steps, history)
    ddp.barrier()


def _write_checkpoint(path: Path, student, opt, sched, epoch: int, steps: int, history) -> None:
    with atomic_path(path) as tmp:
        torch.save({"student": student.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "epoch": epoch, "steps": steps, "history": history}, tmp)


def _resume(path: Path, student, opt, sched) -> tuple[int, int, list]:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)  # edge's own: state dicts and numbers
        student.load_state_dict(ck["student"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        return int(ck["epoch"]), int(ck["steps"]), list(ck.get("history", []))
    except (OSError, RuntimeError, KeyError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise ModelLoadError(f"distill: cannot resume from checkpoint {path}: {e}. Delete it or pass "
                             f"resume=False to start over") from e


def _stage_io(model: nn.Module, names) -> tuple[list, dict]:
    """Forward hooks storing (input, output) of the named modules of ``model`` -> (handles, store)."""
    store: dict[str, tuple[Tensor, Tensor]] = {}

    def hook(name):
        def fn(mod, inp, out):
            store[name] = (inp[0], out)
        return fn

    return [model.get_submodule(n).register_forward_hook(hook(n)) for n in names], store


def fit_stages(student: nn.Module, teacher: nn.Module, data: Iterable, stages=None, steps: int | None = None,
               lr: float | None = None, device=None) -> list[float]:
    """Fit each named stage of ``student`` to its namesake in ``teacher`` (stage-wise distillation).

    Every stage is fed the teacher's input of that stage and regresses the teacher's output (MSE divided
    by the mean square of the target, summed over stages), all stages at once, AdamW with a cosine
    schedule. A converted stage that has no weights in common with its source (a CSP stage replacing a
    ResNet stage) thereby starts close to it before end-to-end distillation. Stages must keep their
    input/output shapes. Defaults: stages layer1..layer4, steps ``len(data)``, lr 3e-3. Returns the mean
    normalised loss of each stage over the last 20 steps.
    """
    names = list(stages or ("layer1", "layer2", "layer3", "layer4"))
    mods = dict(student.named_modules())
    missing = [n for n in names if n not in mods or n not in dict(teacher.named_modules())]
    if missing:
        raise InputError(f"fit_stages: stages {missing} not found in both student and teacher")
    total = steps or (len(data) if hasattr(data, "__len__") else 100)
    params = [p for n in names for p in mods[n].parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr or 3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0))))
    handles, store = _stage_io(teacher, names)
    teacher.eval()
    student.train()
    recent: list[list[float]] = []
    try:
        done = 0
        while done < total:
            for batch in data:
                x, _ = _split(batch)
                with torch.no_grad():
                    teacher(x.to(device) if device else x)
                losses = [F.mse_loss(mods[n](store[n][0]), store[n][1]) / store[n][1].pow(2).mean().clamp_min(1e-8)
                          for n in names]
                opt.zero_grad(set_to_none=True)
                sum(losses).backward()
                opt.step()
                sched.step()
                recent = (recent + [[float(v.detach()) for v in losses]])[-20:]
                done += 1
                if done >= total:
                    break
    finally:
        for h in handles:
            h.remove()
    return [sum(r[i] for r in recent) / len(recent) for i in range(len(names))]


def _tau_schedule(student: nn.Module, steps: int | None, tau_end: float | None) -> None:
    """Sample-interp mask heads: Gumbel temperature decays geometrically to ``tau_end`` over ``steps``."""
    from edge.forms.sample_interp import MaskHead

    if tau_end is None or not steps:
        return
    if tau_end <= 0:
        raise InputError(f"distill: tau_end must be > 0, got {tau_end}")
    for m in student.modules():
        if isinstance(m, MaskHead):
            m.decay = (tau_end / float(m.temperature)) ** (1.0 / steps)


def distill(student: nn.Module, teacher: nn.Module, data: Iterable, epochs: int | None = None,
            lr: float | None = None, temperature: float | None = None, alpha: float | None = None,
            feature_layers=None, feature_weight: float | None = None, sparsity_weight: float | None = None,
            eval_data: Iterable | None = None, bn_data: Iterable | None = None, bn_batches: int | None = None,
            checkpoint=None, resume: bool = True, max_steps: int | None = None, progress: bool = True,
            mask_lr_scale: float | None = None, device=None, tau_end: float | None = None,
            sparsity_target: float | None = None) -> DistillResult:
    """Fine-tune ``student`` (in place) to mimic ``teacher`` on ``data`` (batches of x or (x, y)).

    Defaults: epochs 1, lr 1e-3 (AdamW, cosine schedule over the run), temperature 4, alpha 0.9 with
    labels, feature_weight 1.0 when feature_layers are given, sparsity_weight 0.05 for sample-interp
    students, bn_batches 50 of ``bn_data`` (default ``data``), mask_lr_scale 10 (the mask heads and
    interpolation kernels of sample-interp students learn 10x faster, so that a short fine-tuning moves
    them away from their all-sampled start). ``tau_end``: the sample-interp Gumbel temperature decays
    geometrically from its current value to ``tau_end`` over the run's steps (None: the form's own
    x0.99998 per step, far too slow for a short fine-tune); ``sparsity_target``: see
    :func:`edge.forms.sparsity_loss` (None: the paper's loss, METHODS §4). Returns a :class:`DistillResult`.
    """
    epochs, lr, temp = epochs or 1, lr or 1e-3, temperature or 4.0
    fw = (1.0 if feature_layers else 0.0) if feature_weight is None else float(feature_weight)
    sw = (0.05 if _sample_blocks(student) else 0.0) if sparsity_weight is None else float(sparsity_weight)
    if sw and not _sample_blocks(student):
        raise InputError("distill: sparsity_weight given but the student has no sample-interp block")
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    ddp.init(device)
    opt = torch.optim.AdamW(_param_groups(student, lr, mask_lr_scale), lr=lr, weight_decay=1e-4)
    n_batches = len(data) if hasattr(data, "__len__") else None
    total = max_steps or (epochs * n_batches if n_batches else None)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0))) if total else 1.0)
    start, steps, history, resumed = 0, 0, [], None
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and resume and ckpt.exists():
        start, steps, history = _resume(ckpt, student, opt, sched)
        resumed = start
    _tau_schedule(student, (total - steps) if total else None, tau_end)
    fs, ft = (_Features(student, feature_layers), _Features(teacher, feature_layers)) if fw else (None, None)
    trained = ddp.wrap(student, device)  # DDP on several processes, the student itself otherwise
    try:
        for epoch in range(start, epochs):
            if hasattr(getattr(data, "sampler", None), "set_epoch"):
                data.sampler.set_epoch(epoch)  # DistributedSampler: a new, rank-consistent order each epoch
            history.append(_epoch(trained, student, teacher, data, opt, sched, temp, alpha, fs, ft, fw,
                                  (sw, sparsity_target), device, progress and ddp.rank() == 0, epoch, max_steps,
                                  steps))
            steps += history[-1]["steps"]
            if ckpt:
                _save(ckpt, student, opt, sched, epoch + 1, steps, history)
            if max_steps and steps >= max_steps:
                break
    finally:
        for f in (fs, ft):
            if f:
                f.close()
    recalibrate_bn(student, bn_data if bn_data is not None else data, bn_batches, device)
    res = DistillResult(epochs=len(history), steps=steps, history=history, resumed_from=resumed,
                        world_size=ddp.world_size())
    if eval_data is not None and ddp.rank() == 0:
        ev = evaluate(student, eval_data, teacher, device)
        res.student_acc, res.teacher_acc, res.agreement, res.density = (ev["acc"], ev["teacher_acc"],
                                                                        ev["agreement"], ev["density"])
    return res


def _epoch(trained, student, teacher, data, opt, sched, temp, alpha, fs, ft, fw, sw, device, progress, epoch,
           max_steps, steps_before) -> dict:
    """One pass over ``data``; ``trained`` is the student or its DDP wrapper (the one called forward)."""
    from tqdm.auto import tqdm

    from edge.forms.sample_interp import sparsity_loss

    trained.train()
    sums, n = {"loss": 0.0, "kd": 0.0, "ce": 0.0, "feat": 0.0, "sparsity": 0.0}, 0
    bar = tqdm(data, desc=f"distill epoch {epoch + 1}", disable=not progress, leave=False)
    for batch in bar:
        x, y = _split(batch)
        x = x.to(device) if device else x
        with torch.no_grad():
            t = teacher(x)
        s = trained(x)
        a = (0.9 if y is not None else 1.0) if alpha is None else float(alpha)
        parts = {"kd": a * kd_loss(s, t, temp)}
        if y is not None and a < 1:
            parts["ce"] = (1 - a) * F.cross_entropy(s, y.to(s.device))
        if fw:
            parts["feat"] = fw * sum(F.mse_loss(fs.out[k], ft.out[k]) for k in ft.out) / max(len(ft.out), 1)
        if sw[0]:
            parts["sparsity"] = sparsity_loss(student, sw[0], sw[1])
        loss = sum(parts.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        n += 1
        sums["loss"] += float(loss.detach())
        for k, v in parts.items():
            sums[k] += float(v.detach())
        bar.set_postfix(loss=f"{sums['loss'] / n:.4f}")
        if max_steps and steps_before + n >= max_steps:
            break
    means = ddp.mean_over_ranks({k: v / max(n, 1) for k, v in sums.items()})
    return {"epoch": epoch + 1, "steps": n, **means}
