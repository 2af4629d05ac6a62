"""Zero points against hand computation from the header numbers (typed in here).

Vega = AB - (m_AB - m_Vega), the offsets typed from FSPS data/magsun.dat (solar AB and Vega
magnitudes, two decimals): ACS/WFC F606W 4.72 - 4.64, F814W 4.52 - 4.10, F850LP 4.51 - 4.00;
WFPC2 F555W 4.82 - 4.83, F606W 4.70 - 4.61, F814W 4.52 - 4.11.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy.io import fits

from xrbid.errors import CalibrationError
from xrbid.photometry import image_zeropoints, load_image
from xrbid.photometry.zeropoints import (
    UnknownVegaFilterWarning,
    ab_zeropoint,
    magnitude,
    magnitude_error,
    st_zeropoint,
)


def hand_st(photflam: float) -> float:
    return -2.5 * math.log10(photflam) - 21.10


def hand_ab(photflam: float, photplam: float) -> float:
    return hand_st(photflam) - 5.0 * math.log10(photplam) + 18.692


def test_formulas_on_round_numbers():
    # PHOTFLAM = 1e-18 -> ST = 45 - 21.10 = 23.90 exactly; PHOTPLAM = 10000 A -> 5 log10 = 20
    assert st_zeropoint(1e-18) == pytest.approx(23.90, abs=1e-12)
    assert ab_zeropoint(1e-18, 1e4) == pytest.approx(23.90 - 20.0 + 18.692, abs=1e-12)


def test_abell478_wfpc2_drizzled_sci(abell478):
    # header SCI: PHOTFLAM = 2.507987E-18, PHOTPLAM = 7995.937 (typed from the file)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownVegaFilterWarning)
        zp = image_zeropoints(load_image(abell478))
    assert zp.st == pytest.approx(hand_st(2.507987e-18), abs=1e-9)
    assert zp.ab == pytest.approx(hand_ab(2.507987e-18, 7995.937), abs=1e-9)
    # the same numbers worked out on paper: log10(2.507987e-18) = -17.600678
    assert zp.st == pytest.approx(22.9017, abs=1e-4)
    assert zp.ab == pytest.approx(22.0793, abs=1e-4)
    # WFPC2 F814W: AB - Vega = 4.52 - 4.11 = 0.41 -> Vega = 22.0793 - 0.41
    assert zp.vega == pytest.approx(21.6693, abs=1e-4)


def test_hdfs_primary_keywords_in_data_extension(hdfs):
    # PRIMARY + [1] DATA: PHOTFLAM = 1.89972E-18, PHOTPLAM = 6001.294; WFPC2 F606W
    zp = image_zeropoints(load_image(hdfs))
    assert zp.st == pytest.approx(hand_st(1.89972e-18), abs=1e-9)
    assert zp.ab == pytest.approx(hand_ab(1.89972e-18, 6001.294), abs=1e-9)
    assert zp.vega == pytest.approx(hand_ab(1.89972e-18, 6001.294) - 0.09, abs=1e-9)


@pytest.mark.parametrize(
    ("ext", "photflam", "photplam", "ab_minus_vega"),
    [
        (1, 7.7265435e-20, 5919.4609, 0.08),  # F606W
        (2, 7.0073061e-20, 8059.3491, 0.42),  # F814W
        (3, 1.5014494e-19, 9036.5098, 0.51),  # F850LP
    ],
)
def test_candels_acs_three_filters(candels, ext, photflam, photplam, ab_minus_vega):
    zp = image_zeropoints(load_image(candels, ext=ext))
    assert zp.st == pytest.approx(hand_st(photflam), abs=1e-9)
    assert zp.ab == pytest.approx(hand_ab(photflam, photplam), abs=1e-9)
    assert zp.vega == pytest.approx(hand_ab(photflam, photplam) - ab_minus_vega, abs=1e-9)


def test_candels_f606w_vega_minus_ab_is_the_tabulated_offset(candels):
    # the fixed Sirianni et al. (2005) Vega zero point (26.398) against this image's own AB
    # gave Vega - AB = -0.113; the tabulated offset is -0.08 (FSPS; Sirianni's own table
    # has about -0.09)
    zp = image_zeropoints(load_image(candels, ext=1))
    assert zp.vega - zp.ab == pytest.approx(-0.08, abs=1e-9)
    assert 26.398 - zp.ab == pytest.approx(-0.113, abs=0.001)


def test_candels_f606w_ab_matches_published_acs_value(candels):
    # ACS/WFC F606W AB zero point is about 26.5 mag (Sirianni et al. 2005: 26.486 for -77 C)
    zp = image_zeropoints(load_image(candels, ext=1))
    assert zp.ab == pytest.approx(26.49, abs=0.03)


def test_47tuc_flt_multi_extension_sci2(tuc47_flt):
    # SCI,2 of the FLT: PHOTFLAM = 7.9064521e-20, PHOTPLAM = 5917.6797; FILTER1 = F606W
    img = load_image(tuc47_flt, ext="SCI,2")
    assert img.ext == "SCI,2" and img.filter == "F606W" and img.exptime == 400.0
    zp = image_zeropoints(img)
    assert zp.st == pytest.approx(hand_st(7.9064521e-20), abs=1e-9)
    assert zp.ab == pytest.approx(hand_ab(7.9064521e-20, 5917.6797), abs=1e-9)
    assert zp.vega == pytest.approx(hand_ab(7.9064521e-20, 5917.6797) - 0.08, abs=1e-9)


def test_omegacen_chip_keywords_from_table(omegacen):
    # table row 2 (WF2): PHOTFLAM = 3.395806e-18, PHOTPLAM = 5445.581; WFPC2 F555W
    img = load_image(omegacen, chip=2)
    zp = image_zeropoints(img)
    assert zp.st == pytest.approx(hand_st(3.395806e-18), abs=1e-9)
    assert zp.ab == pytest.approx(hand_ab(3.395806e-18, 5445.581), abs=1e-9)
    assert zp.vega == pytest.approx(hand_ab(3.395806e-18, 5445.581) + 0.01, abs=1e-9)


def test_missing_photflam_is_a_clear_error(tmp_path, candels):
    with fits.open(candels) as hdul:
        hdu = fits.PrimaryHDU(hdul[1].data, hdul[1].header)
    del hdu.header["PHOTFLAM"]
    path = tmp_path / "nophot.fits"
    hdu.writeto(path)
    img = load_image(path)
    with pytest.raises(CalibrationError, match=r"PHOTFLAM is missing.*--zeropoint"):
        image_zeropoints(img)
    zp = image_zeropoints(img, zeropoint=25.0)
    assert zp.user == 25.0 and math.isnan(zp.st)


def test_missing_photplam_names_it(tmp_path, candels):
    with fits.open(candels) as hdul:
        hdu = fits.PrimaryHDU(hdul[2].data, hdul[2].header)
    del hdu.header["PHOTPLAM"]
    path = tmp_path / "noplam.fits"
    hdu.writeto(path)
    with pytest.raises(CalibrationError, match="PHOTPLAM"):
        image_zeropoints(load_image(path))


def _narrow_band_copy(tmp_path, candels):
    """The F606W cutout relabelled F658N (an ACS narrow band with no tabulated offset)."""
    with fits.open(candels) as hdul:
        hdu = fits.PrimaryHDU(hdul[1].data, hdul[1].header)
    for key in ("FILTER", "FILTER1", "FILTER2"):
        if str(hdu.header.get(key, "")).upper().startswith("F606W"):
            hdu.header[key] = "F658N"
    path = tmp_path / "f658n.fits"
    hdu.writeto(path)
    return path


def test_unknown_offset_gives_nan_vega_and_one_warning(tmp_path, candels):
    img = load_image(_narrow_band_copy(tmp_path, candels))
    assert img.filter == "F658N"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zp = image_zeropoints(img)
    vega_warnings = [w for w in caught if issubclass(w.category, UnknownVegaFilterWarning)]
    assert len(vega_warnings) == 1
    assert "ACS/WFC F658N" in str(vega_warnings[0].message)
    assert math.isnan(zp.vega) and np.isfinite(zp.ab) and np.isfinite(zp.st)


def test_magnitude_and_error_by_hand():
    # 100 counts/s with ZP 25 -> 25 - 5 = 20; 1% flux error -> 1.0857% mag error
    assert magnitude(np.array([100.0]), 25.0)[0] == pytest.approx(20.0)
    assert magnitude_error(np.array([100.0]), np.array([1.0]))[0] == pytest.approx(
        2.5 / math.log(10) * 0.01
    )
    assert np.isnan(magnitude(np.array([-1.0, 0.0]), 25.0)).all()
