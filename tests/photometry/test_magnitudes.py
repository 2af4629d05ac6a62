"""Calibrated magnitudes on one image: zero point + aperture corrections, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrbid.photometry import (
    NoInfiniteApertureWarning,
    UnknownVegaFilterWarning,
    detect_sources,
    load_image,
    measure_magnitudes,
)


@pytest.fixture(scope="module")
def candels_f814w(candels):
    return load_image(candels, ext=2)


def test_magnitude_is_zeropoint_minus_2p5_log_rate(candels_f814w):
    img = candels_f814w
    found = detect_sources(img, fwhm=3.0)
    with pytest.warns(UserWarning, match="no EXPTIME"):
        m = measure_magnitudes(img, found, radius=4.0, apcorr=None)
    zp_ab = -2.5 * math.log10(7.0073061e-20) - 21.10 - 5 * math.log10(8059.3491) + 18.692
    ok = m["rate"] > 0
    np.testing.assert_allclose(m.loc[ok, "mag_ab"], -2.5 * np.log10(m.loc[ok, "rate"]) + zp_ab)
    np.testing.assert_allclose(m.loc[ok, "mag_vega"] - m.loc[ok, "mag_ab"], 25.501 - zp_ab)
    assert m.loc[~ok, "mag_ab"].isna().all()


def test_explicit_apcorr_and_zeropoint(candels_f814w):
    pos = np.array([[29.5, 8.8], [14.5, 4.0]])
    with pytest.warns(UserWarning):
        base = measure_magnitudes(candels_f814w, pos, radius=4.0, apcorr=None)
        corr = measure_magnitudes(candels_f814w, pos, radius=4.0, apcorr=-0.25, zeropoint=26.0)
    np.testing.assert_allclose(corr["mag_ab"] - base["mag_ab"], -0.25)
    np.testing.assert_allclose(corr["mag"], -2.5 * np.log10(corr["rate"]) + 26.0 - 0.25)


def test_counts_image_divided_by_exptime(omegacen):
    img = load_image(omegacen, chip=2)
    with pytest.warns(UnknownVegaFilterWarning):
        m = measure_magnitudes(img, [[400.0, 400.0], [200.0, 650.0]], radius=2.0, apcorr=None)
    np.testing.assert_allclose(m["rate"], m["flux_r2"] / 100.0)  # EXPTIME = 100 s


def test_auto_apcorr_without_eef_table_warns(omegacen):
    img = load_image(omegacen, chip=3)
    with (
        pytest.warns(NoInfiniteApertureWarning, match="WFPC2 F555W"),
        pytest.warns(UnknownVegaFilterWarning),
    ):
        m = measure_magnitudes(img, [[400.0, 400.0]], radius=2.0, large_radius=5.0, fwhm=1.5)
    apc = m.attrs["apcorr"]
    assert apc["mode"] == "auto" and math.isnan(apc["infinite"])
    assert apc["value"] == apc["empirical"]["value"] < 0


def test_eef_term_applied_when_given(omegacen):
    img = load_image(omegacen, chip=3)
    with pytest.warns(UnknownVegaFilterWarning):
        m = measure_magnitudes(
            img, [[400.0, 400.0]], radius=2.0, large_radius=5.0, fwhm=1.5, eef_value=0.9
        )
    apc = m.attrs["apcorr"]
    assert apc["infinite"] == pytest.approx(2.5 * math.log10(0.9))
    assert apc["value"] == pytest.approx(apc["empirical"]["value"] + 2.5 * math.log10(0.9))
