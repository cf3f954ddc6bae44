"""``edge export``: module:factory and saved DenseNet inputs, both modes, --verify, and its errors."""

from __future__ import annotations

import onnx

from edge.cli.main import main
from edge.dense import basenet, to_dense  # noqa: F401


def test_export_factory_with_patch_size_plugins(tmp_path, capsys):
    out = tmp_path / "basenet.onnx"
    rc = main(
        [
            "export",
            "edge.dense:basenet",
            "-p",
            "15",
            "-o",
            str(out),
            "--static",
            "--input-shape",
            "1x1x20x24",
            "--verify",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "plugins: EdgeMultiPoolUnwarp" in text and "input 1x1x20x24" in text
    err = float(text.split("max abs error")[1].split()[0])
    assert err < 1e-4
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["source"] == "edge.dense:basenet" and props["mode"] == "plugins"


def test_export_saved_dense_net_portable(tmp_path, capsys):
    saved = tmp_path / "dense.pt"
    assert main(["dense", "convert", "edge.dense:basenet", "-p", "15", "-o", str(saved)]) == 0  # an edge checkpoint
    out = tmp_path / "dense.onnx"
    rc = main(["export", str(saved), "-o", str(out), "--portable", "--static", "--input-shape", "2x1x17x19"])
    text = capsys.readouterr().out
    assert rc == 0, text
    model = onnx.load(str(out))
    assert not [n for n in model.graph.node if n.domain] and "mode portable" in text


def test_errors(tmp_path, capsys):
    assert main(["export", "no.such.module:factory", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "error:" in capsys.readouterr().err
    # a plain (non-dense) network needs an example shape
    rc = main(["export", "edge.dense:basenet", "-o", str(tmp_path / "y.onnx")])
    assert rc == 2 and "--input-shape" in capsys.readouterr().err
    rc = main(["export", "edge.dense:basenet", "-o", str(tmp_path / "z.onnx"), "--input-shape", "1xAx3"])
    assert rc == 2
    assert list(tmp_path.iterdir()) == []
