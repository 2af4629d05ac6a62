"""Tests of xrbid.sky against astropy (TAN WCS, SkyCoord, SkyOffsetFrame) and hand values."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord, SkyOffsetFrame
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from xrbid import sky
from xrbid.errors import InputError
from xrbid.sky import (
    centroid,
    from_tangent_plane,
    match_nearest,
    match_within,
    separation_arcsec,
    tangent_plane,
    to_arcsec,
)

# Reference points: ordinary, across the RA 0/360 wrap, near the north and south poles.
CENTRES = [(210.80, 54.35), (359.9995, 0.3), (0.0002, -12.0), (123.4, 89.995), (45.0, -89.99)]


def _field(ra0: float, dec0: float, n: int, radius_arcsec: float, seed: int):
    """Random positions within ``radius_arcsec`` of (ra0, dec0), via astropy offsets."""
    rng = np.random.default_rng(seed)
    r = radius_arcsec * np.sqrt(rng.uniform(0, 1, n))
    pa = rng.uniform(0, 360, n)
    c = SkyCoord(ra0 * u.deg, dec0 * u.deg).directional_offset_by(pa * u.deg, r * u.arcsec)
    return c.ra.deg, c.dec.deg


@pytest.fixture(params=["kdtree", "dense"])
def way(request, monkeypatch):
    """Run a test with the KD-tree and with the dense (numpy) way of matching."""
    dense = request.param == "dense"
    monkeypatch.setattr(sky, "_dense", lambda pairs: dense)
    return request.param


def _tan_wcs(ra0: float, dec0: float) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cdelt = [1 / 3600.0, 1 / 3600.0]  # one "pixel" = 1 arcsec of standard coordinate
    return w


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_tangent_plane_matches_astropy_tan_wcs(ra0, dec0):
    ra, dec = _field(ra0, dec0, 200, 600.0, seed=1)
    xi, eta = tangent_plane(ra, dec, ra0, dec0)
    px, py = _tan_wcs(ra0, dec0).all_world2pix(ra, dec, 1)
    np.testing.assert_allclose(xi, px, atol=1e-7)
    np.testing.assert_allclose(eta, py, atol=1e-7)


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_tangent_plane_matches_offset_frame(ra0, dec0):
    # In the frame centred on the tangent point a position has offsets (lon, lat); its gnomonic
    # coordinates are xi = tan(lon), eta = tan(lat) / cos(lon).
    ra, dec = _field(ra0, dec0, 100, 900.0, seed=2)
    centre = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    off = SkyCoord(ra * u.deg, dec * u.deg).transform_to(SkyOffsetFrame(origin=centre))
    lon, lat = off.lon.rad, off.lat.rad
    xi, eta = tangent_plane(ra, dec, ra0, dec0)
    arcsec = np.degrees(1.0) * 3600
    np.testing.assert_allclose(xi, np.tan(lon) * arcsec, atol=1e-7)
    np.testing.assert_allclose(eta, np.tan(lat) / np.cos(lon) * arcsec, atol=1e-7)


def test_tangent_plane_hand_values_across_wrap():
    # 0.0002 deg of RA on the equator either side of RA=0: xi = tan(0.72") in arcsec.
    xi, eta = tangent_plane([359.9999, 0.0001], [0.0, 0.0], 0.0, 0.0)
    expected = np.tan(np.radians(0.0001)) * 206264.80624709636
    # RA near 360 carries ~1e-13 deg of float64 rounding: 1e-9 arcsec is the honest tolerance.
    np.testing.assert_allclose(xi, [-expected, expected], atol=1e-9)
    np.testing.assert_allclose(eta, [0.0, 0.0], atol=1e-12)
    # 1" north of the tangent point at Dec 60: eta = tan(1") in arcsec, xi = 0.
    xi, eta = tangent_plane(10.0, 60.0 + 1 / 3600, 10.0, 60.0)
    assert abs(xi) < 1e-12
    assert eta == pytest.approx(np.tan(np.radians(1 / 3600)) * 206264.80624709636, abs=1e-9)
    # RA offsets shrink with cos(dec): 1 s of time at Dec 60 is about 7.5" of xi.
    xi, _ = tangent_plane(10.0 + 15 / 3600, 60.0, 10.0, 60.0)
    assert xi == pytest.approx(15 * np.cos(np.radians(60.0)), rel=1e-6)


def test_tangent_plane_far_side_is_nan():
    xi, eta = tangent_plane([10.0, 190.0], [0.0, 0.0], 10.0, 0.0)
    assert np.isfinite(xi[0]) and np.isnan(xi[1]) and np.isnan(eta[1])


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_from_tangent_plane_roundtrip_and_wcs(ra0, dec0):
    rng = np.random.default_rng(3)
    xi, eta = rng.uniform(-700, 700, (2, 300))
    ra, dec = from_tangent_plane(xi, eta, ra0, dec0)
    assert np.all((ra >= 0) & (ra < 360))
    wra, wdec = _tan_wcs(ra0, dec0).all_pix2world(xi, eta, 1)
    # Compare as true separations (RA is meaningless at the pole and wraps at 0/360).
    assert np.max(separation_arcsec(ra, dec, wra, wdec)) < 1e-6
    xi2, eta2 = tangent_plane(ra, dec, ra0, dec0)
    np.testing.assert_allclose(xi2, xi, atol=1e-8)
    np.testing.assert_allclose(eta2, eta, atol=1e-8)


def test_from_tangent_plane_wraps_ra_into_range():
    ra, dec = from_tangent_plane([-0.72, 0.72], [0.0, 0.0], 0.0001, 0.0)
    np.testing.assert_allclose(ra, [359.9999, 0.0003], atol=1e-10)
    np.testing.assert_allclose(dec, [0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_separation_matches_skycoord(ra0, dec0):
    ra1, dec1 = _field(ra0, dec0, 100, 30.0, seed=4)
    ra2, dec2 = _field(ra0, dec0, 100, 30.0, seed=5)
    expected = SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg"))
    np.testing.assert_allclose(
        separation_arcsec(ra1, dec1, ra2, dec2), expected.arcsec, rtol=1e-10, atol=1e-9
    )


def test_separation_hand_values():
    # Across the wrap on the equator and along a meridian through the pole.
    assert separation_arcsec(359.9999, 0.0, 0.0001, 0.0) == pytest.approx(0.72, rel=1e-9)
    assert separation_arcsec(0.0, 89.9999, 180.0, 89.9999) == pytest.approx(0.72, rel=1e-9)
    # Same dec, 1 deg of RA apart at dec 60 is not 3600" (raw difference) but ~1800".
    s = separation_arcsec(10.0, 60.0, 11.0, 60.0)
    assert s == pytest.approx(
        np.degrees(2 * np.arcsin(np.cos(np.radians(60)) * np.sin(np.radians(0.5)))) * 3600
    )


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_match_nearest_matches_astropy(ra0, dec0, way):
    ra1, dec1 = _field(ra0, dec0, 150, 60.0, seed=6)
    ra2, dec2 = _field(ra0, dec0, 400, 60.0, seed=7)
    idx, sep = match_nearest(ra1, dec1, ra2, dec2, max_sep=2.0)
    c1, c2 = SkyCoord(ra1, dec1, unit="deg"), SkyCoord(ra2, dec2, unit="deg")
    aidx, asep, _ = c1.match_to_catalog_sky(c2)
    within = asep.arcsec <= 2.0
    assert 0 < within.sum() < len(ra1)  # the test exercises both outcomes
    np.testing.assert_array_equal(idx, np.where(within, aidx, -1))
    np.testing.assert_allclose(sep[within], asep.arcsec[within], rtol=1e-9)
    assert np.all(np.isnan(sep[~within]))


def test_match_nearest_units_and_edge_cases(way):
    ra2, dec2 = [0.0, 359.9997], [0.0, 0.0]  # the second is 1.08" away across the wrap
    idx, sep = match_nearest([0.00005, 359.9998], [0.0, 0.0], ra2, dec2, max_sep="0.5arcsec")
    assert idx.tolist() == [0, 1]
    np.testing.assert_allclose(sep, [0.18, 0.36], rtol=1e-9)
    idx, _ = match_nearest([359.9998], [0.0], ra2, dec2, max_sep=0.3 * u.arcsec)
    assert idx.tolist() == [-1]
    idx, sep = match_nearest([1.0], [1.0], [], [], max_sep=1)
    assert idx.tolist() == [-1] and np.isnan(sep[0])
    idx, sep = match_nearest([], [], ra2, dec2, max_sep=1)
    assert idx.size == 0 and sep.size == 0


def test_match_nearest_bad_input():
    with pytest.raises(InputError, match="NaN"):
        match_nearest([np.nan], [0.0], [0.0], [0.0], max_sep=1)
    with pytest.raises(InputError, match="Dec outside"):
        match_nearest([0.0], [0.0], [0.0], [95.0], max_sep=1)
    with pytest.raises(InputError, match="not an angle"):
        match_nearest([0.0], [0.0], [0.0], [0.0], max_sep="2kg")


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_match_within_scalar_radius_matches_search_around_sky(ra0, dec0, way):
    ra1, dec1 = _field(ra0, dec0, 100, 40.0, seed=8)
    ra2, dec2 = _field(ra0, dec0, 300, 40.0, seed=9)
    i1, i2, sep = match_within(ra1, dec1, ra2, dec2, radius=3.0)
    c1, c2 = SkyCoord(ra1, dec1, unit="deg"), SkyCoord(ra2, dec2, unit="deg")
    # search_around_sky returns (index into its argument, index into self, ...)
    a2, a1, _, _ = c1.search_around_sky(c2, 3.0 * u.arcsec)
    got = set(zip(i1.tolist(), i2.tolist()))
    assert got == set(zip(a1.tolist(), a2.tolist()))
    assert len(got) > 20
    # Sorted by centre, then by separation.
    assert np.all(np.diff(i1) >= 0)
    same = np.diff(i1) == 0
    assert np.all(np.diff(sep)[same] >= 0)
    np.testing.assert_allclose(sep, c1[i1].separation(c2[i2]).arcsec, rtol=1e-9)


def test_match_within_per_row_radius_brute_force(way):
    ra1, dec1 = _field(359.9999, 45.0, 60, 30.0, seed=10)
    ra2, dec2 = _field(359.9999, 45.0, 200, 30.0, seed=11)
    radius = np.random.default_rng(12).uniform(0.5, 5.0, 60)
    radius[3] = np.nan  # finds nothing
    i1, i2, _ = match_within(ra1, dec1, ra2, dec2, radius=radius)
    full = SkyCoord(ra1[:, None], dec1[:, None], unit="deg").separation(
        SkyCoord(ra2[None, :], dec2[None, :], unit="deg")
    )
    e1, e2 = np.nonzero(full.arcsec <= radius[:, None])
    assert set(zip(i1.tolist(), i2.tolist())) == set(zip(e1.tolist(), e2.tolist()))
    assert 3 not in i1.tolist()
    assert len(e1) > 10


def test_match_within_edges_and_bad_input(way):
    i1, i2, sep = match_within([0.0], [0.0], [], [], radius=1)
    assert i1.size == i2.size == sep.size == 0
    i1, i2, sep = match_within([0.0, 0.0], [0.0, 0.0], [0.0], [0.0], radius=[1.0, 1.0])
    assert i1.tolist() == [0, 1] and i2.tolist() == [0, 0]
    with pytest.raises(InputError, match="one per row"):
        match_within([0.0, 1.0], [0.0, 0.0], [0.0], [0.0], radius=[1.0, 2.0, 3.0])


def test_match_two_dimensional_positions_are_refused(way):
    # indices refer to a list of positions: a 2-D array is an error, not a garbage match
    ra, dec = np.full((2, 2), 10.0), np.full((2, 2), 20.0)
    for fn in (match_nearest, match_within):
        with pytest.raises(InputError, match="one-dimensional"):
            fn(ra, dec, [10.0], [20.0], 1.0)
        with pytest.raises(InputError, match="one-dimensional"):
            fn([10.0], [20.0], ra, dec, 1.0)


def test_match_within_infinite_radius_finds_nothing_unlike_max_sep(way):
    # 0.0001 deg of Dec apart: 0.36"
    i1, i2, sep = match_within([10.0, 10.0], [20.0, 20.0], [10.0], [20.0001], radius=np.inf)
    assert i1.size == i2.size == sep.size == 0
    i1, i2, sep = match_within([10.0, 10.0], [20.0, 20.0], [10.0], [20.0001], [np.inf, 1.0])
    assert i1.tolist() == [1] and i2.tolist() == [0]
    np.testing.assert_allclose(sep, [0.36], rtol=1e-9)
    idx, sep = match_nearest([10.0], [20.0], [10.0], [20.0001], max_sep=np.inf)
    assert idx.tolist() == [0]
    np.testing.assert_allclose(sep, [0.36], rtol=1e-9)


def test_to_arcsec():
    assert to_arcsec(2) == 2.0
    assert to_arcsec("0.5arcmin") == pytest.approx(30.0)
    assert to_arcsec('1.2"') == pytest.approx(1.2)
    assert to_arcsec(1 * u.mas) == pytest.approx(0.001)
    assert to_arcsec("3") == 3.0
    with pytest.raises(InputError, match="not an angle"):
        to_arcsec("2 m")


def test_centroid_across_wrap_and_pole():
    assert centroid([359.0, 1.0], [0.0, 0.0]) == pytest.approx((0.0, 0.0), abs=1e-12)
    _, dec0 = centroid([0.0, 90.0, 180.0, 270.0], [89.0, 89.0, 89.0, 89.0])
    assert dec0 == pytest.approx(90.0, abs=1e-9)
    # a small cluster: the centroid agrees with astropy's mean of the Cartesian vectors
    ra, dec = _field(359.9999, -30.0, 50, 60.0, seed=13)
    c = SkyCoord(ra, dec, unit="deg").cartesian.mean()
    ref = SkyCoord(c, representation_type="cartesian").spherical
    got = centroid(ra, dec)
    assert separation_arcsec(got[0], got[1], ref.lon.deg, ref.lat.deg) < 1e-9
    with pytest.raises(InputError):
        centroid([], [])


def test_tangent_plane_with_one_tangent_point_per_row():
    ra, dec = _field(10.0, 10.0, 20, 300.0, seed=14)
    ra0 = np.where(np.arange(20) < 10, 10.0, 359.99)
    dec0 = np.where(np.arange(20) < 10, 10.0, -5.0)
    xi, eta = tangent_plane(ra, dec, ra0, dec0)
    for k in (0, 15):
        one = tangent_plane(ra[k], dec[k], ra0[k], dec0[k])
        assert (xi[k], eta[k]) == pytest.approx(one, abs=1e-9)
    back = from_tangent_plane(xi, eta, ra0, dec0)
    assert np.max(separation_arcsec(back[0], back[1], ra, dec)) < 1e-8


@settings(max_examples=200, deadline=None)
@given(
    ra0=st.floats(0.0, 360.0, exclude_max=True),
    dec0=st.floats(-89.999, 89.999),
    xi=st.floats(-3600.0, 3600.0),
    eta=st.floats(-3600.0, 3600.0),
)
def test_projection_roundtrip_property(ra0, dec0, xi, eta):
    ra, dec = from_tangent_plane(xi, eta, ra0, dec0)
    assert 0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0
    xi2, eta2 = tangent_plane(ra, dec, ra0, dec0)
    assert xi2 == pytest.approx(xi, abs=1e-6)
    assert eta2 == pytest.approx(eta, abs=1e-6)
    # the distance from the tangent point is arctan(rho) for rho = sqrt(xi^2 + eta^2)
    rho = np.hypot(xi, eta) / 206264.80624709636
    expected = np.degrees(np.arctan(rho)) * 3600
    assert separation_arcsec(ra, dec, ra0, dec0) == pytest.approx(expected, abs=1e-6)


def test_separation_small_and_antipodal_hand_values():
    # 1 milliarcsec along the equator: the chord formula loses nothing at this size.
    assert separation_arcsec(10.0, 0.0, 10.0 + 1e-3 / 3600, 0.0) == pytest.approx(1e-3, rel=1e-6)
    # Antipodes: 180 deg = 648000", where an arccos of the dot product is ill-conditioned.
    assert separation_arcsec(0.0, 30.0, 180.0, -30.0) == pytest.approx(648000.0, rel=1e-12)
    assert separation_arcsec(0.0, 90.0, 0.0, -90.0) == pytest.approx(648000.0, rel=1e-12)


def test_separation_does_not_import_astropy_coordinates():
    import subprocess
    import sys

    code = (
        "import sys; from xrbid.sky import separation_arcsec; "
        "separation_arcsec([1.0], [2.0], [1.1], [2.1]); "
        "print('astropy.coordinates' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the dense (numpy) way of matching against the KD-tree way ---------------------------------


def _both(fn, *args, **kwargs):
    """``fn`` run with the KD-tree and with the dense way: (kdtree result, dense result)."""
    out = []
    for dense in (False, True):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sky, "_dense", lambda pairs, dense=dense: dense)
            out.append(fn(*args, **kwargs))
    return out


def _assert_same(a, b):
    """Arrays of the same dtype and the same values, bit for bit (NaN where NaN)."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y, strict=True)
        assert x.tobytes() == y.tobytes()


def _first_of_duplicates(ra, dec, idx):
    """For each index, the first index of set 2 at exactly the same position."""
    first = {}
    for j, key in enumerate(zip(ra.tolist(), dec.tolist())):
        first.setdefault(key, j)
    return np.array([first[(ra[j], dec[j])] if j >= 0 else -1 for j in idx])


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
@pytest.mark.parametrize("max_sep", [2.0, np.inf])
def test_match_nearest_dense_is_the_kdtree_on_random_fields(ra0, dec0, max_sep):
    ra1, dec1 = _field(ra0, dec0, 300, 60.0, seed=21)
    ra2, dec2 = _field(ra0, dec0, 700, 60.0, seed=22)
    kd, dense = _both(match_nearest, ra1, dec1, ra2, dec2, max_sep=max_sep)
    _assert_same(kd, dense)
    # and both are scipy's own KD-tree answer (no ties in random positions)
    from scipy.spatial import cKDTree

    _, ref = cKDTree(sky.unit_vectors(ra2, dec2)).query(sky.unit_vectors(ra1, dec1))
    found = dense[0] >= 0
    assert found.sum() > 50
    np.testing.assert_array_equal(dense[0][found], ref[found])
    if np.isinf(max_sep):
        assert found.all()
    else:
        assert (~found).sum() > 20  # some have nothing within 2"
        ref_sep = separation_arcsec(ra1, dec1, ra2[ref], dec2[ref])
        np.testing.assert_array_equal(found, ref_sep <= max_sep)


@pytest.mark.parametrize("seed", range(5))
def test_match_nearest_exact_duplicates_give_the_first_index_both_ways(seed):
    # set 2 lists positions several times, in shuffled order; set 1 holds some of the same
    # positions (distance 0 to each copy) and others near them
    rng = np.random.default_rng(seed)
    ra, dec = _field(0.0001, 30.0, 80, 20.0, seed=100 + seed)
    copies = rng.integers(0, 80, 120)
    order = rng.permutation(200)
    ra2 = np.concatenate([ra, ra[copies]])[order]
    dec2 = np.concatenate([dec, dec[copies]])[order]
    near_ra, near_dec = _field(0.0001, 30.0, 60, 20.0, seed=200 + seed)
    ra1 = np.concatenate([ra[:40], near_ra])
    dec1 = np.concatenate([dec[:40], near_dec])
    kd, dense = _both(match_nearest, ra1, dec1, ra2, dec2, max_sep=5.0)
    _assert_same(kd, dense)
    expected = _first_of_duplicates(ra2, dec2, dense[0])
    np.testing.assert_array_equal(dense[0], expected)
    assert np.all(dense[1][:40] == 0.0)
    # the tree alone picks another copy for many of them: the test exercises the tie rule
    from scipy.spatial import cKDTree

    _, tree_pick = cKDTree(sky.unit_vectors(ra2, dec2)).query(sky.unit_vectors(ra1, dec1))
    assert np.sum(tree_pick != dense[0]) > 10


def test_match_nearest_mirror_ties_give_the_first_index():
    # (0, +d) and (0, -d) are exactly as far from (0, 0): the one listed first wins, both ways
    ra1, dec1 = [0.0, 180.0], [0.0, 0.0]
    for ra2, dec2, first in [
        ([0.0, 0.0, 180.0, 180.0], [1e-4, -1e-4, -1e-4, 1e-4], [0, 2]),
        ([0.0, 0.0, 180.0, 180.0], [-1e-4, 1e-4, 1e-4, -1e-4], [0, 2]),
        ([10.0, 0.0, 0.0, 180.0, 180.0], [0.0, -1e-4, 1e-4, 1e-4, -1e-4], [1, 3]),
    ]:
        kd, dense = _both(match_nearest, ra1, dec1, ra2, dec2, max_sep=1.0)
        _assert_same(kd, dense)
        assert dense[0].tolist() == first
        np.testing.assert_allclose(dense[1], [0.36, 0.36], rtol=1e-9)


def test_match_nearest_at_the_pole_where_every_ra_is_as_near():
    # a ring of positions about the pole: mathematically all equally far from it, their
    # chords differ only by rounding (near-ties) and both ways decide them alike
    ring = np.arange(0.0, 360.0, 7.5)
    ra2 = np.concatenate([ring, ring + 3.0])
    dec2 = np.concatenate([np.full(ring.size, 89.9995), np.full(ring.size, 89.9990)])
    ra1 = np.array([0.0, 90.0, 33.3, 0.0])
    dec1 = np.array([90.0, 90.0, 90.0, -90.0])
    kd, dense = _both(match_nearest, ra1, dec1, ra2, dec2, max_sep=2.0)
    _assert_same(kd, dense)
    assert np.all(dense[0][:3] < ring.size) and dense[0][3] == -1
    np.testing.assert_allclose(dense[1][:3], 1.8, rtol=1e-6)  # 0.0005 deg from the pole


def test_match_nearest_across_the_ra_wrap_both_ways():
    ra2, dec2 = [359.9999, 0.0002, 180.0], [0.0, 0.0, 0.0]
    ra1, dec1 = [0.00001, 359.99999, 0.00015], [0.0, 0.0, 0.0]
    kd, dense = _both(match_nearest, ra1, dec1, ra2, dec2, max_sep=1.0)
    _assert_same(kd, dense)
    # hand values on the equator: 0.00011 deg = 0.396" to 359.9999 across the wrap (0.684" to
    # 0.0002); 0.00009 deg = 0.324"; 0.00005 deg = 0.18"
    assert dense[0].tolist() == [0, 0, 1]
    np.testing.assert_allclose(dense[1], [0.396, 0.324, 0.18], rtol=1e-9)


def test_match_nearest_small_edges_both_ways():
    one = ([1.0], [1.0])
    for args in [
        ([], [], [1.0], [1.0]),  # nothing to match
        ([1.0], [1.0], [], []),  # nothing to search
        (*one, [1.0], [1.0]),  # one position each, the same
        (*one, [1.1], [1.0]),  # one, too far
        ([1.0, 1.0], [1.0, 1.0], [1.0, 1.0002], [1.0002, 1.0]),  # repeated rows of set 1
    ]:
        kd, dense = _both(match_nearest, *args, max_sep=2.0)
        _assert_same(kd, dense)
    kd, dense = _both(match_nearest, [1.0, 1.0], [1.0, 1.0], [1.0, 1.0002], [1.0002, 1.0])
    # 0.0002 deg of RA at Dec 1 is 0.72" cos(1 deg), nearer than 0.0002 deg of Dec (0.72")
    assert dense[0].tolist() == [1, 1]
    np.testing.assert_allclose(dense[1], 0.72 * np.cos(np.radians(1.0)), rtol=1e-6)


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_match_within_dense_is_the_kdtree_on_random_fields(ra0, dec0):
    ra1, dec1 = _field(ra0, dec0, 200, 40.0, seed=31)
    ra2, dec2 = _field(ra0, dec0, 600, 40.0, seed=32)
    radius = np.random.default_rng(33).uniform(0.5, 4.0, 200)
    radius[[5, 17]] = np.nan, -1.0
    kd, dense = _both(match_within, ra1, dec1, ra2, dec2, radius)
    _assert_same(kd, dense)
    assert dense[0].size > 100
    assert 5 not in dense[0] and 17 not in dense[0]


def test_match_within_duplicates_pole_and_wrap_both_ways():
    ra2 = np.array([0.0, 0.0, 359.9999, 0.0001, 0.0001, 10.0, 20.0, 10.0])
    dec2 = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 89.9999, 89.9999, 89.9999])
    ra1 = np.array([0.0, 359.99995, 0.0, 200.0])
    dec1 = np.array([0.0, 0.0, 0.0, 90.0])
    kd, dense = _both(match_within, ra1, dec1, ra2, dec2, radius=0.5)
    _assert_same(kd, dense)
    i1, i2, sep = dense
    assert i1.tolist() == [0] * 5 + [1] * 3 + [2] * 5 + [3] * 3
    # the two copies of (0, 0) at 0", in the order of set 2, then 0.36" (0.0001 deg) to
    # 359.9999 across the wrap and to the two copies of 0.0001
    for row in (0, 2):
        assert i2[i1 == row][:2].tolist() == [0, 1]
        assert sorted(i2[i1 == row][2:].tolist()) == [2, 3, 4]
        np.testing.assert_allclose(sep[i1 == row], [0, 0, 0.36, 0.36, 0.36], rtol=1e-9)
    # 0.00005 deg = 0.18" from 359.99995 to (0, 0) twice and to 359.9999; 0.54" to 0.0001
    assert sorted(i2[i1 == 1].tolist()) == [0, 1, 2]
    np.testing.assert_allclose(sep[i1 == 1], 0.18, rtol=1e-6)
    # from the pole, 0.0001 deg = 0.36" to each position at Dec 89.9999
    assert sorted(i2[i1 == 3].tolist()) == [5, 6, 7]
    np.testing.assert_allclose(sep[i1 == 3], 0.36, rtol=1e-6)
    assert np.all(np.diff(sep[i1 == 3]) >= 0)
    kd, dense = _both(match_within, [], [], ra2, dec2, radius=1.0)
    _assert_same(kd, dense)


def test_small_matches_do_not_import_scipy_spatial_and_large_ones_do():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from xrbid.sky import match_nearest, match_within\n"
        "n = int(sys.argv[1]); ra = np.linspace(10, 10.1, n); dec = np.full(n, 5.0)\n"
        "match_nearest(ra, dec, ra + 1e-5, dec, max_sep=1)\n"
        "match_within(ra, dec, ra + 1e-5, dec, radius=1)\n"
        "print('scipy.spatial' in sys.modules)"
    )
    for n, imported in [(900, "False"), (1100, "True")]:  # 1e6 pairs lie between
        out = subprocess.run(
            [sys.executable, "-c", code, str(n)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == imported


def test_match_within_radii_up_to_the_whole_sky_both_ways():
    # radii of 0.5 and 200 deg: the band of Dec is clipped at the poles, nothing is lost
    ra1, dec1 = [0.0, 10.0, 250.0], [0.0, -80.0, 89.0]
    ra2, dec2 = [180.0, 5.0, 359.0, 0.0, 90.0], [0.0, 89.0, -89.5, 0.4, -90.0]
    kd, dense = _both(match_within, ra1, dec1, ra2, dec2, [0.5 * 3600, 720000.0, 1800.0])
    _assert_same(kd, dense)
    i1, i2, sep = dense
    # (10, -80) reaches every position, nearest first; (250, 89) is 1.7 deg from (5, 89)
    assert i1.tolist() == [0, 1, 1, 1, 1, 1] and i2.tolist() == [3, 2, 4, 3, 0, 1]
    # 0.4 deg along the meridian; the others against the spherical law of cosines
    assert sep[0] == pytest.approx(0.4 * 3600, rel=1e-12)
    a = np.radians
    cos_sep = np.sin(a(-80.0)) * np.sin(a(np.array(dec2)[i2[1:]])) + np.cos(a(-80.0)) * np.cos(
        a(np.array(dec2)[i2[1:]])
    ) * np.cos(a(np.array(ra2)[i2[1:]] - 10.0))
    np.testing.assert_allclose(sep[1:], np.degrees(np.arccos(cos_sep)) * 3600, rtol=1e-9)
