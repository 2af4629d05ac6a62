"""Aperture photometry: local background, error budget, flags (nothing dropped)."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from xrbid.errors import InputError
from xrbid.photometry import (
    HSTImage,
    OutsideImageWarning,
    aperture_photometry,
    detect_sources,
    flux_column,
    load_image,
)

from .injection import gaussian_star


def _synthetic(sky=100.0, rms=3.0, shape=(200, 200), seed=0, **kwargs) -> HSTImage:
    rng = np.random.default_rng(seed)
    return HSTImage(
        data=sky + rng.normal(0.0, rms, shape), header=fits.Header(), wcs=None, **kwargs
    )


def test_flux_column_names():
    assert flux_column(3) == "flux_r3"
    assert flux_column(3.5, "flux_err") == "flux_err_r3p5"


def test_known_star_on_synthetic_sky_by_hand():
    img = _synthetic(exptime=None, gain=1.0, is_rate=False)
    img.data += gaussian_star(img.shape, 100.2, 99.6, 5000.0, 1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phot = aperture_photometry(img, [[100.2, 99.6]], radii=[3, 6], annulus=(10, 15))
    # the local background (100) is removed; EEF of a Gaussian at 6 pix = 1 - exp(-8)
    assert phot["sky_median"][0] == pytest.approx(100.0, abs=0.5)
    expected = 5000.0 * (1 - math.exp(-(6**2) / (2 * 1.5**2)))
    assert phot["flux_r6"][0] == pytest.approx(expected, abs=3 * phot["flux_err_r6"][0])
    # error by hand: area x rms^2 + Poisson (gain 1, counts) + area^2 sky_std^2 / n_sky
    area = math.pi * 36
    hand = math.sqrt(area * 9.0 + expected + area**2 * 9.0 / phot["sky_npix"][0])
    assert phot["flux_err_r6"][0] == pytest.approx(hand, rel=0.05)


def test_rate_and_counts_images_give_the_same_snr():
    counts = _synthetic(sky=50.0, rms=5.0, exptime=200.0, gain=2.0, is_rate=False)
    counts.data += gaussian_star(counts.shape, 60.0, 70.0, 4000.0, 1.2)
    rate = replace(counts, data=counts.data / 200.0, is_rate=True)
    pc = aperture_photometry(counts, [[60.0, 70.0]], radii=[4], annulus=(8, 12))
    pr = aperture_photometry(rate, [[60.0, 70.0]], radii=[4], annulus=(8, 12))
    assert pc["flux_r4"][0] / 200.0 == pytest.approx(pr["flux_r4"][0], rel=1e-9)
    assert pc["flux_err_r4"][0] / 200.0 == pytest.approx(pr["flux_err_r4"][0], rel=1e-6)
    # Poisson term: 4000 x 2 e- -> sigma = sqrt(8000)/2 counts; must be in the total
    assert pc["flux_err_r4"][0] > math.sqrt(4000.0 * 2.0) / 2.0


def test_positions_outside_are_reported_not_dropped(abell478):
    img = load_image(abell478)
    pos = pd.DataFrame({"x": [10.0, 300.0, -50.0, 700.0], "y": [10.0, 300.0, 20.0, 20.0]})
    with pytest.warns(OutsideImageWarning, match="2 of 4 positions fall outside"):
        phot = aperture_photometry(img, pos, radii=[3], annulus=(6, 10))
    assert len(phot) == 4
    assert phot["flag_outside"].tolist() == [False, False, True, True]
    assert phot["flux_r3"].isna().tolist() == [False, False, True, True]


def test_edge_and_bad_pixel_sources_flagged_not_dropped(abell478):
    img = load_image(abell478)
    data = img.data.copy()
    data[200:203, 400:403] = np.nan
    img = replace(img, data=data)
    pos = np.array([[1.0, 300.0], [401.0, 205.0], [300.0, 300.0], [598.5, 598.5]])
    phot = aperture_photometry(img, pos, radii=[2, 4], annulus=(6, 10))
    assert phot["flag_edge"].tolist() == [True, True, False, True]
    assert np.isfinite(phot["flux_r4"]).all()  # NaN pixels are masked, not propagated


def test_saturated_star_flagged(abell478):
    img = load_image(abell478, saturation=1.0)  # data are counts/s; 1 count/s for the test
    star = gaussian_star(img.shape, 250.0, 250.0, 50.0, 1.0)  # peak about 7.5 counts/s
    img = replace(img, data=img.data + star)
    phot = aperture_photometry(img, [[250.0, 250.0], [120.0, 480.0]], radii=[3], annulus=(6, 10))
    assert phot["flag_saturated"].tolist() == [True, False]
    assert phot["peak"][0] == pytest.approx(
        star.max() + img.data[250, 250] - star[250, 250], rel=1e-6
    )


def test_saturated_stars_in_omegacen_flagged(omegacen):
    img = load_image(omegacen, chip=2)
    found = detect_sources(img, fwhm=1.5, threshold_sigma=10.0)
    phot = aperture_photometry(img, found, radii=[2], annulus=(8, 13))
    assert len(phot) == len(found)  # nothing dropped
    sat = phot["flag_saturated"].to_numpy()
    assert 0 < sat.sum() < len(phot)
    assert (phot.loc[sat, "peak"] >= img.saturation).all()


def test_crowding_flag_and_extended_aperture(abell478):
    img = load_image(abell478)
    pos = np.array([[300.0, 300.0], [305.0, 300.0], [100.0, 100.0]])
    phot = aperture_photometry(
        img, pos, radii=[2], annulus=(6, 10), extended_radius=15.0, crowding_radius=8.0
    )
    assert phot["flag_crowded"].tolist() == [True, True, False]
    assert {"flux_ext", "flux_err_ext", "sky_median_ext"} <= set(phot.columns)
    assert (phot["flux_err_ext"] > phot["flux_err_r2"]).all()


def test_sky_positions_from_another_table(abell478):
    img = load_image(abell478)
    found = detect_sources(img, fwhm=2.0, threshold_sigma=10.0).head(20)
    by_pix = aperture_photometry(img, found[["x", "y"]], radii=[3], annulus=(6, 10))
    by_sky = aperture_photometry(img, found[["ra", "dec"]], radii=[3], annulus=(6, 10))
    np.testing.assert_allclose(by_sky["x"], found["x"], atol=1e-6)
    np.testing.assert_allclose(by_sky["flux_r3"], by_pix["flux_r3"], rtol=1e-6)


def test_bad_arguments(abell478):
    img = load_image(abell478)
    with pytest.raises(InputError, match="radii must be positive"):
        aperture_photometry(img, [[1.0, 1.0]], radii=[0])
    with pytest.raises(InputError, match="annulus"):
        aperture_photometry(img, [[1.0, 1.0]], radii=[3], annulus=(10, 5))
    with pytest.raises(InputError, match=r"x, y .* or ra, dec"):
        aperture_photometry(img, pd.DataFrame({"a": [1.0]}), radii=[3])
