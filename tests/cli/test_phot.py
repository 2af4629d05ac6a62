"""Tests of ``xrbid phot detect/measure/counterparts`` on the shipped HST images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.regions import read_regions
from xrbid.tables import read_table

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
A478 = TESTDATA / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
OMEGACEN = TESTDATA / "hst-wfpc2-omegacen-c0f" / "u40x010hm_c0f.fits.gz"
CANDELS = (
    TESTDATA
    / "hst-acs-candels-goodsn"
    / "candels_gn_30mas_189.492060_62.206150_100.0pix-x-100.0pix_astrocut.fits"
)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> None:
    """Exit code 1, one 'Error:' line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope="module")
def a478_sources(tmp_path_factory):
    out = tmp_path_factory.mktemp("a478") / "a478.ecsv"
    reg = out.with_suffix(".reg")
    result = run("phot", "detect", A478, "-o", out, "--fwhm", "0.2arcsec", "--regions", reg)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{len(read_table(out))} sources on ")
    return out


def test_detect_writes_table_and_regions(a478_sources):
    table = read_table(a478_sources)
    assert {"id", "x", "y", "ra", "dec", "sharpness", "peak"} <= set(table.columns)
    regs = read_regions(a478_sources.with_suffix(".reg"))
    assert len(regs) == len(table)
    np.testing.assert_allclose(regs["ra"], table["ra"], atol=1e-9)


def test_detect_json_summary(tmp_path):
    out = tmp_path / "s.ecsv"
    result = run(
        "phot",
        "detect",
        f"{OMEGACEN}[chip=2]",
        "-o",
        out,
        "--fwhm",
        "1.5pix",
        "--threshold",
        "10",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_sources"] == len(read_table(out)) > 100
    assert summary["fwhm_pix"] == 1.5 and summary["pixel_origin"] == 0


def test_measure_with_auto_apcorr(tmp_path, a478_sources):
    out = tmp_path / "phot.ecsv"
    result = run(
        "phot",
        "measure",
        A478,
        "--positions",
        a478_sources,
        "-o",
        out,
        "--radius",
        "2pix",
        "--large-radius",
        "5pix",
        "--fwhm",
        "0.2arcsec",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    phot = read_table(out)
    assert len(phot) == len(read_table(a478_sources))
    assert summary["apcorr"]["mode"] == "auto" and summary["apcorr"]["value"] < 0
    assert {"mag_ab", "mag_st", "mag_vega", "mag_err", "flag_saturated"} <= set(phot.columns)
    # one line per distinct warning on stderr: no EEF for WFPC2 (its Vega offset is known)
    warnings = [w for w in result.stderr.splitlines() if w.startswith("Warning: ")]
    assert len(warnings) == 1 and "encircled-energy" in warnings[0]
    assert phot["mag_vega"].notna().any()


def test_measure_explicit_apcorr_and_zeropoint(tmp_path, a478_sources):
    out = tmp_path / "phot.ecsv"
    result = run(
        "phot",
        "measure",
        A478,
        "--positions",
        a478_sources,
        "-o",
        out,
        "--apcorr",
        "-0.2",
        "--zeropoint",
        "25.0",
    )
    assert result.exit_code == 0, result.output
    assert "aperture correction -0.200 mag (value)" in result.stdout
    phot = read_table(out)
    ok = phot["rate"] > 0
    np.testing.assert_allclose(phot.loc[ok, "mag"], -2.5 * np.log10(phot.loc[ok, "rate"]) + 24.8)


def test_counterparts_and_cmd(tmp_path):
    cands = tmp_path / "cands.ecsv"
    assert run("phot", "detect", f"{CANDELS}[1]", "-o", cands, "--fwhm", "3pix").exit_code == 0
    out, png = tmp_path / "cphot.ecsv", tmp_path / "cmd.png"
    result = run(
        "phot",
        "counterparts",
        cands,
        "--image",
        f"F814W={CANDELS}[2]",
        "--image",
        f"F606W={CANDELS}[1]",
        "-o",
        out,
        "--plot",
        png,
        "--apcorr",
        "none",
        "--radius",
        "4pix",
        "--system",
        "ab",
    )
    assert result.exit_code == 0, result.output
    table = read_table(out)
    assert len(table) == len(read_table(cands))
    assert "f606w_f814w" in table.columns
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "F606W, F814W" in result.stdout


def test_counterparts_zeropoint_override_shifts_by_the_difference(tmp_path):
    cands = tmp_path / "cands.ecsv"
    assert run("phot", "detect", f"{CANDELS}[1]", "-o", cands, "--fwhm", "3pix").exit_code == 0
    common = ["--image", f"F814W={CANDELS}[2]", "--image", f"F606W={CANDELS}[1]"]
    common += ["--apcorr", "none", "--radius", "4pix", "--system", "ab"]
    header_out, user_out = tmp_path / "header.ecsv", tmp_path / "user.ecsv"
    assert run("phot", "counterparts", cands, *common, "-o", header_out).exit_code == 0
    result = run(
        "phot", "counterparts", cands, *common, "--zeropoint", "f814w=25.0", "-o", user_out
    )
    assert result.exit_code == 0, result.output
    assert "F814W: " in result.stdout and "with user mag" in result.stdout
    # AB zero point by hand from the F814W cutout header:
    # ZP_AB = -2.5 log10 PHOTFLAM - 21.10 - 5 log10 PHOTPLAM + 18.692
    with fits.open(CANDELS) as hdul:
        photflam, photplam = hdul[2].header["PHOTFLAM"], hdul[2].header["PHOTPLAM"]
    zp_ab = -2.5 * np.log10(photflam) - 21.10 - 5 * np.log10(photplam) + 18.692
    header, user = read_table(header_out), read_table(user_out)
    ok = header["f814w_mag"].notna()
    assert ok.sum() > 0
    np.testing.assert_allclose(
        user.loc[ok, "f814w_mag"] - header.loc[ok, "f814w_mag"], 25.0 - zp_ab, atol=1e-9
    )
    np.testing.assert_array_equal(user["f606w_mag"], header["f606w_mag"])  # not overridden


def test_counterparts_bad_zeropoint(tmp_path, a478_sources):
    out = tmp_path / "c.ecsv"
    base = ["phot", "counterparts", a478_sources, "--image", f"F814W={A478}", "-o", out]
    result = run(*base, "--zeropoint", "F814W=bright")
    assert result.exit_code == 2 and "FILTER=VALUE" in result.stderr
    result = run(*base, "--zeropoint", "F555W=25.0")
    assert result.exit_code == 2 and "no --image for F555W" in result.stderr
    assert not out.exists()


def test_existing_output_not_overwritten(tmp_path, a478_sources):
    out = tmp_path / "exists.ecsv"
    out.write_text("keep me")
    result = run("phot", "detect", A478, "-o", out)
    assert_user_error(result, "exists", "--overwrite")
    assert out.read_text() == "keep me"


def test_missing_photflam_is_one_line(tmp_path, a478_sources):
    with fits.open(A478) as hdul:
        hdu = fits.PrimaryHDU(hdul[1].data, hdul[1].header)
    del hdu.header["PHOTFLAM"]
    img = tmp_path / "nophot.fits"
    hdu.writeto(img)
    out = tmp_path / "p.ecsv"
    result = run("phot", "measure", img, "--positions", a478_sources, "-o", out, "--apcorr", "none")
    assert_user_error(result, "PHOTFLAM is missing", "--zeropoint")
    assert not out.exists()


def test_zero_exptime_is_one_line(tmp_path):
    with fits.open(A478) as hdul:
        hdu = fits.PrimaryHDU(hdul[1].data, hdul[1].header)
    hdu.header["EXPTIME"] = 0
    img = tmp_path / "zero.fits"
    hdu.writeto(img)
    result = run("phot", "detect", img, "-o", tmp_path / "s.ecsv")
    assert_user_error(result, "exposure time is 0.0 s")


def test_image_without_wcs_said_once(tmp_path):
    with fits.open(A478) as hdul:
        data = hdul[1].data
    img = tmp_path / "nowcs.fits"
    fits.PrimaryHDU(data).writeto(img)
    out = tmp_path / "s.ecsv"
    result = run(
        "phot", "detect", img, "-o", out, "--fwhm", "2pix", "--regions", tmp_path / "s.reg"
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("pixel-only mode") == 1
    assert read_table(out)["ra"].isna().all()
    assert "image" in (tmp_path / "s.reg").read_text()
    result = run("phot", "detect", img, "-o", tmp_path / "t.ecsv", "--fwhm", "0.1arcsec")
    assert_user_error(result, "no WCS", "pixels")


def test_no_wcs_and_no_fwhm_names_the_default(tmp_path):
    with fits.open(A478) as hdul:
        data = hdul[1].data
    img = tmp_path / "nowcs.fits"
    fits.PrimaryHDU(data).writeto(img)
    out = tmp_path / "s.ecsv"
    result = run("phot", "detect", img, "-o", out)
    assert_user_error(result, "no WCS", "default --fwhm 0.1arcsec", "pass --fwhm Npix")
    assert not out.exists()
    assert run("phot", "detect", img, "-o", out, "--fwhm", "2pix").exit_code == 0
    # measure needs the FWHM only to find aperture-correction stars (--apcorr auto)
    phot = tmp_path / "p.ecsv"
    result = run("phot", "measure", img, "--positions", out, "-o", phot, "--zeropoint", "25")
    assert_user_error(result, "default --fwhm 0.1arcsec", "pass --fwhm Npix")
    assert not phot.exists()
    result = run(
        "phot",
        "measure",
        img,
        "--positions",
        out,
        "-o",
        phot,
        "--zeropoint",
        "25",
        "--apcorr",
        "none",
    )
    assert result.exit_code == 0, result.output


def test_bad_values(tmp_path, a478_sources):
    result = run("phot", "detect", A478, "-o", tmp_path / "s.ecsv", "--fwhm", "fast")
    assert result.exit_code == 2 and "not a length" in result.stderr
    result = run(
        "phot", "counterparts", a478_sources, "--image", "F814W", "-o", tmp_path / "c.ecsv"
    )
    assert result.exit_code == 2 and "FILTER=IMAGE" in result.stderr
    result = run("phot", "detect", f"{OMEGACEN}[chip=7]", "-o", tmp_path / "s.ecsv")
    assert_user_error(result, "chip must be 1..4")
    result = run(
        "phot",
        "measure",
        A478,
        "--positions",
        a478_sources,
        "-o",
        tmp_path / "m.ecsv",
        "--apcorr",
        "lots",
    )
    assert result.exit_code == 2 and "use auto, none or a number" in result.stderr


def test_out_of_range_extension_is_one_line(tmp_path, a478_sources):
    listing = "extensions are 0:PRIMARY, 1:CUTOUT"
    out = tmp_path / "s.ecsv"
    assert_user_error(run("phot", "detect", f"{CANDELS}[9]", "-o", out), "no extension", listing)
    assert_user_error(run("phot", "detect", CANDELS, "--ext", "9", "-o", out), listing)
    result = run("phot", "counterparts", a478_sources, "--image", f"F814W={CANDELS}[9]", "-o", out)
    assert_user_error(result, "no extension", listing)
    assert not out.exists()


def test_help_has_walkthrough_example():
    for command in ("detect", "measure", "counterparts"):
        result = run("phot", command, "--help")
        assert result.exit_code == 0
        assert "Example (M101 walkthrough)" in result.stdout


def test_measure_places_apertures_by_sky_unless_pixels(tmp_path):
    # chip 2 sources measured on chip 3 of the same exposure: by ra/dec they fall off chip 3
    src = tmp_path / "wf2.ecsv"
    args = ("--fwhm", "1.5pix", "--threshold", "20")
    assert run("phot", "detect", f"{OMEGACEN}[chip=2]", "-o", src, *args).exit_code == 0
    by_sky, by_pix = tmp_path / "sky.ecsv", tmp_path / "pix.ecsv"
    common = ("--radius", "2pix", "--apcorr", "none")
    result = run(
        "phot", "measure", f"{OMEGACEN}[chip=3]", "--positions", src, "-o", by_sky, *common
    )
    assert result.exit_code == 0, result.output
    assert "positions fall outside" in result.stderr
    assert read_table(by_sky)["flag_outside"].mean() > 0.9
    result = run(
        "phot",
        "measure",
        f"{OMEGACEN}[chip=3]",
        "--positions",
        src,
        "-o",
        by_pix,
        "--pixels",
        *common,
    )
    assert result.exit_code == 0, result.output
    assert not read_table(by_pix)["flag_outside"].any()


@pytest.mark.slow
def test_progress_bar_on_large_image(tmp_path):
    # 2400x2400 pixels (the Abell 478 image tiled 4x4) is searched in tiles with a progress bar
    with fits.open(A478) as hdul:
        data = np.tile(hdul[1].data, (4, 4))
        header = hdul[1].header
    big = tmp_path / "big.fits"
    fits.PrimaryHDU(data, header).writeto(big)
    out = tmp_path / "big.ecsv"
    result = run("phot", "detect", big, "-o", out, "--fwhm", "2pix", "--threshold", "10")
    assert result.exit_code == 0, result.output
    assert "detecting" in result.stderr
    assert "detecting" not in result.stdout
    result = run(
        "phot",
        "detect",
        big,
        "-o",
        tmp_path / "b2.ecsv",
        "--fwhm",
        "2pix",
        "--threshold",
        "10",
        "--json",
    )
    assert "detecting" not in result.stderr and json.loads(result.stdout)["n_sources"] > 0


def test_image_under_another_filters_name_is_refused(tmp_path, a478_sources):
    """An F814W image passed as F555W would give a colour of 0.000 for every source."""
    with fits.open(A478) as hdul:
        names = {k: hdul[1].header.get(k, hdul[0].header.get(k)) for k in ("FILTNAM1", "FILTER")}
    assert "F814W" in {str(v).strip() for v in names.values()}
    out = tmp_path / "c.ecsv"
    result = run(
        "phot", "counterparts", a478_sources, "--image", f"F555W={A478}",
        "--image", f"F814W={A478}", "-o", out,
    )  # fmt: skip
    assert_user_error(result, "F555W=", "header says the filter is F814W", f"F814W={A478}")
    assert not out.exists()


def test_detect_mask_region_file_removes_the_sources_inside(tmp_path, a478_sources):
    table = read_table(a478_sources)
    brightest = table.sort_values("peak", ascending=False).iloc[0]
    mask = tmp_path / "mask.reg"
    # DS9 image coordinates are 1-based: the source at 0-based (x, y) is at (x + 1, y + 1)
    mask.write_text(f"image\ncircle({brightest.x + 1:.3f},{brightest.y + 1:.3f},6)\n")
    out = tmp_path / "masked.ecsv"
    result = run("phot", "detect", A478, "-o", out, "--fwhm", "0.2arcsec", "--mask", mask)
    assert result.exit_code == 0, result.output
    masked = read_table(out)
    near = np.hypot(masked["x"] - brightest.x, masked["y"] - brightest.y) < 6
    assert not near.any()
    assert len(masked) < len(table)
    result = run("phot", "detect", A478, "-o", out, "--mask", tmp_path / "none.reg", "--overwrite")
    assert_user_error(result, "none.reg", "no such file")


def test_counterparts_wfpc2_default_vega_is_finite(tmp_path, a478_sources):
    # WFPC2 F814W: Vega = the header's AB zero point - 0.41 (FSPS solar AB 4.52, Vega 4.11)
    out_vega, out_ab = tmp_path / "vega.ecsv", tmp_path / "ab.ecsv"
    common = ["--image", f"F814W={A478}", "--apcorr", "none", "--radius", "3pix"]
    result = run("phot", "counterparts", a478_sources, *common, "-o", out_vega)
    assert result.exit_code == 0, result.output
    assert "with vega mag" in result.stdout and "AB-Vega" not in result.output
    run("phot", "counterparts", a478_sources, *common, "--system", "ab", "-o", out_ab)
    vega, ab = read_table(out_vega), read_table(out_ab)
    inside = ~vega["f814w_flag_outside"].astype(bool)
    assert inside.sum() > 0 and np.isfinite(vega.loc[inside, "f814w_mag"]).any()
    ok = ab["f814w_mag"].notna()
    np.testing.assert_allclose(
        vega.loc[ok, "f814w_mag"] - ab.loc[ok, "f814w_mag"], -0.41, atol=1e-9
    )


def test_counterparts_unknown_offset_falls_back_to_ab_once(tmp_path):
    # the F606W cutout relabelled as the narrow band F658N, which has no AB-Vega offset
    with fits.open(CANDELS) as hdul:
        hdu = fits.PrimaryHDU(hdul[1].data, hdul[1].header)
    for key in ("FILTER", "FILTER1", "FILTER2"):
        if str(hdu.header.get(key, "")).upper().startswith("F606W"):
            hdu.header[key] = "F658N"
    narrow = tmp_path / "f658n.fits"
    hdu.writeto(narrow)
    cands = tmp_path / "cands.ecsv"
    assert run("phot", "detect", f"{CANDELS}[2]", "-o", cands, "--fwhm", "3pix").exit_code == 0
    out = tmp_path / "c.ecsv"
    common = ["--apcorr", "none", "--radius", "4pix", "-o", out]
    result = run(
        "phot",
        "counterparts",
        cands,
        "--image",
        f"F814W={CANDELS}[2]",
        "--image",
        f"F658N={narrow}",
        *common,
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("no AB-Vega offset known for ACS/WFC F658N") == 1
    assert "F814W: " in result.stdout and "with ab mag" in result.stdout
    assert "with vega mag" not in result.stdout
    table = read_table(out)
    with fits.open(CANDELS) as h:
        photflam, photplam = h[2].header["PHOTFLAM"], h[2].header["PHOTPLAM"]
    zp_ab = -2.5 * np.log10(photflam) - 21.10 - 5 * np.log10(photplam) + 18.692
    ok = table["f814w_flux"] > 0
    assert ok.sum() > 0
    np.testing.assert_allclose(
        table.loc[ok, "f814w_mag"], -2.5 * np.log10(table.loc[ok, "f814w_flux"]) + zp_ab
    )
