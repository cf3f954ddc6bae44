"""Each rule of edge.export.check fires on a synthetic file that breaks it (and only for the releases whose table
says so); clean files pass; every table entry cites its source."""

from __future__ import annotations

import json

import pytest
from synthetic import CASES, clean_models, qdq_conv, scatter_nd

from edge.export.check import RELEASES, RULES, check, normalize_release, parse_releases
from edge.export.check.rules import TABLES, table


def test_every_rule_has_a_synthetic_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires(rule):
    build, bad, fine = CASES[rule]
    report = check(build(), [*bad, *fine])
    for release in bad:
        hits = [f for f in report.errors if f.rule == rule and f.release == release]
        assert hits, f"{rule} did not fire for {release}: {report.text()}"
        assert all(f.fix and f.source and f.node for f in hits)
    for release in fine:
        assert not [f for f in report.errors if f.rule == rule and f.release == release], report.text()


@pytest.mark.parametrize("name", sorted(clean_models()))
def test_clean_models_pass(name):
    report = check(clean_models()[name], RELEASES)
    assert report.ok and not report.warnings, report.text()


def test_scatter_nd_reduction_value_on_newer_releases():
    """10.13 accepts reduction="none" (fixed in 10.9) but not an actual reduction."""
    report = check(scatter_nd("add"), ["10.13"])
    assert [f.rule for f in report.errors] == ["OP_ATTRIBUTE"]


def test_per_channel_weight_axis_must_be_output_channels():
    report = check(qdq_conv(w_axis=1), ["10.3"])
    assert any(f.rule == "QDQ_PER_CHANNEL" and f.node == "dq_w" for f in report.errors), report.text()


def test_local_function_is_a_warning_from_10_7():
    from synthetic import with_local_function

    report = check(with_local_function(), ["10.13"])
    assert [f.rule for f in report.warnings] == ["LOCAL_FUNCTION"] and report.ok


@pytest.mark.parametrize("release", RELEASES)
def test_tables_cite_sources(release):
    t = table(release)
    assert t["opset"]["source"] and t["ops_source"] and t["onnx_source"]
    for group in ("attributes", "constant_inputs", "outputs"):
        assert t[group] and all(item["source"] for item in t[group])
    assert all(t["qdq"][k] for k in ("types_source", "zero_point_source", "scale_source", "per_channel_source"))
    assert t["plugins"]["dispatch_source"] and t["local_functions"]["source"]
    assert json.loads((TABLES / f"trt-{release}.json").read_text())["release"] == release


def test_release_names():
    assert normalize_release("10.3.0.26") == "10.3" and normalize_release("10.7") == "10.3"
    assert normalize_release("10.13.2") == "10.13" and normalize_release("11.1") == "11"
    assert parse_releases(None) == ("10.3", "10.13") and parse_releases("10.13, 10.3,10.13") == ("10.13", "10.3")
    from edge.errors import InputError

    with pytest.raises(InputError, match="no rule table"):
        normalize_release("8.6")
    with pytest.raises(InputError, match="must look like"):
        normalize_release("ten")


def test_check_imports_no_tensorrt():
    import subprocess
    import sys

    code = ("import sys, edge.export.check, edge.cli.check; from synthetic import relu; edge.export.check.check(relu()); "
            "assert 'tensorrt' not in sys.modules")
    import pathlib

    here = pathlib.Path(__file__).parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=here)
