"""Calibration sources: folders, videos, .npz, offline datasets; batching through a recipe."""

from __future__ import annotations

import numpy as np
import pytest

from edge.core import frames as data
from edge.core.recipe import Recipe
from edge.errors import InputError


def test_folder_npz_and_video(tmp_path, data_dir):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    for i, im in enumerate(imgs):
        cv2.imwrite(str(tmp_path / f"{i}.png"), im)
    (tmp_path / "notes.txt").write_text("not an image")
    fs = data.load(tmp_path)
    assert len(fs) == 3 and all(np.array_equal(a, b) for a, b in zip(fs.frames, imgs))
    np.savez(tmp_path / "set.npz", images=imgs, labels=np.array([1, 2, 3]))
    z = data.load(tmp_path / "set.npz")
    assert len(z) == 3 and list(z.labels) == [1, 2, 3] and z.sha256() != fs.sha256()
    if (data_dir / "opencv" / "vtest.avi").exists():
        v = data.load("opencv:vtest.avi@10", limit=5)
        assert len(v) == 5 and v.frames[0].shape == (576, 768, 3)


def test_offline_sets_and_split():
    sk = data.load("skimage")
    assert len(sk) >= 5 and all(f.ndim == 3 for f in sk.frames)
    a, b = sk.split(3)
    assert len(a) == 3 and len(a) + len(b) == len(sk)
    both = a + b
    assert both.sha256() == sk.sha256()
    feeds = list(data.batches(Recipe.load("mobilenetv2-imagenet"), sk, batch_size=4))
    assert [f["input"].shape[0] for f in feeds] == [4, 4, len(sk) - 8][: len(feeds)]


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        data.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        data.load(tmp_path / "empty")
    (tmp_path / "x.avi").write_bytes(b"garbage")
    with pytest.raises(InputError, match="(cannot open|no frames)"):
        data.load(tmp_path / "x.avi")
    np.savez(tmp_path / "f.npz", x=np.zeros((2, 4, 4), np.float32))
    with pytest.raises(InputError, match="uint8"):
        data.load(tmp_path / "f.npz")
