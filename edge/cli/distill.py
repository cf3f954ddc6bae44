"""``edge distill``: convert a model to an efficient form and fine-tune it from the original by
knowledge distillation (Fashion-MNIST data built in; any labelled or unlabelled tensor file too).

Data-parallel with ``torchrun --nproc-per-node N -m edge distill ...`` (``edge.forms.ddp``): ``--batch-size`` is
the total batch over the N processes; rank 0 writes the checkpoint and ``--save`` and prints."""

from __future__ import annotations

from pathlib import Path

import click


def _fashion(split: str, n: int | None, batch: int, shuffle: bool, labels: bool, seed: int = 0):
    import torch

    from edge.models.fashion_cnn import load_fashion_mnist

    x, y = load_fashion_mnist(split)
    x = (torch.from_numpy(x.copy()).float().div_(255).sub_(0.2860).div_(0.3530)).unsqueeze(1)
    y = torch.from_numpy(y.copy())
    if n:
        x, y = x[:n], y[:n]
    return _loader(x, y if labels else None, batch, seed) if shuffle else _batches(x, y if labels else None, batch)


def _loader(x, y, batch: int, seed: int):
    """Shuffled training batches, sharded over data-parallel processes (same global batches for any N)."""
    from torch.utils.data import TensorDataset

    from edge.forms.ddp import make_loader

    return make_loader(TensorDataset(x) if y is None else TensorDataset(x, y), batch, shuffle=True, seed=seed)


def _batches(x, y, batch: int):
    """Batches in order (evaluation: rank 0 alone evaluates the whole set)."""
    import torch

    class Batches:
        def __len__(self):
            return (len(x) + batch - 1) // batch

        def __iter__(self):
            idx = torch.arange(len(x))
            for i in range(0, len(x), batch):
                j = idx[i:i + batch]
                yield (x[j], y[j]) if y is not None else x[j]

    return Batches()


def _tensor_file(path: Path, batch: int, labels: bool, seed: int = 0):
    import torch

    from edge.errors import InputError

    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, torch.Tensor):
        return _loader(obj, None, batch, seed)
    if isinstance(obj, dict) and "x" in obj:
        return _loader(obj["x"], obj.get("y") if labels else None, batch, seed)
    raise InputError(f"{path}: expected a tensor (N, C, H, W) or a dict {{'x': images, 'y': labels}}")


@click.command()
@click.option("--teacher", required=True, help="Original model: a name (fashion-resnet, resnet18, ...) or a .pt file.")
@click.option("--form", "form", required=True,
              help="Target form: spconv[=alpha], csp[=first], sample_interp[=grid].")
@click.option("--data", default="fashion-mnist", show_default=True,
              help="'fashion-mnist' or a .pt file with a tensor (N,C,H,W) or {'x': ..., 'y': ...}.")
@click.option("--no-labels", is_flag=True, help="Data distillation: ignore labels, learn from the teacher only.")
@click.option("--epochs", type=int, default=None, help="Default 1.")
@click.option("--lr", type=float, default=None, help="Default 1e-3 (AdamW, cosine).")
@click.option("--batch-size", type=int, default=128, show_default=True,
              help="Total batch (split over the processes of a torchrun job).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the data order and the form's init.")
@click.option("--train-samples", type=int, default=None, help="Use only the first N training images.")
@click.option("--sparsity-weight", type=float, default=None, help="Sample-interp sparsity loss weight (0.05).")
@click.option("--density-target", type=float, default=None,
              help="Sample-interp: density budget; the sparsity loss pushes each mask only above it.")
@click.option("--tau-end", type=float, default=None,
              help="Sample-interp: final Gumbel temperature, reached over the run (e.g. 0.1).")
@click.option("--hard-epochs", type=int, default=0, show_default=True,
              help="Sample-interp: epochs after the main run trained on the inference masks (p >= 0.5, "
                   "straight-through gradient) so that weights and BN fit them.")
@click.option("--feature-layers", default=None, help="Comma-separated module names for feature matching.")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (written every epoch; resumed when present).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the distilled student (a dict {'model': module, 'result': ...}).")
def distill(teacher, form, data, no_labels, epochs, lr, batch_size, seed, train_samples, sparsity_weight,
            density_target, tau_end, hard_epochs, feature_layers, checkpoint, save):
    """Convert TEACHER to FORM, distil it, recalibrate BN, evaluate and save it."""
    import dataclasses

    from edge.errors import InputError
    from edge.forms.distill import distill as run
    from edge.forms.zoo import _model_names as zoo_names
    from edge.forms.zoo import apply_form, load_model

    if not form.startswith("sample_interp") and (density_target is not None or tau_end is not None or hard_epochs):
        raise InputError("--density-target, --tau-end and --hard-epochs apply to --form sample_interp only")
    import torch as _torch

    from edge.forms import ddp

    ddp.init()
    _torch.manual_seed(seed)  # the same form initialisation on every rank (DDP broadcasts rank 0's weights)
    t = load_model(teacher)
    student, report = apply_form(t, form)
    if ddp.is_main():
        click.echo(str(report).splitlines()[0])
    dev = ddp.default_device()
    t, student = t.to(dev), student.to(dev)
    if data == "fashion-mnist":
        train = _fashion("train", train_samples, batch_size, True, not no_labels, seed)
        test = _fashion("test", None, 512, False, True)
    else:
        train = _tensor_file(Path(data), batch_size, not no_labels, seed)
        test = None
    res = run(student, t, train, epochs=epochs, lr=lr, sparsity_weight=sparsity_weight,
              feature_layers=feature_layers.split(",") if feature_layers else None,
              eval_data=None if hard_epochs else test, checkpoint=checkpoint, sparsity_target=density_target,
              tau_end=tau_end, device=dev, progress=ddp.is_main())
    if hard_epochs:
        from edge.forms import set_mask_training

        set_mask_training(student, "hard")
        res = run(student, t, train, epochs=hard_epochs, lr=0.3 * (lr or 1e-3), sparsity_weight=sparsity_weight,
                  sparsity_target=density_target, eval_data=test, device=dev)
        set_mask_training(student, "gumbel")
    if not ddp.is_main():  # rank 0 alone writes and reports
        ddp.finish()
        return
    student = student.cpu()
    from edge.spec import save_checkpoint

    source = teacher if teacher.split(":")[0] in zoo_names() or not Path(teacher).exists() else str(Path(teacher).resolve())
    save_checkpoint(save, student.eval(), "form", source=source, form=form,
                    meta={"result": dataclasses.asdict(res), "teacher": teacher})
    for k in ("student_acc", "teacher_acc", "agreement", "density"):
        v = getattr(res, k)
        if v is not None:
            click.echo(f"{k}: {v:.4f}")
    click.echo(f"saved {save}" + (f" ({res.world_size} data-parallel processes)" if res.world_size > 1 else ""))
    ddp.finish()
