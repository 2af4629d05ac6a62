"""The shipped ACS/WFC encircled-energy table and its use in the aperture correction.

The published numbers typed below come from Bohlin 2016, AJ 152, 60, Table 8 ("Encircled
Energy Fractions for Hot Stars at WFC1-1K"; radii in 0.05" WFC pixels, EE = 1 at 5.5").
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy import units as u

from xrbid.errors import CalibrationError
from xrbid.photometry import NoInfiniteApertureWarning, eef, load_image, measure_magnitudes
from xrbid.photometry.reference_data import camera_key, eef_table

# (filter, radius in pixels, published EEF) from Bohlin 2016, Table 8
PUBLISHED = [
    ("F435W", 1, 0.330),
    ("F435W", 2, 0.663),
    ("F475W", 10, 0.912),
    ("F555W", 5, 0.868),
    ("F606W", 3, 0.795),
    ("F606W", 10, 0.916),
    ("F606W", 20, 0.947),
    ("F625W", 40, 0.974),
    ("F775W", 8, 0.904),
    ("F814W", 1, 0.322),
    ("F814W", 8, 0.901),
    ("F814W", 10, 0.914),
    ("F814W", 20, 0.949),
    ("F814W", 40, 0.972),
    ("F850LP", 8, 0.871),
    ("F850LP", 40, 0.970),
    ("F892N", 6, 0.840),
    ("F658N", 9, 0.911),
]
WFC_PIXEL = 0.05  # arcsec: the table's radii are in WFC pixels


def test_acs_wfc_images_map_to_the_acs_table():
    assert camera_key("ACS", "WFC") == "ACS/WFC"
    assert camera_key(" acs ", "wfc ") == "ACS/WFC"  # header values as found in files
    table = eef_table("ACS/WFC")
    assert table is not None
    assert {"F435W", "F606W", "F814W", "F850LP"} <= set(table.index)
    assert len(table) == 13  # every row of the published table


@pytest.mark.parametrize(("filt", "pixels", "published"), PUBLISHED)
def test_tabulated_radii_give_the_published_values(filt, pixels, published):
    assert eef("ACS", "WFC", filt, pixels * WFC_PIXEL) == pytest.approx(published, abs=1e-12)


def test_linear_interpolation_between_tabulated_radii():
    # F814W: 0.914 at 10 px (0.50"), 0.949 at 20 px (1.00"); 0.611 at 2 px, 0.770 at 3 px
    assert eef("ACS", "WFC", "F814W", 0.75) == pytest.approx((0.914 + 0.949) / 2)
    assert eef("ACS", "WFC", "F814W", 0.60) == pytest.approx(0.914 + 0.2 * (0.949 - 0.914))
    assert eef("ACS", "WFC", "F814W", 0.125) == pytest.approx((0.611 + 0.770) / 2)
    # lower-case filter names from headers work too
    assert eef("ACS", "WFC", "f606w", 0.50) == pytest.approx(0.916)


def test_monotonic_and_one_at_the_reference_aperture():
    table = eef_table("ACS/WFC")
    radii = np.asarray(table.columns, dtype=float)
    assert np.all(np.diff(radii) > 0)
    assert radii[-1] == 5.5  # the "infinite" aperture of the ACS calibration
    values = table.to_numpy(float)
    assert np.all(np.diff(values, axis=1) > 0), "EEF must grow with radius"
    assert np.all((values > 0) & (values <= 1))
    np.testing.assert_array_equal(values[:, -1], 1.0)
    for filt in ("F435W", "F606W", "F814W", "F850LP"):
        assert eef("ACS", "WFC", filt, 5.5) == 1.0


def test_earlier_stsci_calibration_agrees_within_0p002():
    # Independent earlier STScI ACS/WFC encircled energies (Bohlin 2011-2012 ACS ISRs, from the
    # STScI ACS aperture-correction page as of 2014): EE at 0.5" and 1.0".
    earlier = {"F606W": (0.916, 0.947), "F814W": (0.914, 0.948), "F435W": (0.909, 0.942)}
    tol = 0.002 + 1e-9  # two units of the third decimal, both tables rounded to 0.001
    for filt, (ee05, ee10) in earlier.items():
        assert eef("ACS", "WFC", filt, 0.5) == pytest.approx(ee05, abs=tol)
        assert eef("ACS", "WFC", filt, 1.0) == pytest.approx(ee10, abs=tol)


def test_outside_the_acs_table_is_a_clear_error():
    with pytest.raises(CalibrationError, match="outside the EEF table"):
        eef("ACS", "WFC", "F814W", 0.02)
    with pytest.raises(CalibrationError, match="outside the EEF table"):
        eef("ACS", "WFC", "F814W", 6.0)
    with pytest.raises(CalibrationError, match="no encircled-energy table for ACS/WFC F300X"):
        eef("ACS", "WFC", "F300X", 0.5)


# CANDELS GOODS-N extensions and the published EEF at 0.40" = 8 WFC pixels
CANDELS_EEF_040 = [(1, "F606W", 0.904), (2, "F814W", 0.901), (3, "F850LP", 0.871)]


@pytest.mark.parametrize(("ext", "filt", "published"), CANDELS_EEF_040)
def test_candels_acs_magnitudes_get_the_eef_term(candels, ext, filt, published):
    img = load_image(candels, ext=ext)
    assert (img.instrument, img.detector, img.filter) == ("ACS", "WFC", filt)
    pos = np.array([[50.0, 50.0], [29.5, 8.8]])
    # measurement aperture = large aperture = 0.4": no empirical term, only the EEF term
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = measure_magnitudes(img, pos, radius=0.4 * u.arcsec, apcorr="auto")
        plain = measure_magnitudes(img, pos, radius=0.4 * u.arcsec, apcorr=None)
    assert not [w for w in caught if issubclass(w.category, NoInfiniteApertureWarning)]
    assert not [w for w in caught if "encircled-energy" in str(w.message)]
    apc = auto.attrs["apcorr"]
    assert auto.attrs["large_radius_pix"] == pytest.approx(0.4 / 0.03, rel=1e-6)
    expected = 2.5 * math.log10(published)  # 2.5 log10(EEF) < 0: total light is brighter
    assert expected < 0
    assert apc["infinite"] == pytest.approx(expected, abs=1e-6)
    assert apc["value"] == pytest.approx(expected, abs=1e-6)
    ok = plain["rate"].to_numpy() > 0
    assert ok.any()
    for system in ("vega", "ab", "st"):
        diff = auto[f"mag_{system}"].to_numpy()[ok] - plain[f"mag_{system}"].to_numpy()[ok]
        np.testing.assert_allclose(diff, expected, atol=1e-6)
        assert np.all(diff < 0)  # sources get brighter
