"""Helpers shared by subcommands: loading a user's model from ``module:factory`` or a file."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from edge.errors import ModelLoadError


def load_model(spec: str):
    """A model from ``package.module:factory`` (called with no arguments), ``path/to/file.py:factory``,
    a TorchScript file, or a ``torch.save``-d module (.pt/.pth)."""
    import torch

    if ":" in spec and not Path(spec).exists():
        mod_name, attr = spec.rsplit(":", 1)
        try:
            if mod_name.endswith(".py"):
                path = Path(mod_name).resolve()
                spec_ = importlib.util.spec_from_file_location(path.stem, path)
                module = importlib.util.module_from_spec(spec_)
                sys.modules[path.stem] = module
                spec_.loader.exec_module(module)
            else:
                sys.path.insert(0, str(Path.cwd()))
                module = importlib.import_module(mod_name)
            obj = getattr(module, attr)
        except (ImportError, AttributeError, FileNotFoundError) as e:
            raise ModelLoadError(f"cannot import '{spec}': {e}. Fix: give 'package.module:factory' importable "
                                 "from the current folder, or 'file.py:factory'") from e
        model = obj() if callable(obj) and not isinstance(obj, torch.nn.Module) else obj
        if not isinstance(model, torch.nn.Module):
            raise ModelLoadError(f"'{spec}' gave a {type(model).__name__}, not a torch.nn.Module")
        return model.eval()
    path = Path(spec)
    if not path.is_file():
        raise ModelLoadError(f"no such model file or 'module:factory': {spec}")
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception:
        pass
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as e:
        raise ModelLoadError(f"cannot read '{path}' as TorchScript or a torch.save-d module ({e}); the file may "
                             "be truncated or not a model. Fix: re-save it with torch.save(model, path)") from e
    if not isinstance(obj, torch.nn.Module):
        raise ModelLoadError(f"'{path}' holds a {type(obj).__name__}, not a module (a state dict needs the "
                             "architecture: pass 'module:factory' instead)")
    return obj.eval()


def parse_hw(text: str) -> tuple[int, int]:
    """``"64"`` -> (64, 64); ``"64x48"`` or ``"64,48"`` -> (64, 48) (height x width)."""
    import click

    parts = text.lower().replace(",", "x").split("x")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"expected N or HxW, got {text!r}") from None
    if len(vals) == 1:
        vals *= 2
    if len(vals) != 2 or min(vals) < 1:
        raise click.BadParameter(f"expected N or HxW with positive sizes, got {text!r}")
    return vals[0], vals[1]
