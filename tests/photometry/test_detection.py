"""Detection: background first, positions consistent with the WCS, tiles, bad pixels."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from xrbid.errors import InputError
from xrbid.photometry import PixelOnlyWarning, detect_sources, load_image

from .injection import gaussian_star


@pytest.fixture(scope="module")
def a478(abell478):
    return load_image(abell478)


@pytest.fixture(scope="module")
def a478_sources(a478):
    return detect_sources(a478, fwhm=2.0, threshold_sigma=5.0)


def test_sky_positions_round_trip_through_header_wcs(abell478, a478_sources):
    # Independent check with the FITS header WCS in the FITS 1-based convention.
    with fits.open(abell478) as hdul:
        wcs = WCS(hdul["SCI"].header)
    x1, y1 = wcs.all_world2pix(a478_sources["ra"], a478_sources["dec"], 1)
    dx = x1 - 1 - a478_sources["x"]
    dy = y1 - 1 - a478_sources["y"]
    assert len(a478_sources) > 100
    assert np.max(np.hypot(dx, dy)) < 0.1
    assert np.max(np.hypot(dx, dy)) < 1e-6  # in fact exact


def test_sky_positions_round_trip_geis_chip(omegacen):
    img = load_image(omegacen, chip=4)
    found = detect_sources(img, fwhm=1.5, threshold_sigma=10.0)
    assert len(found) > 100
    # rebuild the chip WCS by hand from the table row 4 (typed in)
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [425.0, 425.0]
    w.wcs.crval = [201.80410165504404, -47.4959575062823]
    w.wcs.cd = [[-2.60147e-05, 9.428697e-06], [9.431679e-06, 2.602166e-05]]
    x, y = w.all_world2pix(found["ra"], found["dec"], 0)
    assert np.max(np.hypot(x - found["x"], y - found["y"])) < 0.1


def test_background_is_subtracted_before_detection(a478):
    # adding a constant sky must not change what is found
    brighter = replace(a478, data=a478.data + 5.0)
    a = detect_sources(a478, fwhm=2.0, threshold_sigma=5.0)
    b = detect_sources(brighter, fwhm=2.0, threshold_sigma=5.0)
    assert len(a) == len(b)
    np.testing.assert_allclose(a["x"], b["x"], atol=1e-6)
    np.testing.assert_allclose(b["background"] - a["background"], 5.0, atol=1e-3)


def test_tiles_give_the_same_sources(a478, a478_sources):
    calls = []
    tiled = detect_sources(
        a478, fwhm=2.0, threshold_sigma=5.0, tile_size=128, progress=calls.append
    )
    assert sum(calls) == 600 * 600 and len(calls) == 25
    a = a478_sources.sort_values(["y", "x"]).reset_index(drop=True)
    b = tiled.sort_values(["y", "x"]).reset_index(drop=True)
    assert len(a) == len(b)
    np.testing.assert_allclose(a[["x", "y"]], b[["x", "y"]], atol=1e-9)


def test_iraf_finder_and_angular_fwhm(a478):
    found = detect_sources(a478, fwhm=0.2 * u.arcsec, threshold_sigma=5.0, finder="iraf")
    assert len(found) > 50
    assert {"fwhm", "roundness"} <= set(found.columns)
    assert found.attrs["fwhm_pix"] == pytest.approx(2.0, rel=1e-3)  # 0.2" at 0.1"/pixel


def test_bad_finder_and_fwhm(a478):
    with pytest.raises(InputError, match="finder must be 'dao' or 'iraf'"):
        detect_sources(a478, fwhm=2.0, finder="sextractor")
    with pytest.raises(InputError, match="fwhm must be positive"):
        detect_sources(a478, fwhm=0.0)


def test_nan_and_inf_pixels_are_ignored(a478):
    data = a478.data.copy()
    data[100:140, 100:140] = np.nan
    data[300, 300:310] = np.inf
    data[310, 300:310] = -np.inf
    found = detect_sources(replace(a478, data=data), fwhm=2.0, threshold_sigma=5.0)
    assert np.isfinite(found[["x", "y", "ra", "dec", "peak"]].to_numpy()).all()
    inside_nan = found["x"].between(101, 138) & found["y"].between(101, 138)
    assert not inside_nan.any()
    assert len(found) > 100


def test_pixel_only_array_warns_once_and_finds_star():
    rng = np.random.default_rng(1)
    data = rng.normal(0.0, 1.0, (200, 200)) + gaussian_star((200, 200), 80.3, 120.7, 2000.0, 1.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = detect_sources(data, fwhm=2.8, threshold_sigma=5.0)
    assert [w.category for w in caught] == [PixelOnlyWarning]
    assert found["ra"].isna().all()
    best = found.loc[found["peak"].idxmax()]
    assert best["x"] == pytest.approx(80.3, abs=0.05)
    assert best["y"] == pytest.approx(120.7, abs=0.05)
    with pytest.raises(InputError, match=r"no WCS.*pixels"), pytest.warns(PixelOnlyWarning):
        detect_sources(data, fwhm=0.1 * u.arcsec)


def test_empty_and_all_nan_images():
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PixelOnlyWarning)
        found = detect_sources(rng.normal(0, 1, (64, 64)), fwhm=2.0, threshold_sigma=50.0)
        assert len(found) == 0 and {"x", "y", "ra", "dec"} <= set(found.columns)
        with pytest.raises(InputError, match="no finite"):
            detect_sources(np.full((64, 64), np.nan), fwhm=2.0)


def test_detection_regions_in_sky_or_pixels(abell478, tmp_path):
    import pandas as pd

    from xrbid.photometry.detection import (
        REGION_RADIUS_ARCSEC,
        REGION_RADIUS_PIX,
        write_detection_regions,
    )
    from xrbid.regions import read_regions

    img = load_image(abell478)
    sources = pd.DataFrame(
        {
            "id": [1, 2],
            "x": [10.0, 20.0],
            "y": [30.0, 40.0],
            "ra": [63.35, 63.36],
            "dec": [10.46] * 2,
        }
    )
    sky = read_regions(write_detection_regions(sources, img, tmp_path / "sky.reg"))
    assert sky["ra"].tolist() == pytest.approx([63.35, 63.36])
    assert sky["radius"].tolist() == pytest.approx([REGION_RADIUS_ARCSEC] * 2)
    assert sky["label"].tolist() == ["1", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PixelOnlyWarning)
        bare = replace(img, wcs=None)
    text = write_detection_regions(sources, bare, tmp_path / "pix.reg").read_text()
    # image system, DS9 1-based pixels: 0-based (10, 30) is written as (11, 31)
    assert "\nimage\n" in text and f"circle(11,31,{REGION_RADIUS_PIX:g})" in text
