"""``edge.export.check``: a static check of an ONNX file against the TensorRT ONNX parser's rules, without TensorRT.

The rules are data per TensorRT release (``tables/trt-<release>.json``; 10.3 for JetPack 6, 10.13 for
JetPack 7, 11 for 11.x), each entry citing the parser source or changelog it was read from. The check
reports per node the rule, the release, the problem and the fix; errors mean the parser (or the builder)
would reject the file. ``edge export``, ``edge quantize`` and ``edge build`` run it automatically
(:func:`enforce`); ``edge check FILE --trt 10.3,10.13`` runs it on any file. See docs/TRT_COMPAT.md.

Example::

    from edge.export.check import check
    report = check("model.onnx", ["10.3", "10.13"])
    print(report.text()); report.ok  # False when any rule of any release is broken
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from edge.export.check.checks import Finding, check_local_functions, check_model_level, check_ops
from edge.export.check.graph import GraphInfo
from edge.export.check.qdq_plugins import check_plugins, check_qdq
from edge.export.check.rules import (
    DEFAULT_RELEASES,
    RELEASES,
    RULES,
    normalize_release,
    parse_releases,
    supported_opset,
)
from edge.errors import InputError

log = logging.getLogger(__name__)
GROUPS = (check_model_level, check_ops, check_qdq, check_plugins, check_local_functions)


class TrtCompatError(InputError):
    """A file breaks a rule of the TensorRT ONNX parser of a targeted release (the message names node, rule, fix)."""


@dataclass
class Report:
    """All findings for one model and a list of releases."""

    path: str
    releases: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"path": self.path, "releases": list(self.releases), "ok": self.ok, "errors": len(self.errors),
                "warnings": len(self.warnings), "findings": [f.to_dict() for f in self.findings]}

    def text(self) -> str:
        head = (f"{self.path}: TensorRT {', '.join(self.releases)}: {len(self.errors)} error(s), "
                f"{len(self.warnings)} warning(s)")
        return "\n".join([head, *(f.line() for f in self.findings)])


def check(model, releases: Iterable[str] | str | None = None, name: str | None = None) -> Report:
    """Check ``model`` (a path or an ``onnx.ModelProto``) against the rules of each release.

    Args:
        releases: "10.3,10.13", a list, or None for :data:`DEFAULT_RELEASES` (10.3 and 10.13).
        name: how the report names an in-memory model (e.g. the file it is about to be written to).
    Returns:
        :class:`Report`; findings sorted errors first, then by release and node order.
    """
    rel = parse_releases(releases if isinstance(releases, (str, type(None))) else ",".join(releases))
    path = name or "<in memory>"
    if not hasattr(model, "graph"):
        from edge.export.onnx_export import load_onnx

        path = str(model)
        model = load_onnx(model, check=False)
    g = GraphInfo(model)
    report = Report(path, rel)
    for r in rel:
        for group in GROUPS:
            report.findings.extend(group(g, r))
    report.findings.sort(key=lambda f: f.severity != "error")
    return report


def releases_from_env() -> tuple[str, ...]:
    """``EDGE_TRT_RELEASES`` (e.g. "10.3") overrides the releases the automatic checks target."""
    return parse_releases(os.environ.get("EDGE_TRT_RELEASES"))


def enforce(model, releases: Iterable[str] | str | None = None, stage: str = "", echo=None,
            name: str | None = None) -> Report:
    """Run :func:`check` as the automatic step of export/quantize/build: warnings are reported, errors raise.

    Args:
        releases: as in :func:`check`; None means :func:`releases_from_env`.
        stage: the command that produced/consumes the file, for the message ("edge export").
        echo: callable for warnings (default: the module logger).
    Raises:
        TrtCompatError: naming the first errors (node, rule, release, fix) and ``edge check`` for the rest.
    """
    report = check(model, releases or releases_from_env(), name=name)
    say = echo or log.warning
    for f in report.warnings:
        say(f"TensorRT check ({stage or 'edge'}): {f.line()}")
    if report.errors:
        first = "; ".join(f.line() for f in report.errors[:3])
        more = f" (+{len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise TrtCompatError(f"{stage + ': ' if stage else ''}{report.path} would be rejected by TensorRT: {first}"
                             f"{more}. Run `edge check {report.path} --trt {','.join(report.releases)}` for all")
    return report


__all__ = [
    "DEFAULT_RELEASES",
    "RELEASES",
    "RULES",
    "Finding",
    "Report",
    "TrtCompatError",
    "check",
    "enforce",
    "normalize_release",
    "parse_releases",
    "releases_from_env",
    "supported_opset",
]
