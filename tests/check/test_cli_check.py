"""``edge check``: report per finding, exit 1 on errors (or warnings with --strict), JSON output."""

from __future__ import annotations

import json

from click.testing import CliRunner
from synthetic import relu, save, scatter_nd, with_local_function

from edge.cli.main import cli, main


def run(*args):
    return CliRunner().invoke(cli, ["check", *args])


def test_clean_file_exits_0(tmp_path):
    res = run(save(relu(), tmp_path / "ok.onnx"))
    assert res.exit_code == 0 and "0 error(s), 0 warning(s)" in res.output


def test_errors_exit_1_and_name_node_rule_release_fix(tmp_path):
    res = run(save(scatter_nd("none"), tmp_path / "bad.onnx"), "--trt", "10.3,10.13")
    assert res.exit_code == 1
    line = next(ln for ln in res.output.splitlines() if ln.startswith("ERROR"))
    assert "[TensorRT 10.3]" in line and "OP_ATTRIBUTE" in line and "'scatter'" in line and "Fix:" in line
    assert "10.13]" not in res.output  # reduction="none" is accepted from 10.9 on


def test_json_output(tmp_path):
    res = run(save(scatter_nd("add"), tmp_path / "bad.onnx"), "--trt", "10.13", "--json")
    data = json.loads(res.output)
    assert res.exit_code == 1 and data["releases"] == ["10.13"] and not data["ok"]
    f = data["findings"][0]
    assert (f["rule"], f["severity"], f["release"], f["node"]) == ("OP_ATTRIBUTE", "error", "10.13", "scatter")
    assert f["fix"] and f["source"]


def test_warnings_exit_0_unless_strict(tmp_path):
    path = save(with_local_function(), tmp_path / "fn.onnx")
    assert run(path, "--trt", "10.13").exit_code == 0
    assert run(path, "--trt", "10.13", "--strict").exit_code == 1


def test_unknown_release_is_a_one_line_error(tmp_path, capsys):
    rc = main(["check", save(relu(), tmp_path / "ok.onnx"), "--trt", "8.6"])
    err = capsys.readouterr().err
    assert rc == 2 and "no rule table for TensorRT 8.6" in err and len(err.strip().splitlines()) == 1
