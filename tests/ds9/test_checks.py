"""DS9 on-image checks and stamps on a SIP chip with a 15' cone: far positions off, no failures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from xrbid.ds9._checks import field_mismatch, off_image_by, on_image
from xrbid.ds9.stamps import _skip_reasons

FLT = Path(__file__).parents[2] / "testdata" / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"
SHAPE = (2048, 4096)


@pytest.fixture(scope="module")
def sip():
    with fits.open(FLT) as hdul:
        wcs = WCS(hdul[1].header, hdul)
    assert wcs.sip is not None
    return wcs


def _cone(wcs):
    """Three positions on the chip, 24 on rings 5', 10', 15' from its centre, one NaN."""
    ra_in, dec_in = wcs.all_pix2world([10.0, 2000.0, 4000.0], [10.0, 1000.0, 2000.0], 0)
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    rings = np.repeat([5.0, 10.0, 15.0], 8) / 60
    far_ra = ra_in[1] + rings * np.cos(ang) / np.cos(np.radians(dec_in[1]))
    far_dec = dec_in[1] + rings * np.sin(ang)
    return np.r_[ra_in, far_ra, np.nan], np.r_[dec_in, far_dec, 0.0]


def test_on_image_places_the_chip_and_not_the_cone_without_warnings(sip):
    ra, dec = _cone(sip)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy's "failed to converge" warnings included
        on = on_image(sip, SHAPE, ra, dec)
    assert on.tolist() == [True] * 3 + [False] * 25


def test_stamps_skip_reasons_name_how_far_off(sip):
    ra, dec = _cone(sip)
    table = pd.DataFrame({"ra": ra, "dec": dec, "pu_1sigma": 1.0, "pu_2sigma": 2.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reasons = _skip_reasons(table, sip, SHAPE)
    assert reasons.iloc[:3].isna().all()
    assert reasons.iloc[-1] == "no finite RA/Dec"
    assert all(r.startswith("off the image by") for r in reasons.iloc[3:-1])


def test_off_image_distance_is_bounded_by_the_geometry(sip):
    # a point d from the chip centre is at most d and at least d - (centre to farthest corner)
    # off the chip (triangle inequality)
    ra, dec = _cone(sip)
    c_ra, c_dec = sip.all_pix2world((SHAPE[1] - 1) / 2, (SHAPE[0] - 1) / 2, 0)
    from astropy.coordinates import SkyCoord

    centre = SkyCoord(c_ra, c_dec, unit="deg")
    ny, nx = SHAPE
    k_ra, k_dec = sip.all_pix2world(
        [-0.5, nx - 0.5, -0.5, nx - 0.5], [-0.5, -0.5, ny - 0.5, ny - 0.5], 0
    )
    half_diag = centre.separation(SkyCoord(k_ra, k_dec, unit="deg")).max()  # farthest corner
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for r, d, ring in zip(ra[3:27], dec[3:27], np.repeat([5.0, 10.0, 15.0], 8)):
            off = off_image_by(sip, SHAPE, r, d)
            d_centre = centre.separation(SkyCoord(r, d, unit="deg"))
            assert d_centre.arcmin == pytest.approx(ring, rel=0.01)
            assert d_centre.arcsec - half_diag.arcsec - 1.0 <= off <= d_centre.arcsec + 1e-6


def test_field_mismatch_with_only_far_regions(sip):
    ra, dec = _cone(sip)
    far = pd.DataFrame({"ra": ra[3:27], "dec": dec[3:27]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert field_mismatch(sip, SHAPE, far) is not None
        assert field_mismatch(sip, SHAPE, pd.DataFrame({"ra": ra[:4], "dec": dec[:4]})) is None
