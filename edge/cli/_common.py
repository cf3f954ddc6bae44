"""Helpers shared by subcommands: loading a user's model from ``module:factory`` or a file."""

from __future__ import annotations




def load_model(spec: str):
    """The eval-mode module a model spec names (``edge.spec``: ``module:factory``, ``file.py:factory``,
    ``.pt2``, TorchScript, an edge checkpoint; a pickled module only with ``edge --trust-pickle``)."""
    from edge.spec import load_module

    return load_module(spec)


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
