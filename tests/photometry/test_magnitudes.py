"""Calibrated magnitudes on one image: zero point + aperture corrections, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrbid.photometry import (
    NoInfiniteApertureWarning,
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
    # ACS/WFC F814W: AB - Vega = 4.52 - 4.10 (FSPS solar magnitudes)
    np.testing.assert_allclose(m.loc[ok, "mag_vega"] - m.loc[ok, "mag_ab"], -0.42)
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
    m = measure_magnitudes(img, [[400.0, 400.0], [200.0, 650.0]], radius=2.0, apcorr=None)
    np.testing.assert_allclose(m["rate"], m["flux_r2"] / 100.0)  # EXPTIME = 100 s


def test_auto_apcorr_without_eef_table_warns(omegacen):
    img = load_image(omegacen, chip=3)
    with pytest.warns(NoInfiniteApertureWarning, match="WFPC2 F555W"):
        m = measure_magnitudes(img, [[400.0, 400.0]], radius=2.0, large_radius=5.0, fwhm=1.5)
    apc = m.attrs["apcorr"]
    assert apc["mode"] == "auto" and math.isnan(apc["infinite"])
    assert apc["value"] == apc["empirical"]["value"] < 0


def test_eef_term_applied_when_given(omegacen):
    img = load_image(omegacen, chip=3)
    m = measure_magnitudes(
        img, [[400.0, 400.0]], radius=2.0, large_radius=5.0, fwhm=1.5, eef_value=0.9
    )
    apc = m.attrs["apcorr"]
    assert apc["infinite"] == pytest.approx(2.5 * math.log10(0.9))
    assert apc["value"] == pytest.approx(apc["empirical"]["value"] + 2.5 * math.log10(0.9))


def _wfc3_uvis_f814w_image(seed=4):
    """A synthetic WFC3/UVIS F814W frame (seeded): 0.04"/pixel WCS, sky noise, bright stars."""
    from astropy.io import fits
    from astropy.wcs import WCS

    from xrbid.photometry import HSTImage

    from .injection import gaussian_star

    rng = np.random.default_rng(seed)
    shape = (300, 300)
    data = rng.normal(0.5, 0.05, shape)
    for k in range(25):
        x0, y0 = 30 + 60 * (k % 5) + rng.uniform(-2, 2), 30 + 60 * (k // 5) + rng.uniform(-2, 2)
        data += gaussian_star(shape, x0, y0, 2000.0 * (1 + k % 3), 1.0)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crpix = [150.0, 150.0]
    wcs.wcs.crval = [210.8, 54.35]
    wcs.wcs.cdelt = [-0.04 / 3600, 0.04 / 3600]
    header = fits.Header(
        {
            "INSTRUME": "WFC3",
            "DETECTOR": "UVIS",
            "FILTER": "F814W",
            "EXPTIME": 500.0,
            "BUNIT": "ELECTRONS/S",
            "PHOTFLAM": 1.5e-19,
            "PHOTPLAM": 8045.0,
        }
    )
    return HSTImage(
        data=data,
        header=header,
        wcs=wcs,
        instrument="WFC3",
        detector="UVIS",
        filter="F814W",
        exptime=500.0,
        gain=1.0,
        is_rate=True,
    )


def _pixelated_growth(r_small: float, r_large: float, sub: int = 20) -> float:
    """-2.5 log10(F(r_large) / F(r_small)) of a pixel-integrated Gaussian (sigma 1 pixel)."""
    from .injection import gaussian_star

    x0, y0 = 40.3, 40.2
    star = gaussian_star((81, 81), x0, y0, 1.0, 1.0)
    fine = np.kron(star, np.ones((sub, sub))) / sub**2  # each pixel split, flux kept
    centres = (np.arange(81 * sub) + 0.5) / sub - 0.5
    r = np.hypot(centres[None, :] - x0, centres[:, None] - y0)
    return -2.5 * math.log10(fine[r <= r_large].sum() / fine[r <= r_small].sum())


def test_wfc3_uvis_eef_and_vega_from_ab_and_offset():
    img = _wfc3_uvis_f814w_image()
    m = measure_magnitudes(img, [[90.0, 90.0]], radius=3.0, fwhm=2.35)
    apc = m.attrs["apcorr"]
    # default large radius 0.4" = 10 pixels: published UVIS1 F814W EEF(0.40") = 0.9022
    assert m.attrs["large_radius_pix"] == pytest.approx(10.0)
    assert apc["infinite"] == pytest.approx(2.5 * math.log10(0.9022))
    assert apc["empirical"]["n_stars"] >= 10 and apc["empirical"]["value"] < 0
    assert apc["value"] == pytest.approx(apc["empirical"]["value"] + apc["infinite"])
    # the same pixelated star, summed by brute force on 20x20 sub-pixels within 3 and 10 pix
    assert apc["empirical"]["value"] == pytest.approx(_pixelated_growth(3.0, 10.0), abs=0.003)
    zp = m.attrs["zeropoints"]
    # WFC3/UVIS F814W: AB - Vega = 4.52 - 4.11 (FSPS solar magnitudes); the 2020 WFC3 table's
    # UVIS1 Vega zero point (24.6985) is within 0.02 of this synthetic image's AB - 0.41
    assert zp["vega"] == pytest.approx(zp["ab"] - 0.41, abs=1e-9)
    assert zp["vega"] == pytest.approx(24.6985, abs=0.02)
    np.testing.assert_allclose(m["mag_vega"] - m["mag_ab"], -0.41, atol=1e-9)
