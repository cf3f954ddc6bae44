"""Every ONNX file the test suite made for TensorRT (plugin and portable exports, trt-scheme INT8, FP16)
passes the TensorRT check for 10.3 and 10.13. cpu-u8 files are CPU-only by design and left out.

Runs last (marker ``after_exports``), over the files of every test of this run (tests/conftest.py)."""

from __future__ import annotations

import json

import pytest

from edge.export.check import check


@pytest.mark.after_exports
def test_every_exported_file_passes_the_trt_check(exported_onnx, tmp_path_factory):
    files = exported_onnx.files()
    meant = [(p, k) for p, k in files if k in exported_onnx.TRT_KINDS]
    if not meant:
        pytest.skip("no test of this run exported an ONNX file for TensorRT")
    failures, listing = [], []
    for path, kind in meant:
        report = check(path, ["10.3", "10.13"])
        listing.append({"file": str(path.relative_to(exported_onnx.root)), "kind": kind,
                        "errors": len(report.errors), "warnings": len(report.warnings)})
        failures += [f"{path.name}: {f.line()}" for f in report.errors]
    skipped = [{"file": str(p.relative_to(exported_onnx.root)), "kind": k}
               for p, k in files if k not in exported_onnx.TRT_KINDS]
    out = tmp_path_factory.getbasetemp() / "trt_check_files.json"
    out.write_text(json.dumps({"checked": listing, "not_for_tensorrt": skipped}, indent=1))
    print(f"\nTensorRT check: {len(meant)} files checked ({out})")
    assert not failures, "\n".join(failures[:20])
