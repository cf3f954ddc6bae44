"""The stereo source of the camera pipeline: lock-step reads and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edge.camera.stereo import StereoError, StereoSource


def _write(folder, n, size=(20, 30), start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((*size, 3), 10 * (i + start), np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), img)
    return folder


def test_pair_of_folders_gives_side_by_side_frames(tmp_path):
    left, right = _write(tmp_path / "L", 2), _write(tmp_path / "R", 2, start=5)
    src = StereoSource.open_pair(str(left), str(right))
    f = src.read()
    assert f.shape == (20, 60, 3) and f[0, 0, 0] == 0 and f[0, 30, 0] == 50
    assert src.read() is not None and src.read() is None
    src.close()


def test_folders_of_different_lengths_are_refused_at_open(tmp_path):
    left, right = _write(tmp_path / "L", 3), _write(tmp_path / "R", 2)
    with pytest.raises(StereoError, match="holds 3 images but the right folder .* holds 2"):
        StereoSource.open_pair(str(left), str(right))


def test_missing_right_frame_while_left_goes_on(tmp_path):
    left = _write(tmp_path / "L", 2)
    right = tmp_path / "right.png"
    cv2.imwrite(str(right), np.zeros((20, 30, 3), np.uint8))
    src = StereoSource.open_pair(str(left), str(right))
    assert src.read().shape == (20, 60, 3)
    with pytest.raises(StereoError, match="right input has no frame 1 while the left input goes on"):
        src.read()


def test_size_mismatch_is_a_clear_error(tmp_path):
    left, right = _write(tmp_path / "L", 1), _write(tmp_path / "R", 1, size=(20, 32))
    src = StereoSource.open_pair(str(left), str(right))
    with pytest.raises(StereoError, match="left is 30x20x3 but right is 32x20x3"):
        src.read()


def test_missing_input_and_odd_side_by_side_width(tmp_path):
    from edge.errors import PipelineError

    with pytest.raises(PipelineError, match="does not exist"):
        StereoSource.open_pair(str(tmp_path / "nope"), str(tmp_path / "nope2"))
    sbs = _write(tmp_path / "S", 1, size=(20, 31))
    with pytest.raises(StereoError, match="not an even width"):
        StereoSource.side_by_side(str(sbs)).read()


def test_edge_run_reports_a_size_mismatch_in_one_line(tmp_path, capsys):
    from edge.cli.main import main

    left, right = _write(tmp_path / "L", 3), _write(tmp_path / "R", 2)
    rc = main(["run", "edge.stereo:side_by_side_matcher", "--source", str(left), "--right", str(right)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: the left folder") and len(err.strip().splitlines()) == 1


def test_edge_run_writes_a_disparity_video_and_stage_times(tmp_path, capsys):
    from edge.cli.main import main

    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (40, 80, 3), dtype=np.uint8), (3, 3), 0)
    for i in range(2):
        (tmp_path / "L").mkdir(exist_ok=True), (tmp_path / "R").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "L" / f"{i}.png"), base[:, 8:72])
        cv2.imwrite(str(tmp_path / "R" / f"{i}.png"), base[:, 12:76])
    rc = main(["run", "edge.stereo:side_by_side_matcher", "--source", str(tmp_path / "L"), "--right",
               str(tmp_path / "R"), "--sink", str(tmp_path / "out.mp4"), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert rc == 0 and "2 frames out of 2" in out and "matcher sgm" in out
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (40, 128)  # left view | colour disparity
    assert (tmp_path / "run" / "stereo_stages.json").is_file()
