"""Drizzled images: the empty area outside the footprint, weight maps, masks, far positions.

The frames are built as drizzlepac writes them: a flat sky of 0.050 e/s with Gaussian noise,
Gaussian stars, and a corner that no exposure covered set to exactly 0 with weight 0 in the
``WHT`` extension. The reference values come from the construction (the sky level, the star
positions) and from photutils run with an explicit mask.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from xrbid.errors import InputError
from xrbid.photometry import aperture_photometry, detect_sources
from xrbid.photometry.images import footprint_mask, load_image, read_mask, world_to_pixel

from .injection import gaussian_star

SKY, NOISE, SHAPE = 0.050, 0.004, (400, 400)


def _wcs() -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [210.8, 54.35]
    w.wcs.crpix = [200.5, 200.5]
    w.wcs.cd = [[-0.05 / 3600, 0], [0, 0.05 / 3600]]
    return w


def _stars(rng, n=40):
    xy = []
    while len(xy) < n:
        x, y = rng.uniform(20, 380, 2)
        if x + y < 500:  # keep clear of the empty corner (and its edge) by 45+ pixels
            continue
        if all(np.hypot(x - a, y - b) > 20 for a, b in xy):
            xy.append((x, y))
    return np.array(xy)


def _drizzled(tmp_path, *, weight=True, nan=False):
    rng = np.random.default_rng(7)
    data = rng.normal(SKY, NOISE, SHAPE)
    xy = _stars(rng)
    for x, y in xy:
        data += gaussian_star(SHAPE, x, y, 40.0, 1.2)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    corner = xx + yy < 430  # the wedge no exposure covered (58 % of the frame)
    data[corner] = np.nan if nan else 0.0
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(data, header=_wcs().to_header(), name="SCI")]
    hdus[1].header["BUNIT"] = "ELECTRONS/S"
    hdus[1].header["EXPTIME"] = 1000.0
    if weight:
        hdus.append(fits.ImageHDU(np.where(corner, 0.0, 800.0).astype(np.float32), name="WHT"))
    path = tmp_path / "drz.fits"
    fits.HDUList(hdus).writeto(path)
    return path, xy, corner


@pytest.mark.parametrize(
    ("weight", "nan"), [(True, False), (False, False), (False, True)], ids=["WHT", "zeros", "NaN"]
)
def test_detection_ignores_the_empty_footprint(tmp_path, weight, nan):
    path, xy, corner = _drizzled(tmp_path, weight=weight, nan=nan)
    img = load_image(path)
    np.testing.assert_array_equal(img.bad_pixels(), corner)
    found = detect_sources(img, fwhm=2.8, threshold_sigma=5.0)
    assert len(found) == 40  # no fake sources along the footprint edge
    d = np.hypot(
        found["x"].to_numpy()[:, None] - xy[:, 0], found["y"].to_numpy()[:, None] - xy[:, 1]
    )
    assert d.min(axis=1).max() < 0.2
    # the sky is that of the exposed pixels, not pulled down by the zeros
    assert found.attrs["background_median"] == pytest.approx(SKY, abs=3 * NOISE / 10)


def test_apertures_touching_the_empty_area_are_flagged(tmp_path):
    path, _, corner = _drizzled(tmp_path)
    img = load_image(path)
    # blank sky 1.4 px and 8.5 px from the footprint edge (x + y = 430), and far from it
    pos = pd.DataFrame({"x": [216.0, 221.0, 330.0], "y": [216.0, 221.0, 300.0]})
    phot = aperture_photometry(img, pos, radii=[3.0], annulus=(8.0, 12.0))
    assert phot["flag_edge"].tolist() == [True, False, False]
    # the measurement is that of photutils with the same pixels masked explicitly
    from photutils.aperture import CircularAnnulus, CircularAperture
    from photutils.aperture import aperture_photometry as reference

    data = np.where(corner, 0.0, img.data)
    ann = CircularAnnulus([[221.0, 221.0]], 8.0, 12.0).to_mask(method="center")[0]
    values = ann.get_values(data, mask=corner)
    sky = np.median(values)
    ref = reference(data, CircularAperture([[221.0, 221.0]], 3.0), mask=corner)
    expected = float(ref["aperture_sum"][0]) - sky * np.pi * 9
    assert phot["flux_r3"][1] == pytest.approx(expected, abs=0.05)
    assert abs(phot["flux_r3"][1]) < 0.1  # blank sky: no flux from the edge


def test_isolated_zero_inside_the_footprint_is_data():
    data = np.ones((50, 50))
    data[25, 25] = 0.0
    data[:5, :] = 0.0
    mask = footprint_mask(data)
    assert mask[:5].all() and not mask[25, 25] and mask.sum() == 5 * 50


def test_user_masks_from_fits_and_region_files(tmp_path):
    path, _, corner = _drizzled(tmp_path)
    img = load_image(path)
    user = np.zeros(SHAPE, dtype=np.int16)
    user[300:310, 300:310] = 1
    fits.PrimaryHDU(user).writeto(tmp_path / "mask.fits")
    m = read_mask(tmp_path / "mask.fits", img)
    assert m.sum() == 100 and m[305, 305]
    (tmp_path / "mask.reg").write_text("image\ncircle(301,301,5)\n-circle(301,301,1)\n")
    r = read_mask(tmp_path / "mask.reg", img)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    d = np.hypot(xx - 300, yy - 300)  # DS9 (1-based) 301 is numpy 300
    expected = (d < 5) & ~(d < 1)  # pixel centres inside, less the excluded centre
    np.testing.assert_array_equal(r, expected)
    assert (img.bad_pixels(m) == (corner | m)).all()
    found = detect_sources(img, fwhm=2.8, threshold_sigma=5.0, mask=r)
    assert not ((found["x"] - 300) ** 2 + (found["y"] - 300) ** 2 < 25).any()
    fits.PrimaryHDU(np.zeros((10, 10))).writeto(tmp_path / "small.fits")
    with pytest.raises(InputError, match=r"10x10 pixels but .* 400x400"):
        read_mask(tmp_path / "small.fits", img)


def test_positions_far_outside_a_sip_chip_are_flagged_not_fatal(testdata):
    """A 15' CSC cone around a 3' ACS chip: the far positions cannot be inverted through SIP."""
    flt = testdata / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"
    with fits.open(flt) as hdul:
        wcs = WCS(hdul[1].header, hdul)
    assert wcs.sip is not None
    shape = (2048, 4096)
    x0 = np.array([10.0, 2000.0, 4000.0])
    y0 = np.array([10.0, 1000.0, 2000.0])
    ra_in, dec_in = wcs.all_pix2world(x0, y0, 0)
    # a ring of positions 5' to 15' away and one on the far side of the sky
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    far_ra = ra_in[1] + np.repeat([5, 10, 15], 8) / 60 * np.cos(ang) / np.cos(np.radians(dec_in[1]))
    far_dec = dec_in[1] + np.repeat([5, 10, 15], 8) / 60 * np.sin(ang)
    ra = np.concatenate([ra_in, far_ra, [(ra_in[1] + 180) % 360, np.nan]])
    dec = np.concatenate([dec_in, far_dec, [-dec_in[1], 0.0]])
    x, y = world_to_pixel(wcs, ra, dec, shape)
    np.testing.assert_allclose(x[:3], x0, atol=1e-3)
    np.testing.assert_allclose(y[:3], y0, atol=1e-3)
    assert np.isnan(x[-2:]).all()
    # whatever could be placed is placed exactly: it round-trips
    placed = np.isfinite(x)
    _, back_dec = wcs.all_pix2world(x[placed], y[placed], 0)
    np.testing.assert_allclose(back_dec, dec[placed], atol=1e-8)
