"""Aperture corrections: EEF table values, and the empirical correction on Omega Cen stars."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrbid.errors import CalibrationError
from xrbid.photometry import (
    detect_sources,
    eef,
    eef_correction,
    empirical_aperture_correction,
    load_image,
)


def test_eef_table_values_and_interpolation():
    # published WFC3/UVIS1 F814W: 0.9022 at 0.40", 0.9087 at 0.44"; F555W 0.91094 at 0.40"
    assert eef("WFC3", "UVIS", "F814W", 0.40) == 0.9022
    assert eef("WFC3", "UVIS", "F555W", 0.40) == 0.91094
    assert eef("WFC3", "UVIS", "F814W", 0.42) == pytest.approx((0.9022 + 0.9087) / 2)
    assert eef("WFC3", "UVIS", "F814W", 6.0) == 1.0


def test_eef_correction_sign_and_value():
    # 2.5 log10(0.9022) = -0.11174 mag: the total is brighter than the aperture magnitude
    assert eef_correction(0.9022) == pytest.approx(2.5 * math.log10(0.9022))
    assert eef_correction(0.9022) == pytest.approx(-0.1117, abs=1e-4)
    assert eef_correction(1.0) == 0.0
    with pytest.raises(CalibrationError, match=r"in \(0, 1\]"):
        eef_correction(1.2)


def test_eef_missing_camera_or_radius():
    with pytest.raises(CalibrationError, match="no encircled-energy table for WFPC2 F555W"):
        eef("WFPC2", "1", "F555W", 0.4)
    with pytest.raises(CalibrationError, match="outside the EEF table"):
        eef("WFC3", "UVIS", "F814W", 0.01)


@pytest.fixture(scope="module")
def omegacen_corrections(omegacen):
    out = {}
    for chip in (1, 2, 3, 4):
        img = load_image(omegacen, chip=chip)
        found = detect_sources(img, fwhm=1.5, threshold_sigma=5.0)
        out[chip] = empirical_aperture_correction(img, found, r_small=2.0, r_large=5.0)
    return out


@pytest.mark.slow
def test_omegacen_correction_negative_and_stable(omegacen_corrections):
    for chip, ac in omegacen_corrections.items():
        assert ac.n_stars >= 20, chip
        assert ac.value < 0, chip  # the large aperture holds more light
        assert ac.scatter < 0.06, chip  # scatter reported, and small
        assert ac.error == pytest.approx(1.2533 * ac.scatter / math.sqrt(ac.n_stars))
        # the median is the median of the per-star values reported
        assert ac.value == pytest.approx(float(np.median(ac.stars["apcorr"])))


@pytest.mark.slow
def test_omegacen_wf_chips_agree(omegacen_corrections):
    # The three WF chips (0.1"/pixel) see the same PSF in pixels: same correction
    wf = [omegacen_corrections[c].value for c in (2, 3, 4)]
    assert max(wf) - min(wf) < 0.05


@pytest.mark.slow
def test_omegacen_pc_needs_a_larger_correction(omegacen_corrections):
    # The PC (0.046"/pixel) spreads the same PSF over 2.2x more pixels: r = 2 pix misses more
    pc = omegacen_corrections[1].value
    assert pc < min(omegacen_corrections[c].value for c in (2, 3, 4)) - 0.05


@pytest.mark.slow
def test_omegacen_halves_agree_within_errors(omegacen_corrections):
    ac = omegacen_corrections[3]
    values = ac.stars["apcorr"].to_numpy()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(values))
    a, b = values[idx[: len(values) // 2]], values[idx[len(values) // 2 :]]
    assert abs(np.median(a) - np.median(b)) < 3 * math.hypot(
        1.2533 * ac.scatter / math.sqrt(len(a)), 1.2533 * ac.scatter / math.sqrt(len(b))
    )


@pytest.mark.slow
def test_stars_chosen_are_isolated_unsaturated(omegacen, omegacen_corrections):
    ac = omegacen_corrections[2]
    stars = ac.stars
    assert not stars["flag_saturated"].any() and not stars["flag_edge"].any()
    assert (stars["snr"] >= 50).all()


def test_too_few_stars_is_a_clear_error(candels):
    img = load_image(candels, ext=1)
    found = detect_sources(img, fwhm=3.0)
    with pytest.raises(CalibrationError, match="--apcorr VALUE"):
        empirical_aperture_correction(img, found, r_small=3.0, r_large=10.0)
