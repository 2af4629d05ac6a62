"""The formulas of dophot3's special terms, checked against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from xrbid.calibration.special_terms import rational, subpixel, universal_colour

# four catalogue filters, bluest first; the reference (standard) filter is the second
MAGS = np.array([[18.9, 18.2, 17.8, 17.5], [16.0, 16.3, 16.4, 16.9]])


def _deltas(mags):
    return mags[:, 1] - mags[:, 0], mags[:, 2] - mags[:, 1], mags[:, 3] - mags[:, 2]


def _interpolated_band(mags, position):
    """Magnitude of a band at a fractional filter position, by linear interpolation over the
    filter index (extrapolating the end intervals), written out by hand."""
    k = int(np.clip(np.floor(position), 0, mags.shape[1] - 2))
    return mags[:, k] + (position - k) * (mags[:, k + 1] - mags[:, k])


@pytest.mark.parametrize("v", [-1.4, -1.0, -0.3, 0.0, 0.25, 0.5, 1.0, 1.7, 2.0])
def test_xc_is_the_interpolated_band_minus_the_reference(v):
    expected = _interpolated_band(MAGS, 1 + v) - MAGS[:, 1]
    assert np.allclose(universal_colour(v, *_deltas(MAGS)), expected)


@pytest.mark.parametrize("v", [-2.0, -0.5, 0.0, 1.0, 1.5, 2.5])
def test_sc_equals_xc_at_filters_and_outside_the_blends(v):
    d = _deltas(MAGS)
    assert np.allclose(universal_colour(v, *d, smooth=True), universal_colour(v, *d))


@pytest.mark.parametrize("join", [-0.5, 0.5, 1.5])
def test_sc_is_continuous_at_its_joins(join):
    d = _deltas(MAGS)
    left = universal_colour(join - 1e-9, *d, smooth=True)
    right = universal_colour(join + 1e-9, *d, smooth=True)
    assert np.allclose(left, right, atol=1e-7)


def test_sc_blends_the_two_slopes_at_the_midpoint():
    # at v = 1/4: sin(pi/4) = 0.7071 -> w1 = 0.1464, w2 = 0.8536
    below, above, beyond = _deltas(MAGS)
    w1, w2 = (1 - np.sqrt(0.5)) / 2, (1 + np.sqrt(0.5)) / 2
    expected = 0.25 * (w1 * below + w2 * above)
    assert np.allclose(universal_colour(0.25, below, above, beyond, smooth=True), expected)


def test_subpixel_phase():
    x = np.array([3.0, 3.5, 3.25, -0.5])
    assert np.allclose(subpixel(x=x), [0.0, 1.0, np.sin(np.pi / 4), 1.0])
    y = np.array([7.5, 7.5, 7.0, 2.25])
    assert np.allclose(subpixel(y=y), [1.0, 1.0, 0.0, np.sin(np.pi / 4)])
    assert np.allclose(subpixel(x=x, y=y), [0.0, 1.0, 0.0, np.sin(np.pi / 4)])
    with pytest.raises(ValueError):
        subpixel()


def test_rational_by_hand():
    # u = N0 + RO - N = -9 + 0.5 - N
    n = np.array([-12.0, -8.5, -6.0])
    u = np.array([3.5, 0.0, -2.5])
    assert np.allclose(rational(n, -9.0, 0.5, 0.2), u / (1 + 0.2 * u**2))
    # no curvature: linear in N with slope -1
    assert np.allclose(rational(n, -9.0, 0.0, 0.0), -9.0 - n)
