"""Reading HST files: SCI extension or primary, MEF, GEIS waiver chips, header-derived units."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from xrbid.errors import InputError
from xrbid.photometry import PixelOnlyWarning, load_image


def test_drizzled_sci_extension_inherits_primary(abell478):
    img = load_image(abell478)
    assert img.ext == "SCI,1"
    assert img.shape == (600, 600)
    # FILTNAM1, EXPTIME, ATODGAIN live in the primary header; BUNIT in SCI
    assert (img.instrument, img.filter, img.exptime, img.gain) == ("WFPC2", "F814W", 600.0, 7.0)
    assert img.is_rate  # BUNIT = 'COUNTS/S'
    assert img.effective_gain == 7.0 * 600.0
    assert img.pixel_scale == pytest.approx(0.1, rel=1e-3)


def test_pixel_convention_crpix_maps_to_crval(abell478):
    # FITS CRPIX is 1-based; the 0-based pixel CRPIX - 1 must land exactly on CRVAL.
    img = load_image(abell478)
    ra, dec = img.pixel_to_sky(np.array([407.8267333142895 - 1]), np.array([411.8073894844131 - 1]))
    assert ra[0] == pytest.approx(63.35149034816133, abs=1e-10)
    assert dec[0] == pytest.approx(10.46432703958695, abs=1e-10)
    x, _ = img.sky_to_pixel(ra, dec)
    assert x[0] == pytest.approx(406.8267333142895, abs=1e-6)


def test_primary_header_only_cutout_data_extension(hdfs):
    img = load_image(hdfs)
    assert img.ext == "1" and img.filter == "F606W" and img.exptime == 381600.0
    assert img.is_rate  # drizzled (D001 keywords), empty BUNIT


def test_multi_extension_choice(candels):
    filters = [load_image(candels, ext=i).filter for i in (1, 2, 3)]
    assert filters == ["F606W", "F814W", "F850LP"]  # F814W sits in FILTER2 with CLEAR1L
    img = load_image(candels)
    assert img.ext == "1" and img.exptime is None and img.gain == 1.0


def test_unknown_extension_lists_what_exists(candels):
    with pytest.raises(InputError, match=r"no extension 'SCI'.*1:CUTOUT"):
        load_image(candels, ext="SCI")


@pytest.mark.parametrize("ext", [9, "9", -9])
def test_out_of_range_extension_number_lists_what_exists(candels, ext):
    # the CANDELS cutout has four HDUs (0..3): 9 and -9 are out of range
    with pytest.raises(InputError, match=r"no extension .*9.*; extensions are 0:PRIMARY, 1:CUTOUT"):
        load_image(candels, ext=ext)


def test_flt_counts_in_electrons(tuc47_flt):
    img = load_image(tuc47_flt)
    assert img.ext == "SCI,1"
    assert not img.is_rate and img.gain == 1.0  # BUNIT = ELECTRONS, ACS
    assert img.to_rate(np.array([800.0]))[0] == pytest.approx(2.0)  # 800 e- / 400 s


def test_geis_waiver_chip_wcs_from_table(omegacen):
    img = load_image(omegacen, chip=3)
    assert img.ext == "chip 3" and img.shape == (800, 800)
    assert not img.is_rate and img.gain == 7.0 and img.exptime == 100.0
    # table row 3: CRPIX = 425 (1-based), CRVAL = (201.79359077696697, -47.5160807627463)
    ra, dec = img.pixel_to_sky(np.array([424.0]), np.array([424.0]))
    assert ra[0] == pytest.approx(201.79359077696697, abs=1e-10)
    assert dec[0] == pytest.approx(-47.5160807627463, abs=1e-10)
    # CD1_1 = -9.173357e-06, CD2_1 = -2.609278e-05 deg/pixel: one pixel in +x
    ra1, dec1 = img.pixel_to_sky(np.array([425.0]), np.array([424.0]))
    dra = (ra1[0] - ra[0]) * np.cos(np.radians(dec[0]))
    assert dra == pytest.approx(-9.173357e-06, rel=1e-3)
    assert dec1[0] - dec[0] == pytest.approx(-2.609278e-05, rel=1e-3)
    # data of group 3 of the cube
    with fits.open(omegacen) as hdul:
        np.testing.assert_array_equal(img.data, hdul[0].data[2].astype(float))


def test_geis_waiver_bad_chip_and_ext(omegacen):
    with pytest.raises(InputError, match=r"chip must be 1\.\.4"):
        load_image(omegacen, chip=5)
    with pytest.raises(InputError, match="GEIS waiver file: choose a group with chip=N"):
        load_image(omegacen, ext=1)


def test_saturation_level_for_counts_images(omegacen):
    # SATURATE = 4095 raw DN, DEZERO (bias) = 314.3499 for chip 1 (typed from the table/header)
    img = load_image(omegacen, chip=1)
    assert img.saturation == pytest.approx(4095 - 314.3499)
    assert load_image(omegacen, chip=1, saturation=3000.0).saturation == 3000.0


def test_zero_exposure_time_is_refused(tmp_path, candels):
    with fits.open(candels) as hdul:
        hdu = fits.PrimaryHDU(hdul[1].data, hdul[1].header)
    hdu.header["EXPTIME"] = 0.0
    path = tmp_path / "zero.fits"
    hdu.writeto(path)
    with pytest.raises(InputError, match=r"exposure time is 0\.0 s"):
        load_image(path)
    assert load_image(path, exptime=100.0).exptime == 100.0


def test_image_without_wcs_warns_once(tmp_path, abell478):
    with fits.open(abell478) as hdul:
        data = hdul[1].data
    path = tmp_path / "nowcs.fits"
    fits.PrimaryHDU(data).writeto(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = load_image(path)
    assert [w.category for w in caught] == [PixelOnlyWarning]
    assert img.wcs is None and img.pixel_scale is None
    ra, dec = img.pixel_to_sky(np.array([1.0]), np.array([2.0]))
    assert np.isnan(ra).all() and np.isnan(dec).all()
    with pytest.raises(InputError, match="no celestial WCS"):
        img.sky_to_pixel(np.array([63.35]), np.array([10.46]))


def test_missing_and_non_fits_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "nope.fits")
    bad = tmp_path / "bad.fits"
    bad.write_text("not a fits file")
    with pytest.raises(InputError, match="not a readable FITS file"):
        load_image(bad)


def test_input_file_is_not_modified(abell478):
    before = abell478.read_bytes()
    img = load_image(abell478)
    img.data[:] = 0.0
    assert abell478.read_bytes() == before


def test_wcs_matches_astropy_directly(abell478):
    img = load_image(abell478)
    with fits.open(abell478) as hdul:
        ref = WCS(hdul[1].header)
    x = np.array([0.0, 123.4, 599.0])
    y = np.array([0.0, 321.0, 599.0])
    ra_ref, dec_ref = ref.all_pix2world(x + 1, y + 1, 1)  # FITS 1-based convention
    ra, dec = img.pixel_to_sky(x, y)
    np.testing.assert_allclose(ra, ra_ref, atol=1e-11)
    np.testing.assert_allclose(dec, dec_ref, atol=1e-11)


def test_acs_flt_sip_distortion_used_and_round_trips(tuc47_flt):
    img = load_image(tuc47_flt, ext="SCI,1")
    assert img.wcs.sip is not None  # CTYPE RA---TAN-SIP
    x, y = (a.ravel() for a in np.meshgrid(np.linspace(0, 4095, 9), np.linspace(0, 2047, 5)))
    ra, dec = img.pixel_to_sky(x, y)
    with fits.open(tuc47_flt) as hdul:
        ref = WCS(hdul[1].header, hdul)
        no_sip = WCS(hdul[1].header, hdul)
    no_sip.sip = None
    ra_ref, dec_ref = ref.all_pix2world(x + 1, y + 1, 1)
    np.testing.assert_allclose(ra, ra_ref, atol=1e-11)
    np.testing.assert_allclose(dec, dec_ref, atol=1e-11)
    # the SIP terms move positions by arcseconds at the chip corners: they are not ignored
    ra0, dec0 = no_sip.all_pix2world(x, y, 0)
    offset = np.hypot((ra0 - ra) * np.cos(np.radians(dec)), dec0 - dec) * 3600
    assert offset.max() > 1.0
    x2, y2 = img.sky_to_pixel(ra, dec)
    assert np.max(np.hypot(x2 - x, y2 - y)) < 1e-3


def test_footprint_circle_covers_the_image(abell478, tmp_path):
    from xrbid.errors import CalibrationError

    img = load_image(abell478)
    ra0, dec0, radius = img.footprint()
    # 600 x 600 pixels of 0.1": the corner pixel centres are 599/2 * sqrt(2) pixels out
    assert radius == pytest.approx(299.5 * np.sqrt(2) * 0.1, rel=2e-3)
    # the centre is the sky position of the central pixel (299.5, 299.5), 0-based
    ra_c, dec_c = img.pixel_to_sky(np.array([299.5]), np.array([299.5]))
    assert (ra0, dec0) == pytest.approx((ra_c[0], dec_c[0]), abs=1e-9)
    path = tmp_path / "nowcs.fits"
    fits.PrimaryHDU(img.data).writeto(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PixelOnlyWarning)
        bare = load_image(path)
    with pytest.raises(CalibrationError, match="no celestial WCS"):
        bare.footprint()


def test_sky_positions_are_used_when_the_image_and_every_row_have_them(abell478):
    import pandas as pd

    from xrbid.photometry.magnitudes import use_sky_positions

    img = load_image(abell478)
    both = pd.DataFrame(
        {"x": [1.0, 2.0], "y": [1.0, 2.0], "ra": [63.35, 63.36], "dec": [10.4, 10.5]}
    )
    assert use_sky_positions(img, both)
    assert not use_sky_positions(img, both, pixels=True)
    assert not use_sky_positions(img, both.assign(ra=[63.35, None]))
    assert not use_sky_positions(img, both.drop(columns=["ra", "dec"]))


def test_as_image_reads_the_extension_in_brackets(candels, omegacen):
    from xrbid.photometry.images import as_image

    # the CANDELS cutout holds F606W, F814W, F850LP in extensions 1..3 (as loaded by index above)
    img = as_image(f"{candels}[2]")
    assert img.filter == "F814W" and img.ext == "2"
    np.testing.assert_array_equal(img.data, fits.getdata(candels, 2).astype(float))
    assert as_image(f"{candels}[CUTOUT]").filter == "F606W"  # the first CUTOUT
    assert as_image(f"{omegacen}[chip=3]").ext == "chip 3"
    with pytest.raises(InputError, match=r"extension is given twice, in \[\.\.\.\] and as ext="):
        as_image(f"{candels}[2]", ext=3)
    with pytest.raises(InputError, match=r"cannot read \[\?\] as an extension"):
        as_image(f"{candels}[?]")
