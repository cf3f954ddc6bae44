"""Live sources against a real GStreamer-enabled OpenCV (Debian's python3-opencv) and real GStreamer.

PyPI's OpenCV wheels have no GStreamer, so these tests run edge's source code under the system Python
(``/usr/bin/python3`` or ``$EDGE_GST_PYTHON``), whose ``cv2`` and ``gi`` come from the distribution:
``apt-get install python3-opencv python3-gi gir1.2-gstreamer-1.0 gstreamer1.0-plugins-base
gstreamer1.0-plugins-good`` (.ci/run installs them when it runs as root). Debian 12's python3-opencv is
OpenCV 4.6, like Ubuntu 24.04's: the release whose GStreamer backend refuses the open/read timeouts.
Without those packages every test here skips and says which are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = os.environ.get("EDGE_GST_PYTHON", "/usr/bin/python3")
APT = "python3-opencv python3-gi gir1.2-gstreamer-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
TEST_PIPE = "videotestsrc num-buffers=30 ! videoconvert ! video/x-raw,format=BGR ! appsink"

_PROBE = """
import json, cv2, gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
gst = [ln for ln in cv2.getBuildInformation().splitlines() if "GStreamer" in ln]
print(json.dumps({"cv2": cv2.__version__, "gstreamer": bool(gst) and "YES" in gst[0],
                  "elements": {e: Gst.ElementFactory.find(e) is not None
                               for e in ("videotestsrc", "appsink", "parsebin", "decodebin", "rtspsrc")}}))
"""


def run_system(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONNOUSERSITE="1")
    return subprocess.run([SYSTEM_PYTHON, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO, check=False)


@pytest.fixture(scope="module")
def system_gst() -> dict:
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip(f"{SYSTEM_PYTHON} not found (set EDGE_GST_PYTHON to a Python with GStreamer OpenCV)")
    res = run_system(_PROBE, timeout=60)
    if res.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} has no cv2/gi with GStreamer ({res.stderr.strip().splitlines()[-1:]}): "
                    f"apt-get install {APT}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    missing = [e for e, ok in info["elements"].items() if not ok]
    if not info["gstreamer"] or missing:
        pytest.skip(f"system OpenCV {info['cv2']} GStreamer={info['gstreamer']}, missing elements {missing}: "
                    f"apt-get install {APT}")
    return info


def test_gst_source_opens_and_delivers_every_frame(system_gst):
    """The source opens on the distribution's OpenCV (4.6 here: no timeout parameters) and reads 30 frames."""
    res = run_system(f"""
        import json
        from edge.camera.sources import open_source, SourceError
        import cv2
        src = open_source({("gst://" + TEST_PIPE)!r}, timeout_s=2)
        n, shape = 0, None
        while True:
            try:
                frame = src.read()
            except SourceError:
                break
            if frame is None:
                break
            n, shape = n + 1, frame.shape
        src.close()
        from edge.camera.sources import capture_params
        print(json.dumps({{"frames": n, "shape": shape, "params": capture_params(cv2.CAP_GSTREAMER, 2)}}))
    """)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["frames"] == 30 and out["shape"] == [240, 320, 3]
    if tuple(int(x) for x in system_gst["cv2"].split(".")[:2]) < (4, 7):
        assert out["params"] == []  # the release that would refuse them ("can't set property 53")


def test_csi_and_rtsp_pipelines_parse_with_stand_ins(system_gst):
    """edge's CSI and RTSP pipeline strings are valid gst-launch syntax: NVIDIA's elements replaced by
    stand-ins with the same pads, every other element real. The CSI stand-in also plays through OpenCV."""
    res = run_system("""
        import json, re, cv2, gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
        from edge.camera.sources import csi_pipeline, rtsp_pipeline
        Gst.init(None)

        def stand_in(pipe):
            pipe = re.sub(r"nvarguscamerasrc sensor-id=\\d+", "videotestsrc num-buffers=5", pipe)
            pipe = pipe.replace("(memory:NVMM)", "").replace("format=NV12", "format=I420")
            pipe = re.sub(r"nvvidconv flip-method=(\\d+)", r"videoflip method=\\1 ! videoconvert", pipe)
            return pipe.replace("nvvidconv", "videoconvert").replace("nvv4l2decoder", "decodebin")

        def elements(pipeline):
            found = []
            pipeline.iterate_elements().foreach(found.append)
            return found

        out = {}
        csi = stand_in(csi_pipeline(0, 320, 240, 30, 2))
        Gst.parse_launch(csi)
        cap = cv2.VideoCapture(csi, cv2.CAP_GSTREAMER)
        ok, frame = cap.read()
        out["csi_frame"] = list(frame.shape) if ok else None
        cap.release()
        url = 'rtsp://user:pw@192.0.2.1:554/my stream "main"'
        for decoder in ("nvv4l2decoder", "decodebin"):
            pipe = rtsp_pipeline(url) if decoder == "nvv4l2decoder" else rtsp_pipeline(url, decoder=decoder)
            p = Gst.parse_launch(stand_in(pipe))
            src = [e for e in elements(p) if e.get_factory().get_name() == "rtspsrc"][0]
            out[decoder] = src.get_property("location")
            out[decoder + "_elements"] = sorted(e.get_factory().get_name() for e in elements(p))
        print(json.dumps(out))
    """)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["csi_frame"] == [240, 320, 3]
    for decoder in ("nvv4l2decoder", "decodebin"):
        assert out[decoder] == 'rtsp://user:pw@192.0.2.1:554/my stream "main"'  # one value, spaces and quotes kept
        assert "parsebin" in out[decoder + "_elements"] and not any("264" in e for e in out[decoder + "_elements"])


@pytest.fixture(scope="module")
def gst_venv(system_gst, tmp_path_factory) -> Path:
    """A venv over the system site-packages (its GStreamer cv2 and numpy), as on a Jetson, with torch
    (the Makefile's TORCH_SPEC, the CPU wheel on our machines' disk), ONNX Runtime and edge's light
    dependencies installed under a constraint that keeps the system's numpy."""
    venv = tmp_path_factory.mktemp("gstvenv")
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    numpy = subprocess.run([str(py), "-c", "import numpy; print(numpy.__version__)"], capture_output=True,
                           text=True, check=True).stdout.strip()
    (venv / "keep.txt").write_text(f"numpy=={numpy}\n")
    torch = os.environ.get("TORCH_SPEC") or "torch==2.13.0"
    pkgs = [torch, "onnxruntime", "onnx", "click>=8.1", "tqdm", "psutil", "pyyaml"]
    pip = [str(py), "-m", "pip", "install", "-q", "-c", str(venv / "keep.txt")]
    plan = subprocess.run([*pip, "--dry-run", "--report", "-", *pkgs], capture_output=True, text=True, timeout=600,
                          check=False)
    names = [i["metadata"]["name"] for i in json.loads(plan.stdout or "{}").get("install", [])]
    if plan.returncode != 0 or any(n.startswith("nvidia-") for n in names):
        pytest.skip(f"{torch} would come with CUDA packages {[n for n in names if n.startswith('nvidia-')]} or not "
                    f"resolve ({plan.stderr.strip().splitlines()[-1:]}): put the CPU wheel in pip's find-links")
    res = subprocess.run([*pip, *pkgs], capture_output=True, text=True, timeout=900, check=False)
    if res.returncode != 0:
        pytest.skip(f"could not install {torch} and onnxruntime into the system-Python venv (PyPI unreachable?): "
                    f"{res.stderr.strip().splitlines()[-1:]}")
    return py


@pytest.mark.slow
def test_edge_run_on_a_gstreamer_pipeline(gst_venv, tiny_onnx, tmp_path):
    """`python -m edge run MODEL --source gst://...` on the GStreamer OpenCV: all 30 frames go through."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONNOUSERSITE="1", OMP_NUM_THREADS="1")
    res = subprocess.run([str(gst_venv), "-m", "edge", "run", str(tiny_onnx), "--source", "gst://" + TEST_PIPE,
                          "--size", "24x32", "--max-frames", "30", "--policy", "block", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    row = json.loads((tmp_path / "run.json").read_text())["results"][0]
    assert row["frames"]["captured"] == 30 and row["frames"]["output"] == 30 and row["live"] is True
    assert row["input_queue_size"] == 1  # a live source's input queue holds the freshest frame only


def test_rtsp_decode_chain_takes_any_rtp_codec(system_gst):
    """Everything after rtspsrc in edge's RTSP pipeline (parsebin, decoder, conversion, appsink) on a real RTP
    stream: RTP/JPEG here (H.264/H.265 encoders are not in gstreamer1.0-plugins-base/good), which the old
    rtph264depay ! h264parse chain could not negotiate. parsebin picks the depayloader for the caps."""
    res = run_system("""
        import json, cv2
        from edge.camera.sources import rtsp_pipeline
        pipe = rtsp_pipeline("rtsp://192.0.2.1/cam", decoder="decodebin")
        tail = pipe[pipe.index("! parsebin"):].replace("appsink drop=true max-buffers=1 sync=false", "appsink")
        rtp = "videotestsrc num-buffers=10 ! video/x-raw,format=I420,width=64,height=48 ! jpegenc ! rtpjpegpay "
        cap = cv2.VideoCapture(rtp + tail, cv2.CAP_GSTREAMER)
        n = 0
        while cap.read()[0]:
            n += 1
        print(json.dumps({"opened": cap.isOpened(), "frames": n}))
    """)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.strip().splitlines()[-1])["frames"] == 10
