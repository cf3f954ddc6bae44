"""A missing optional dependency is a DependencyError that names the extra to install, for each extra's entry points.

Each case runs edge in a subprocess where the module is made unimportable (``sys.modules[name] = None``), as in a
base install (``pip install -e .``) without that extra.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from edge.samples import demo_video

CASES = [  # (modules hidden, edge argv, the install step the error must name)
    (["onnxscript"], ["export", "edge.dense:basenet", "-p", "15", "-o", "{tmp}/x.onnx"], "edge[onnx]"),
    (["onnx", "onnxscript"], ["export", "edge.dense:basenet", "-p", "15", "-o", "{tmp}/x.onnx"], "edge[onnx]"),
    (["onnxruntime"], ["bench", "{onnx}", "-n", "1", "--rounds", "1", "--no-plots", "--out", "{tmp}/b"], "edge[onnx]"),
    (["onnxruntime"], ["compare", "{onnx}", "{onnx}"], "edge[onnx]"),
    (["cv2"], ["run", "{onnx}", "--source", "{video}"], "edge[vision]"),
    (["skimage"], ["quantize", "{onnx}", "-r", "mobilenetv2-imagenet", "-c", "skimage", "-o", "{tmp}/q.onnx"],
     "edge[vision]"),
]


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    import torch

    path = tmp_path_factory.mktemp("m") / "tiny.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 2, 3), (torch.zeros(1, 3, 16, 16),), str(path), dynamo=False,
                      input_names=["input"])
    return path


@pytest.mark.parametrize("hidden, argv, extra", CASES, ids=[" ".join(c[1][:1] + c[0]) for c in CASES])
def test_missing_extra_is_named(tmp_path, tiny_onnx, hidden, argv, extra):
    code = textwrap.dedent(f"""
        import sys
        for name in {hidden!r}:
            sys.modules[name] = None  # import of it raises ImportError, as when it is not installed
        from edge.cli.main import main
        sys.exit(main({[a.format(tmp=tmp_path, onnx=tiny_onnx, video=demo_video()) for a in argv]!r}))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and extra in r.stderr, r.stderr
    assert not list(tmp_path.glob("*.onnx")) and not (tmp_path / "b").exists()
