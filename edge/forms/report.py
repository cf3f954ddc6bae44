"""What a form converter did: the layers it replaced and the ones it skipped, with the reason."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from torch import nn

__all__ = ["ConversionReport", "excluded", "set_submodule"]


@dataclass
class ConversionReport:
    """Replaced ``(path, description)`` and skipped ``(path, reason)`` entries of one conversion."""

    form: str
    replaced: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"form": self.form, "replaced": [{"path": p, "what": d} for p, d in self.replaced],
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}

    def __str__(self) -> str:
        lines = [f"{self.form}: replaced {len(self.replaced)}, skipped {len(self.skipped)}"]
        lines += [f"  replaced {p}: {d}" for p, d in self.replaced]
        lines += [f"  skipped  {p}: {r}" for p, r in self.skipped]
        return "\n".join(lines)


def set_submodule(model: nn.Module, path: str, new: nn.Module) -> None:
    """Replace the submodule at dotted ``path`` (``"layer1.0.conv2"``) by ``new``."""
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, name, new)


def excluded(path: str, patterns) -> bool:
    """True when ``path`` matches one of the fnmatch ``patterns`` (None means none)."""
    return any(fnmatch.fnmatchcase(path, p) for p in (patterns or ()))
