"""Cross-backend comparison (like ``polygraphy run --onnxrt --trt``): same inputs, every output compared.

``compare(runners, feeds, atol, rtol)`` runs every runner on every feed and compares each runner's
outputs with the first runner's (the reference). An element passes when
``|out - ref| <= atol + rtol * |ref|`` (numpy's ``allclose`` rule); a NaN/Inf mismatch or a shape
mismatch fails. Reported per output: max/mean absolute error and max/mean relative error, where the
relative error is ``|out - ref| / max(|ref|, 1e-6 * max|ref|)`` (so exact zeros in the reference, as
after a ReLU, do not blow it up).

Runners whose input/output names differ from the reference's (a torch module's ``x`` vs the ONNX
file's ``input``) are matched by position when the counts agree; the report says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from edge.errors import InputError
from edge.io import markdown_table
from edge.runtime.base import Runner

DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-4


@dataclass
class OutputComparison:
    runner: str
    reference: str
    feed: int
    output: str
    shape: tuple
    max_abs: float
    mean_abs: float
    max_rel: float
    mean_rel: float
    passed: bool
    note: str = ""


@dataclass
class CompareReport:
    runners: list[str]
    atol: float
    rtol: float
    rows: list[OutputComparison] = field(default_factory=list)
    outputs: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)  # runner -> per feed
    times: dict[str, list[float]] = field(default_factory=dict)  # runner -> seconds per feed

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    def to_dict(self) -> dict:
        return {"runners": self.runners, "atol": self.atol, "rtol": self.rtol, "passed": self.passed,
                "rows": [asdict(r) for r in self.rows], "seconds": self.times}

    def table(self) -> str:
        rows = [{"runner": r.runner, "vs": r.reference, "feed": r.feed, "output": r.output,
                 "shape": "x".join(map(str, r.shape)), "max_abs": r.max_abs, "mean_abs": r.mean_abs,
                 "max_rel": r.max_rel, "mean_rel": r.mean_rel, "result": "PASS" if r.passed else "FAIL",
                 "note": r.note} for r in self.rows]
        return markdown_table(rows)

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        bad = sum(not r.passed for r in self.rows)
        return (f"{verdict}: {len(self.rows) - bad}/{len(self.rows)} output comparisons within "
                f"atol={self.atol:g}, rtol={self.rtol:g} (reference: {self.runners[0]})")


def error_stats(out: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> dict[str, Any]:
    """Abs/rel error statistics of ``out`` vs ``ref`` (same shape) and the allclose verdict."""
    out64, ref64 = out.astype(np.float64), ref.astype(np.float64)
    finite = np.isfinite(ref64) & np.isfinite(out64)
    same_nonfinite = ~finite & ((out64 == ref64) | (np.isnan(out64) & np.isnan(ref64)))
    diff = np.where(finite, np.abs(out64 - ref64), 0.0)
    scale = float(np.abs(ref64[finite]).max()) if finite.any() else 0.0
    denom = np.maximum(np.abs(ref64), max(1e-6 * scale, np.finfo(np.float64).tiny))
    rel = np.where(finite, diff / denom, 0.0)
    ok = (finite & (diff <= atol + rtol * np.abs(ref64))) | same_nonfinite
    n = max(diff.size, 1)
    return {"max_abs": float(diff.max(initial=0.0)), "mean_abs": float(diff.sum() / n),
            "max_rel": float(rel.max(initial=0.0)), "mean_rel": float(rel.sum() / n), "passed": bool(ok.all()),
            "note": "" if (finite | same_nonfinite).all() else "NaN/Inf mismatch"}


def _align(names: Sequence[str], ref_names: Sequence[str], what: str, runner: str) -> tuple[dict[str, str], str]:
    """Map reference names -> this runner's names: by name, else by position when counts agree."""
    if set(ref_names) <= set(names):
        return {n: n for n in ref_names}, ""
    if len(names) == len(ref_names):
        return dict(zip(ref_names, names)), f"{what} matched by position"
    raise InputError(f"runner '{runner}' has {what} {list(names)}, which cannot be matched with the "
                     f"reference's {list(ref_names)} (different names and counts)")


def run_all(runners: Sequence[Runner], feeds: Sequence[Mapping[str, np.ndarray]]) -> dict[str, tuple]:
    """runner name -> (outputs per feed, seconds per feed, note). Feeds are keyed by the first runner's names."""
    results = {}
    ref_inputs = [m.name for m in runners[0].inputs]
    for runner in runners:
        mapping, note = _align([m.name for m in runner.inputs], ref_inputs, "inputs", runner.name)
        outs, times = [], []
        for feed in feeds:
            outs.append(runner.infer({mapping.get(k, k): v for k, v in feed.items()}))
            times.append(runner.last_inference_time)
        results[runner.name] = (outs, times, note)
    return results


def compare(runners: Sequence[Runner], feeds: Mapping[str, Any] | Sequence[Mapping[str, Any]],
            atol: float | None = None, rtol: float | None = None) -> CompareReport:
    """Run ``runners`` (>= 2; the first is the reference) on ``feeds`` and compare every output.

    Args:
        runners: Runners (e.g. from ``edge.runtime.load``), activated here if needed.
        feeds: one feed (dict name -> array, e.g. ``float32[B, C, H, W]``) or a list of feeds, keyed by
            the reference runner's input names.
        atol, rtol: tolerances; None = 1e-4 each.
    """
    if len(runners) < 2:
        raise InputError(f"compare needs at least two runners, got {len(runners)}")
    atol = DEFAULT_ATOL if atol is None else float(atol)
    rtol = DEFAULT_RTOL if rtol is None else float(rtol)
    feeds = [feeds] if isinstance(feeds, Mapping) else list(feeds)
    _uniquify(runners)
    results = run_all(runners, feeds)
    names = [r.name for r in runners]
    report = CompareReport(names, atol, rtol)
    report.outputs = {n: results[n][0] for n in names}
    report.times = {n: results[n][1] for n in names}
    ref = names[0]
    for other in names[1:]:
        for i, (ref_out, out) in enumerate(zip(results[ref][0], results[other][0])):
            mapping, note = _align(list(out), list(ref_out), "outputs", other)
            note = "; ".join(x for x in (results[other][2], note) if x)
            for ref_name, name in mapping.items():
                report.rows.append(_compare_one(other, ref, i, ref_name, out[name], ref_out[ref_name], atol, rtol, note))
    return report


def _compare_one(runner, ref, i, name, out, expected, atol, rtol, note) -> OutputComparison:
    if out.shape != expected.shape:
        return OutputComparison(runner, ref, i, name, tuple(out.shape), float("inf"), float("inf"), float("inf"),
                                float("inf"), False, f"shape {tuple(out.shape)} != reference {tuple(expected.shape)}")
    s = error_stats(out, expected, atol, rtol)
    note = "; ".join(x for x in (note, s.pop("note")) if x)
    return OutputComparison(runner, ref, i, name, tuple(out.shape), note=note, **s)


def _uniquify(runners: Sequence[Runner]) -> None:
    """Give runners with equal names a ``#<i>`` suffix so reports and .npz keys stay distinct."""
    seen: dict[str, int] = {}
    for r in runners:
        if r.name in seen:
            seen[r.name] += 1
            r.name = f"{r.name}#{seen[r.name]}"
        else:
            seen[r.name] = 0
