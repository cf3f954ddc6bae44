"""Feeds: seeded random inputs, shape specs, images, .npz round trip."""

from __future__ import annotations

import numpy as np
import pytest

from edge.errors import InputError
from edge.runtime import TensorMeta, image_feed, load_npz, random_feed, save_npz
from edge.runtime.feeds import resolve_shape

META = TensorMeta("input", ("batch", 1, "height", "width"), np.dtype(np.float32))


def test_resolve_shape_defaults_and_checks():
    assert resolve_shape(META) == (1, 1, 224, 224)
    assert resolve_shape(META, (2, 1, 8, 9)) == (2, 1, 8, 9)
    with pytest.raises(InputError, match="does not fit"):
        resolve_shape(META, (1, 3, 8, 9))
    with pytest.raises(InputError, match="--shape"):
        resolve_shape(TensorMeta("a", None, np.dtype(np.float32)))


def test_random_feed_is_seeded_and_typed():
    metas = [META, TensorMeta("idx", (3,), np.dtype(np.int64))]
    a = random_feed(metas, seed=3, shapes={"input": (1, 1, 4, 5)})
    b = random_feed(metas, seed=3, shapes={"input": (1, 1, 4, 5)})
    c = random_feed(metas, seed=4, shapes={"input": (1, 1, 4, 5)})
    np.testing.assert_array_equal(a["input"], b["input"])
    assert not np.array_equal(a["input"], c["input"])
    assert a["input"].dtype == np.float32 and a["idx"].dtype == np.int64


def test_image_feed_grayscale_and_rgb(data_dir):
    cv2 = pytest.importorskip("cv2")
    img = next((data_dir / "opencv").glob("*.jpg"), None)
    if img is None:
        pytest.skip(f"no .jpg in {data_dir / 'opencv'} (run `make data`)")
    gray = image_feed(META, [img, img])["input"]
    ref = cv2.imread(str(img), cv2.IMREAD_GRAYSCALE)
    assert gray.shape == (2, 1) + ref.shape and gray.dtype == np.float32
    np.testing.assert_allclose(gray[0, 0], ref / 255.0, atol=1e-6)
    rgb = image_feed(TensorMeta("x", (1, 3, 32, 48), np.dtype(np.float32)), [img])["x"]
    assert rgb.shape == (1, 3, 32, 48) and 0 <= rgb.min() and rgb.max() <= 1
    with pytest.raises(InputError, match="cannot read image"):
        image_feed(META, [img.with_suffix(".missing")])


def test_npz_round_trip(tmp_path):
    feeds = [{"input": np.arange(4.0).reshape(1, 1, 2, 2)}, {"input": np.ones((1, 1, 2, 2))}]
    path = save_npz(tmp_path / "in.npz", feeds)
    back = load_npz(path)
    assert len(back) == 2 and all(np.array_equal(a["input"], b["input"]) for a, b in zip(feeds, back))
    np.savez(tmp_path / "plain.npz", input=np.zeros(3))
    assert list(load_npz(tmp_path / "plain.npz")[0]) == ["input"]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
