"""``xrbid calib wcs`` on the real Abell 478 WFPC2 image with an injected WCS error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from click.testing import CliRunner

from xrbid.cli.main import cli

from ..calibration.test_astrometry import A478, max_error, perturb
from ..recorded_archive import Reply, archive_fixture  # noqa: F401 (the `archive` fixture)

GAIA_VOT = (
    Path(__file__).resolve().parents[2]
    / "testdata"
    / "gaia-dr3-astroquery"
    / "1710099405832VAL-result.vot"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XRBID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRBID_OFFLINE", raising=False)


@pytest.fixture(scope="module")
def shifted_image(tmp_path_factory):
    """A copy of the Abell 478 image whose WCS is 0.9" off and rotated, and the true stars."""
    from xrbid.photometry import detect_sources, load_image

    img = load_image(A478)
    truth = img.wcs
    stars = detect_sources(img, fwhm=2.0, threshold_sigma=5.0)
    xy = stars[["x", "y"]].to_numpy(float)
    sky = truth.all_pix2world(xy, 0)
    folder = tmp_path_factory.mktemp("wcs")
    wrong = perturb(truth, east=0.9, north=-0.5, rot_deg=0.03)
    image = folder / "a478_shifted.fits"
    with fits.open(A478) as hdul:
        m = wrong.pixel_scale_matrix
        for i in (1, 2):
            hdul[1].header[f"CRVAL{i}"] = wrong.wcs.crval[i - 1]
            for j in (1, 2):
                hdul[1].header[f"CD{i}_{j}"] = m[i - 1, j - 1]
        hdul.writeto(image)
    ref = folder / "stars.ecsv"
    Table.from_pandas(pd.DataFrame({"ra": sky[:, 0], "dec": sky[:, 1]})).write(ref)
    return image, ref, truth, img.data.shape


def _run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_wcs_fit_from_a_table(shifted_image, tmp_path):
    image, ref, truth, shape = shifted_image
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    out, png, matches = tmp_path / "fixed.fits", tmp_path / "res.png", tmp_path / "m.csv"
    r = _run(
        "calib", "wcs", image, "--ref", ref, "-o", out, "--fwhm", "2", "--plot", png,
        "--matches", matches, "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["fit"] == "rscale" and summary["n_used"] > 100
    assert summary["rotation_deg"] == pytest.approx(-0.03, abs=1e-3)
    with fits.open(out) as hdul:
        fixed = WCS(hdul[1].header)
        assert "CTYPE1O" in hdul[1].header  # the old WCS, kept as an alternate
    assert max_error(truth, fixed, shape) < 0.05
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before
    assert png.read_bytes()[:4] == b"\x89PNG"
    m = pd.read_csv(matches)
    assert {"x", "y", "ra", "dec", "dx", "dy", "used"} <= set(m.columns)
    assert len(m) == summary["n_matched"]


def test_human_summary_and_existing_output(shifted_image, tmp_path):
    image, ref, _, _ = shifted_image
    out = tmp_path / "fixed.fits"
    r = _run("calib", "wcs", image, "--ref", ref, "-o", out, "--fwhm", "2", "--fit", "shift")
    assert r.exit_code == 0, r.output
    assert "shift fit to" in r.output and "mas ->" in r.output
    r = _run("calib", "wcs", image, "--ref", ref, "-o", out, "--fwhm", "2")
    assert r.exit_code == 1 and "--overwrite" in r.output


def test_output_must_differ_from_input(shifted_image):
    image, ref, _, _ = shifted_image
    r = _run("calib", "wcs", image, "--ref", ref, "-o", image, "--overwrite")
    assert r.exit_code == 1 and "IMAGE and -o/--output both name" in r.output


def test_missing_reference_table(shifted_image, tmp_path):
    image, _, _, _ = shifted_image
    r = _run("calib", "wcs", image, "--ref", tmp_path / "nope.ecsv", "-o", tmp_path / "o.fits")
    assert r.exit_code == 1 and "no such file; give a table file or 'gaia'" in r.output


def test_gaia_reference_offline_without_cache(shifted_image, tmp_path, monkeypatch):
    image, _, _, _ = shifted_image
    monkeypatch.setenv("XRBID_OFFLINE", "1")
    out = tmp_path / "o.fits"
    r = _run("calib", "wcs", image, "--ref", "gaia", "-o", out)
    assert r.exit_code == 1 and "offline mode: no cached Gaia answer" in r.output
    assert not out.exists()


def test_gaia_field_elsewhere_says_no_overlap(shifted_image, archive, tmp_path, monkeypatch):
    """A real Gaia DR3 answer (two stars elsewhere on the sky) does not cover Abell 478."""
    image, _, _, _ = shifted_image
    archive.reply("/tap-server/tap/sync", Reply(GAIA_VOT.read_bytes()))
    monkeypatch.setenv("XRBID_GAIA_TAP_URL", archive.url + "/")
    out = tmp_path / "o.fits"
    r = _run("calib", "wcs", image, "--ref", "gaia", "-o", out, "--fwhm", "2")
    assert r.exit_code == 1 and "no overlap" in r.output, r.output
    assert not out.exists()
    query = archive.requests[0][1]["QUERY"]
    assert "CIRCLE('ICRS', 63.35" in query  # the cone is centred on the image
    assert np.isclose(float(query.split("CIRCLE('ICRS', ")[1].split(",")[1]), 10.46, atol=0.01)


def test_matches_in_the_table_format_of_their_extension(shifted_image, tmp_path):
    image, ref, _, _ = shifted_image
    out, matches = tmp_path / "fixed.fits", tmp_path / "m.ecsv"
    r = _run("calib", "wcs", image, "--ref", ref, "-o", out, "--fwhm", "2", "--fit", "shift",
             "--matches", matches, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    table = Table.read(matches, format="ascii.ecsv")
    assert len(table) == json.loads(r.output)["n_matched"]
    assert {"x", "y", "ra", "dec", "dx", "dy", "used"} <= set(table.colnames)
    assert str(table["ra"].unit) == "deg"  # the canonical schema's unit, written by write_table
    # a suffix that names no table format is refused before any work
    bad, out2 = tmp_path / "m.txt", tmp_path / "fixed2.fits"
    r = _run("calib", "wcs", image, "--ref", ref, "-o", out2, "--fwhm", "2", "--matches", bad)
    assert r.exit_code == 1 and r.output.startswith("Error:") and "m.txt" in r.output
    assert not out2.exists() and not bad.exists()
