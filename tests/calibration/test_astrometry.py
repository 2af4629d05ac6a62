"""WCS fit: recover offsets, rotations, scales and distortions injected into real HST WCSs."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from xrbid.calibration.astrometry import (
    calibrate_wcs,
    fit_wcs,
    match_to_reference,
    plot_residuals,
    plot_wcs_residuals,
    write_wcs,
)
from xrbid.errors import CalibrationError, ColumnError, InputError, OutputExistsError

ROOT = Path(__file__).resolve().parents[2]
A478 = ROOT / "testdata" / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
GOODSN = (
    ROOT
    / "testdata"
    / "hst-acs-candels-goodsn"
    / "candels_gn_30mas_189.492060_62.206150_100.0pix-x-100.0pix_astrocut.fits"
)
TUC47 = ROOT / "testdata" / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"
ACS_WFC_SHAPE = (2048, 4096)  # the FLT's SCI arrays are 1x1 placeholders for this chip size
TOLERANCE = 0.05  # pixels


def _wcs(path: Path, ext: int = 1) -> WCS:
    with fits.open(path) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(hdul[ext].header, hdul)


def _linear(w: WCS) -> np.ndarray:
    return w.pixel_scale_matrix


def perturb(
    w: WCS,
    east: float = 0.0,
    north: float = 0.0,
    rot_deg: float = 0.0,
    scale: float = 1.0,
    skew: float = 0.0,
) -> WCS:
    """A copy of ``w`` moved on the sky (arcsec), rotated, scaled and skewed."""
    p = w.deepcopy()
    p.wcs.set()
    dec = np.radians(p.wcs.crval[1])
    p.wcs.crval = p.wcs.crval + np.array([east / 3600 / np.cos(dec), north / 3600])
    th = np.radians(rot_deg)
    rot = scale * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = rot @ np.array([[1.0, skew], [0.0, 1.0]]) @ _linear(p)
    if p.wcs.has_cd():
        del p.wcs.cd
    p.wcs.pc = m
    p.wcs.cdelt = [1.0, 1.0]
    p.wcs.set()
    np.testing.assert_allclose(_linear(p), m, rtol=1e-14)
    return p


def max_error(truth: WCS, fitted: WCS, shape: tuple[int, int]) -> float:
    """Largest pixel distance, over a grid covering the image, between the two WCSs."""
    ny, nx = shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, 21), np.linspace(0, ny - 1, 21))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    sky = truth.all_pix2world(grid, 0)
    back = fitted.all_world2pix(sky, 0, tolerance=1e-9, maxiter=100)
    return float(np.max(np.hypot(*(back - grid).T)))


def random_stars(shape, n, seed):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(0, shape[1] - 1, n), rng.uniform(0, shape[0] - 1, n)])


@pytest.fixture(scope="module")
def a478_stars():
    """Real star positions: the sources detected on the Abell 478 WFPC2 image."""
    from xrbid.photometry import detect_sources, load_image

    img = load_image(A478)
    stars = detect_sources(img, fwhm=2.0, threshold_sigma=5.0)
    assert len(stars) > 100
    return img.wcs, stars[["x", "y"]].to_numpy(float), img.data.shape


# ------------------------------------------------------------------ recovery of injected errors


@pytest.mark.parametrize(
    ("fit", "change"),
    [
        ("shift", dict(east=0.7, north=-0.4)),
        ("rscale", dict(east=-1.2, north=0.3, rot_deg=0.05, scale=1.0008)),
        ("linear", dict(east=0.4, north=0.9, rot_deg=-0.03, scale=0.9995, skew=3e-4)),
    ],
)
def test_recovers_injected_errors_on_abell478(a478_stars, fit, change):
    truth, xy, shape = a478_stars
    sky = truth.all_pix2world(xy, 0)
    wrong = perturb(truth, **change)
    assert max_error(truth, wrong, shape) > 3  # the injected error is large
    result = fit_wcs(wrong, xy, sky[:, 0], sky[:, 1], fit=fit, shape=shape)
    assert max_error(truth, result.wcs, shape) < TOLERANCE
    assert result.n_matched == len(xy)
    assert result.rms_pix < 1e-3
    if "skew" in change:  # rotation and scale are not single numbers under a skew
        return
    # the reported change undoes the injected one
    assert result.rotation_deg == pytest.approx(-change.get("rot_deg", 0.0), abs=2e-3)
    assert result.scale == pytest.approx(1 / change.get("scale", 1.0), abs=2e-5)


def test_recovers_offset_and_rotation_on_candels_goodsn():
    truth = _wcs(GOODSN, 1)
    shape = (100, 100)
    xy = random_stars(shape, 25, seed=3)
    sky = truth.all_pix2world(xy, 0)
    # The mosaic's reference pixel lies ~15000 pixels off this cutout, so a rotation of 0.02
    # degrees about it moves the cutout by ~5 pixels (0.16 arcsec).
    wrong = perturb(truth, east=0.05, north=0.08, rot_deg=0.02)
    assert max_error(truth, wrong, shape) > 3
    result = fit_wcs(wrong, xy, sky[:, 0], sky[:, 1], fit="rscale", shape=shape, match_radius=0.06)
    assert max_error(truth, result.wcs, shape) < TOLERANCE
    assert result.rotation_deg == pytest.approx(-0.02, abs=1e-4)


def test_sip_image_keeps_its_distortion_under_linear_fits():
    truth = _wcs(TUC47, 1)
    assert truth.sip is not None
    xy = random_stars(ACS_WFC_SHAPE, 1500, seed=5)
    sky = truth.all_pix2world(xy, 0)
    wrong = perturb(truth, east=0.6, north=-0.8, rot_deg=0.01, scale=1.0002)
    for fit in ("shift", "rscale"):
        result = fit_wcs(wrong, xy, sky[:, 0], sky[:, 1], fit=fit, shape=ACS_WFC_SHAPE)
        assert result.wcs.sip is not None
        np.testing.assert_array_equal(result.wcs.sip.a, truth.sip.a)
        if fit == "rscale":
            assert max_error(truth, result.wcs, ACS_WFC_SHAPE) < TOLERANCE
    assert max_error(truth, result.wcs, ACS_WFC_SHAPE) < TOLERANCE


def test_sip_fit_recovers_the_acs_distortion_from_a_plain_tan_wcs():
    truth = _wcs(TUC47, 1)
    xy = random_stars(ACS_WFC_SHAPE, 2000, seed=7)
    sky = truth.all_pix2world(xy, 0)
    wrong = perturb(truth, east=0.3, north=0.2)
    wrong.sip = None
    wrong.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wrong.wcs.set()
    assert max_error(truth, wrong, ACS_WFC_SHAPE) > 20  # ACS/WFC distortion is large
    result = fit_wcs(
        wrong,
        xy,
        sky[:, 0],
        sky[:, 1],
        fit="sip",
        sip_degree=truth.sip.a_order,
        search_radius=40.0,
        match_radius=2.0,
        shape=ACS_WFC_SHAPE,
    )
    assert result.fit == "sip" and result.wcs.sip is not None
    assert max_error(truth, result.wcs, ACS_WFC_SHAPE) < TOLERANCE


def test_noise_and_outliers_are_clipped(a478_stars):
    truth, xy, shape = a478_stars
    rng = np.random.default_rng(11)
    sky = truth.all_pix2world(xy, 0)
    noisy = xy + rng.normal(0, 0.02, xy.shape)
    bad = rng.choice(len(xy), size=len(xy) // 20, replace=False)
    noisy[bad] += rng.choice([-1, 1], (len(bad), 2)) * rng.uniform(1.5, 3.0, (len(bad), 2))
    wrong = perturb(truth, east=0.5, north=0.5, rot_deg=0.02)
    result = fit_wcs(wrong, noisy, sky[:, 0], sky[:, 1], fit="rscale", shape=shape)
    assert max_error(truth, result.wcs, shape) < TOLERANCE
    clipped = set(result.matches.loc[~result.matches.used, "det_index"])
    assert set(bad) <= clipped | (set(bad) - set(result.matches.det_index))
    # rms of 2-D Gaussian noise with 0.02 px per axis is 0.02 * sqrt(2)
    assert result.rms_pix == pytest.approx(0.02 * np.sqrt(2), rel=0.15)


def test_coarse_offset_found_by_histogram(a478_stars):
    truth, xy, shape = a478_stars
    sky = truth.all_pix2world(xy, 0)
    wrong = perturb(truth, east=2.0, north=-1.5)  # 0.1"/pix: 20 and 15 pixels
    det, ref, coarse = match_to_reference(
        wrong, xy, sky[:, 0], sky[:, 1], search_radius=5.0, match_radius=0.5, shape=shape
    )
    # pixel offset of the same sky point through the two WCSs, computed independently
    expect = xy[0] - wrong.wcs_world2pix(sky[:1], 0)[0]
    np.testing.assert_allclose(coarse, expect, atol=0.2)
    assert np.array_equal(det, ref)  # the star list matched itself one to one


# ------------------------------------------------------------------ bad input


def test_no_overlap_is_said(a478_stars):
    truth, xy, shape = a478_stars
    with pytest.raises(CalibrationError, match="no overlap"):
        fit_wcs(truth, xy, np.array([10.0, 10.1]), np.array([-30.0, -30.1]), shape=shape)


def test_too_few_matches_falls_back_and_says_so(a478_stars):
    truth, xy, shape = a478_stars
    few = xy[[0, 200, 300]]  # three detections, two of them in the catalogue
    sky = truth.all_pix2world(few[:2], 0)
    wrong = perturb(truth, east=0.3)
    result = fit_wcs(wrong, few, sky[:, 0], sky[:, 1], fit="linear", shape=shape)
    assert result.fit == "shift" and result.requested == "linear"
    assert "only 2 matched star(s)" in result.notes[-1]
    assert max_error(truth, result.wcs, shape) < TOLERANCE  # a pure shift was injected


def test_too_few_matches_without_fallback_fails_with_the_count(a478_stars):
    truth, xy, shape = a478_stars
    few = xy[[0, 200, 300]]  # three detections, two of them in the catalogue
    sky = truth.all_pix2world(few[:2], 0)
    with pytest.raises(CalibrationError, match=r"only 2 catalogue star\(s\) matched"):
        fit_wcs(truth, few, sky[:, 0], sky[:, 1], fit="rscale", shape=shape, fallback=False)


def test_no_pairs_within_search_radius(a478_stars):
    truth, _, shape = a478_stars
    far = truth.all_pix2world(np.array([[300.0, 300.0]]), 0)
    lonely = np.array([[10.0, 10.0]])
    with pytest.raises(CalibrationError, match="no detection lies within"):
        fit_wcs(truth, lonely, far[:, 0], far[:, 1], shape=shape)


def test_unknown_geometry(a478_stars):
    truth, xy, _ = a478_stars
    with pytest.raises(InputError, match="unknown fit 'affine'"):
        fit_wcs(truth, xy, [0.0], [0.0], fit="affine")


# ------------------------------------------------------------------ output file


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_calibrate_wcs_writes_copy_with_old_wcs_as_alternate(a478_stars, tmp_path):
    truth, xy, shape = a478_stars
    image = tmp_path / "a478.fits"
    with fits.open(A478) as hdul:
        wrong = perturb(truth, east=0.8, north=-0.6, rot_deg=0.02)
        assert "CD1_1" in hdul[1].header and "PC1_1" not in hdul[1].header
        m = _linear(wrong)
        for i in (1, 2):
            hdul[1].header[f"CRVAL{i}"] = wrong.wcs.crval[i - 1]
            for j in (1, 2):
                hdul[1].header[f"CD{i}_{j}"] = m[i - 1, j - 1]
        hdul.writeto(image)
    before = _sha(image)
    sky = truth.all_pix2world(xy, 0)
    ref = pd.DataFrame({"ra": sky[:, 0], "dec": sky[:, 1]})
    out = tmp_path / "a478_wcs.fits"
    result = calibrate_wcs(image, ref, out, fit="rscale", fwhm=2.0)
    assert _sha(image) == before  # original untouched
    assert any("no proper motions" in n for n in result.notes)
    with fits.open(out) as hdul:
        header = hdul[1].header
        new = WCS(header)
        old = WCS(header, key="O")
        np.testing.assert_array_equal(hdul[1].data, fits.getdata(image, 1))
    assert max_error(truth, new, shape) < TOLERANCE
    np.testing.assert_allclose(old.wcs.crval, wrong.wcs.crval, rtol=0, atol=1e-12)
    np.testing.assert_allclose(_linear(old), _linear(wrong), rtol=1e-12)
    with pytest.raises(OutputExistsError):
        calibrate_wcs(image, ref, out, fit="rscale", fwhm=2.0)


def test_calibrate_wcs_names_the_missing_reference_column_and_writes_nothing(tmp_path):
    out = tmp_path / "a478_wcs.fits"
    with pytest.raises(
        ColumnError, match=r"^the reference catalogue has no 'dec' column, needed for the WCS fit;"
    ):
        calibrate_wcs(A478, pd.DataFrame({"ra": [63.35]}), out)
    assert not out.exists()


def test_write_wcs_picks_a_free_alternate_letter(tmp_path):
    # the real ACS header already holds an alternate WCS 'O' (the original OPUS solution)
    truth = _wcs(TUC47, 1)
    with fits.open(TUC47) as hdul:
        assert "WCSNAMEO" in hdul[1].header
        opus = WCS(hdul[1].header, key="O")
    new = perturb(truth, east=0.1)
    out = tmp_path / "flt_wcs.fits"
    key = write_wcs(TUC47, out, new, ext=1)
    assert key == "P"
    with fits.open(out) as hdul:
        h = hdul[1].header
        written = WCS(h, hdul)
        np.testing.assert_allclose(WCS(h, key="O").wcs.crval, opus.wcs.crval, atol=1e-12)
        np.testing.assert_allclose(WCS(h, key="P").wcs.crval, truth.wcs.crval, atol=1e-12)
    np.testing.assert_allclose(written.wcs.crval, new.wcs.crval, atol=1e-12)
    np.testing.assert_allclose(written.sip.a, truth.sip.a, rtol=1e-13)  # header: 14 digits
    with pytest.raises(InputError, match="is the input image"):
        write_wcs(out, out, new, ext=1, overwrite=True)


def test_residual_plot(a478_stars, tmp_path):
    truth, xy, shape = a478_stars
    sky = truth.all_pix2world(xy, 0)
    result = fit_wcs(perturb(truth, east=0.3), xy, sky[:, 0], sky[:, 1], shape=shape)
    path = plot_residuals(result, tmp_path / "res.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = result.to_dict()
    assert d["n_matched"] == len(xy) and d["fit"] == "rscale"
    pdf = plot_residuals(result, tmp_path / "res.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"  # the format of the suffix, not PNG bytes
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(2, 2).ravel()
    assert plot_wcs_residuals(result, ax=axes[1:]) is fig
    assert not axes[0].lines and not axes[0].collections
    used = result.matches["used"].to_numpy(bool)
    np.testing.assert_allclose(axes[2].lines[1].get_xdata(), result.matches["x"][used])


def test_sip_refit_alternate_keeps_old_linear_solution_as_plain_tan(tmp_path):
    truth = _wcs(TUC47, 1)
    xy = random_stars(ACS_WFC_SHAPE, 800, seed=9)
    sky = truth.all_pix2world(xy, 0)
    result = fit_wcs(truth, xy, sky[:, 0], sky[:, 1], fit="sip", sip_degree=3)
    out = tmp_path / "flt_sip.fits"
    key = write_wcs(TUC47, out, result.wcs, ext=1)
    with fits.open(out) as hdul:
        h = hdul[1].header
        assert h[f"CTYPE1{key}"] == "RA---TAN" and h["CTYPE1"] == "RA---TAN-SIP"
        assert h["A_ORDER"] == 3  # the new polynomial replaced the degree-4 one
        np.testing.assert_allclose(WCS(h, key=key).wcs.crval, truth.wcs.crval, atol=1e-12)
