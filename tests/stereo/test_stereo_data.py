"""Stereo data: ground-truth scale checked against the images, clear errors, metric definitions."""

from __future__ import annotations

import numpy as np
import pytest

from edge.errors import InputError
from edge.stereo.data import aloe, data_dir
from edge.stereo.evaluate import disparity_errors


def test_missing_aloe_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError, match="Aloe stereo pair is missing .*install_data.sh.*EDGE_DATA_DIR"):
        aloe()


@pytest.mark.skipif(not (data_dir() / "opencv" / "aloeGT.png").is_file(), reason="Aloe not installed (make data)")
def test_aloe_ground_truth_is_in_pixels_of_the_full_size_pair():
    p = aloe(1.0)
    ys, xs = np.nonzero(np.isfinite(p.disparity))

    def median_diff(factor):
        xr = np.round(xs - p.disparity[ys, xs] * factor).astype(int)
        ok = (xr >= 0) & (xr < p.left.shape[1])
        return float(np.median(np.abs(p.left[ys[ok], xs[ok]] - p.right[ys[ok], xr[ok]])))

    assert median_diff(1.0) < 0.03 < median_diff(0.5) and median_diff(1.0) < 0.03 < median_diff(2.0)


def test_motorcycle_is_the_quarter_size_pair_with_inf_unknown():
    pytest.importorskip("skimage")
    from edge.stereo.data import motorcycle

    p = motorcycle()
    assert p.left.shape == p.right.shape == p.disparity.shape == (500, 741)
    assert np.isinf(p.disparity).any() and 55 < p.max_disp <= 64


def test_bad_pixel_rates_and_average_error_on_known_pixels_only():
    gt = np.array([[1.0, 2.0, np.inf, 4.0]])
    disp = np.array([[1.0, 3.5, 0.0, np.nan]])
    e = disparity_errors(disp, gt)
    assert e["known_pixels"] == 3
    assert e["bad_1"] == pytest.approx(200 / 3) and e["bad_2"] == pytest.approx(100 / 3)
    assert e["avgerr"] == pytest.approx((0 + 1.5 + 4.0) / 3)  # a non-finite prediction costs max(gt)
    with pytest.raises(InputError, match="differ in shape"):
        disparity_errors(disp[:, :2], gt)
