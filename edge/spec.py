"""Model specs and shapes: the one grammar by which edge's commands and functions name a PyTorch model, and the
one by which they write tensor shapes (``parse_shapes``, trtexec's ``--shapes`` form).

A *model spec* is one of:

    package.module:factory    imported from the current folder or sys.path; ``factory`` is called with no
                              arguments (or is an ``nn.Module`` instance already)
    path/to/file.py:factory   the same, from a Python file
    model.pt2                 a ``torch.export`` archive (``torch.export.save``)
    model.ts / model.pt       a TorchScript file (``torch.jit.save``)
    model.pt                  an edge checkpoint (``save_checkpoint``: a state dict plus how to rebuild the
                              module, e.g. what ``edge dense convert`` and ``edge distill`` write)
    model.pt                  a pickled ``nn.Module`` (``torch.save(model, path)``): ONLY with trust_pickle

Why pickles need an opt-in: unpickling a whole module runs whatever code the file names, so a ``.pt`` from
somewhere else can execute arbitrary code the moment it is loaded. Every other form above loads with
``torch.load(weights_only=True)``, TorchScript's or torch.export's own loaders. Trust a pickle with
``trust_pickle=True`` in Python, ``edge --trust-pickle <command>`` on the command line, or the environment
variable ``EDGE_TRUST_PICKLE=1``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from edge.errors import InputError, ModelLoadError

TRUST_PICKLE_ENV = "EDGE_TRUST_PICKLE"
#: the key that marks an edge checkpoint, and the builders that rebuild each kind of module from one
CHECKPOINT_KEY = "edge_checkpoint"
BUILDERS = {"dense": "edge.dense.convert:from_checkpoint", "form": "edge.forms.zoo:from_checkpoint"}
PICKLE_FIX = (f"if you trust this file, load it with `edge --trust-pickle ...`, trust_pickle=True or "
              f"{TRUST_PICKLE_ENV}=1; better, re-save it in a safe format: torch.export.save (.pt2), "
              "torch.jit.save, or a state dict loaded into 'module:factory'")


def trusts_pickle(trust_pickle: bool | None = None) -> bool:
    """``trust_pickle``, or when None the ``EDGE_TRUST_PICKLE`` environment variable (default: no)."""
    if trust_pickle is not None:
        return bool(trust_pickle)
    return os.environ.get(TRUST_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes")


def is_factory_spec(spec: str | os.PathLike) -> bool:
    """True for ``module:factory`` / ``file.py:factory`` (a spec with a colon that is not an existing file)."""
    s = str(spec)
    return ":" in s and not Path(s).exists() and not (len(s) > 1 and s[1] == ":" and s[0].isalpha())


def load_module(spec: str | os.PathLike | nn.Module, *, trust_pickle: bool | None = None) -> nn.Module:
    """The ``nn.Module`` a model spec names (see the module docstring), in eval mode.

    Raises:
        ModelLoadError: the spec cannot be imported or read; the message names the fix.
    """
    if isinstance(spec, nn.Module):
        return _eval(spec)
    if is_factory_spec(spec):
        return _eval(_from_factory(str(spec)))
    return _eval(load_file(Path(spec), trust_pickle=trust_pickle))


def _eval(module: nn.Module) -> nn.Module:
    try:
        return module.eval()
    except NotImplementedError:  # a torch.export module: traced in the mode it was exported in
        return module


def load_file(path: Path, *, trust_pickle: bool | None = None) -> nn.Module:
    """A module from a ``.pt2`` archive, a TorchScript file, an edge checkpoint or (trusted) a pickle."""
    if not path.is_file():
        raise ModelLoadError(f"no such model file or 'module:factory': {path}")
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"'{path}' is not a PyTorch file (torch files are zip archives); it may be "
                             "truncated or of another format. Fix: re-save it with torch.export.save or torch.jit.save")
    names = zipfile.ZipFile(path).namelist()
    if path.suffix == ".pt2" or any(n.endswith("serialized_exported_program.json") or "/models/" in n for n in names):
        try:
            return torch.export.load(str(path)).module()
        except Exception as e:  # noqa: BLE001 - any failure is the file's
            raise ModelLoadError(f"'{path}' is not a readable torch.export archive: {e}") from e
    if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load is deprecated in 2.13
            try:
                return torch.jit.load(str(path), map_location="cpu")
            except Exception as e:  # noqa: BLE001
                raise ModelLoadError(f"'{path}' looks like TorchScript but does not load: {e}") from e
    return _from_torch_save(path, trust_pickle)


def _from_torch_save(path: Path, trust_pickle: bool | None) -> nn.Module:
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - weights_only refuses any object that is not plain data
        if not trusts_pickle(trust_pickle):
            raise ModelLoadError(f"'{path}' is a pickled Python object, not plain weights: loading it would run "
                                 f"the code it names. Refused. Fix: {PICKLE_FIX}") from e
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as e2:  # noqa: BLE001
            raise ModelLoadError(f"cannot read '{path}' as a torch.save()d module: {e2}") from e2
    if isinstance(obj, dict) and CHECKPOINT_KEY in obj:
        return _from_checkpoint(path, obj)
    if isinstance(obj, dict) and isinstance(obj.get("model"), nn.Module):  # a trusted pickle of {"model": module}
        obj = obj["model"]
    if isinstance(obj, dict):
        raise ModelLoadError(f"'{path}' holds a state dict, not a model: it has no architecture to run. Fix: "
                             "pass 'module:factory' and load_state_dict() the file in that factory")
    if not isinstance(obj, nn.Module):
        raise ModelLoadError(f"'{path}' holds a {type(obj).__name__}, not an nn.Module")
    return obj


def save_checkpoint(path: str | os.PathLike, module: nn.Module, kind: str, meta: dict | None = None,
                    **how) -> Path:
    """Write ``module`` as an edge checkpoint: its state dict plus ``how`` (plain data) to rebuild it.

    ``kind`` names the builder (``BUILDERS``) that turns ``how`` back into the architecture; ``meta`` is
    plain data kept beside it (e.g. training results). The file loads with ``torch.load(weights_only=True)``.
    Written atomically.
    """
    from edge.io import atomic_path

    if kind not in BUILDERS:
        raise InputError(f"unknown checkpoint kind '{kind}'; known: {', '.join(BUILDERS)}")
    with atomic_path(path) as tmp:
        torch.save({CHECKPOINT_KEY: {"kind": kind, **how}, "state_dict": module.state_dict(), "meta": meta or {}},
                   tmp)
    return Path(path)


def _from_checkpoint(path: Path, obj: dict) -> nn.Module:
    how = dict(obj[CHECKPOINT_KEY])
    kind = how.pop("kind", None)
    if kind not in BUILDERS:
        raise ModelLoadError(f"'{path}' is an edge checkpoint of unknown kind '{kind}' (this edge knows "
                             f"{', '.join(BUILDERS)}): it was written by another edge version")
    mod_name, fn = BUILDERS[kind].split(":")
    module = getattr(importlib.import_module(mod_name), fn)(**how)
    try:
        module.load_state_dict(obj["state_dict"])
    except RuntimeError as e:
        raise ModelLoadError(f"'{path}': the rebuilt {kind} model does not match the saved weights ({e}); "
                             "the source model named in the checkpoint has changed since it was written") from e
    return module


def _from_factory(spec: str) -> nn.Module:
    mod_name, attr = spec.rsplit(":", 1)
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name).resolve()
            file_spec = importlib.util.spec_from_file_location(path.stem, path)
            if file_spec is None or file_spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[path.stem] = module
            file_spec.loader.exec_module(module)
        else:
            if str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(mod_name)
        obj = getattr(module, attr)
    except (ImportError, AttributeError, FileNotFoundError) as e:
        raise ModelLoadError(f"cannot import '{spec}': {e}. Fix: give 'package.module:factory' importable "
                             "from the current folder, or 'file.py:factory'") from e
    model = obj() if callable(obj) and not isinstance(obj, nn.Module) else obj
    if not isinstance(model, nn.Module):
        raise ModelLoadError(f"'{spec}' gave a {type(model).__name__}, not a torch.nn.Module")
    return model


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x3x224x224"`` (or ``"1,3,224,224"``) -> ``(1, 3, 224, 224)``; InputError unless positive integers."""
    try:
        dims = tuple(int(p) for p in text.strip().lower().replace(",", "x").split("x"))
    except ValueError:
        raise InputError(f"bad shape '{text}': write dimensions like 1x3x224x224") from None
    if not dims or min(dims) < 1:
        raise InputError(f"bad shape '{text}': dimensions must be positive integers, like 1x3x224x224")
    return dims


def parse_shapes(text: str | Sequence[str] | None, require_names: bool = False) -> dict[str, tuple[int, ...]]:
    """Input shapes in trtexec's ``--shapes`` form -> ``{input name: shape}``.

    ``"input:1x3x224x224,mask:1x1x56x56"`` names each input; ``"1x3x224x224"`` is the only input (key ``""``,
    refused when ``require_names``). A sequence is the same as its items joined by commas (a repeated CLI
    option). Where a text has no ``x`` at all, its commas separate dimensions: ``"input:1,3,224,224"``.
    """
    out: dict[str, tuple[int, ...]] = {}
    for item in [text] if isinstance(text, str) else list(text or []):
        parts = [item] if "x" not in item.lower() else [p for p in item.split(",") if p.strip()]
        for part in parts:
            name, _, dims = part.strip().rpartition(":")
            if require_names and not name:
                raise InputError(f"shape '{part}' has no input name: write name:1x3x224x224")
            out[name.strip()] = parse_shape(dims)
    return out
