"""``xrbid calib phot`` end to end on seeded synthetic star lists and catalogues."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.tables import read_table, write_table

TRUE_ZP, TRUE_PC, TRUE_PX = -25.3, 0.08, 0.03  # TRUE_PC multiplies B - V
# The default colour is dophot3's C = 2nd - 1st = V - B, so its coefficient is -TRUE_PC.
DOC_PC = -TRUE_PC


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A standard-star catalogue (ra, dec, B, V) and photometry of 2 images on it.

    mag - V = -25.3 + 0.08 (B - V) + 0.03 X + 0.12 airmass, X = (x - 1024)/1024, noise from
    mag_err, 6% outliers; 50 extra detections lie off the catalogue field.
    """
    rng = np.random.default_rng(3)
    folder = tmp_path_factory.mktemp("calib")
    n = 600
    ra0, dec0 = 210.8, 54.35
    ra = ra0 + rng.uniform(-0.05, 0.05, n)
    dec = dec0 + rng.uniform(-0.03, 0.03, n)
    v = rng.uniform(15, 20, n)
    bv = rng.uniform(-0.1, 1.5, n)
    ref = pd.DataFrame({"ra": ra, "dec": dec, "B": v + bv, "V": v})
    write_table(ref, folder / "standards.ecsv")

    image = np.repeat(["j01", "j02"], n // 2)
    airmass = np.where(image == "j01", 1.2, 1.6)
    x = (ra - ra0) / 0.1 * 2048 + 1024
    y = (dec - dec0) / 0.06 * 2048 + 1024
    err = rng.uniform(0.01, 0.03, n)
    mag = v + TRUE_ZP + TRUE_PC * bv + TRUE_PX * (x - 1024) / 1024 + 0.12 * airmass
    mag += rng.normal(0, err)
    bad = rng.random(n) < 0.06
    mag[bad] += rng.uniform(0.3, 1.5, bad.sum())
    jitter = 0.1 / 3600
    phot = pd.DataFrame(
        {
            "ra": ra + rng.normal(0, jitter, n) / np.cos(np.radians(dec0)),
            "dec": dec + rng.normal(0, jitter, n),
            "x": x,
            "y": y,
            "image": image,
            "airmass": airmass,
            "mag": mag,
            "mag_err": err,
        }
    )
    extra = phot.sample(50, random_state=1).assign(ra=lambda d: d["ra"] + 0.2)  # off the field
    phot = pd.concat([phot, extra], ignore_index=True)
    write_table(phot, folder / "phot.ecsv")
    return folder


def run(*args: str):
    return CliRunner().invoke(cli, ["calib", "phot", *map(str, args)])


def base_args(files, out):
    return [
        files / "phot.ecsv",
        "--ref",
        files / "standards.ecsv",
        "--ref-mag",
        "V",
        "--filters",
        "B,V",
        "-o",
        out,
    ]


def test_calibrates_and_writes_table_plot_report(files, tmp_path):
    out, plot, report = tmp_path / "cal.ecsv", tmp_path / "res.png", tmp_path / "fit.json"
    before = (files / "phot.ecsv").read_bytes()
    result = run(
        *base_args(files, out),
        "-U",
        "@.p2,&PC,#PA=0.12",
        "--plot",
        plot,
        "--report",
        report,
    )
    assert result.exit_code == 0, result.output
    assert (files / "phot.ecsv").read_bytes() == before  # input untouched
    line = result.output.strip()
    assert "\n" not in line and line.startswith("calibrated ") and str(out) in line
    assert "terms PX,PC" in line and "fixed PA=0.12" in line

    fit = json.loads(report.read_text())
    assert fit["kept"] == ["PX", "PC"]
    assert set(fit["dropped"]) == {"PY", "P2X", "PXY", "P2Y"}
    rows = {r["name"]: r for r in fit["coefficients"]}
    for name, true in (("ZP", TRUE_ZP), ("PC", DOC_PC)):
        assert abs(rows[name]["coefficient"] - true) < 3 * rows[name]["error"]
    # X in the fit is normalised to the stars' own bounding box; compare per pixel
    px_per_pixel = rows["PX"]["coefficient"] / fit["xy_scale"]
    assert px_per_pixel == pytest.approx(TRUE_PX / 1024, rel=0.15)
    assert rows["PA"]["status"] == "fixed" and rows["PA"]["coefficient"] == 0.12

    table = read_table(out)
    assert len(table) == 650
    assert table["v"].isna().sum() == 50  # the detections without a catalogue star
    matched = table[table["calib_used"]]
    pull = (matched["mag_cal"] - matched["v"]) / matched["mag_err"]
    assert abs(pull.mean()) < 0.15 and pull.std() == pytest.approx(1.0, abs=0.15)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_json_summary(files, tmp_path):
    result = run(*base_args(files, tmp_path / "cal.ecsv"), "-U", "&PC", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kept"] == ["PC"] and data["output"].endswith("cal.ecsv")
    assert data["colours"] == {"C": "v - b"} and data["colour_convention"] == "dophot3"
    pc = {r["name"]: r for r in data["coefficients"]}["PC"]
    assert abs(pc["coefficient"] - DOC_PC) < 3 * pc["error"]


def test_colour_convention_index(files, tmp_path):
    result = run(
        *base_args(files, tmp_path / "cal.ecsv"), "-U", "&PC", "--json",
        "--colour-convention", "index",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["colours"] == {"C": "b - v"} and data["colour_convention"] == "index"
    pc = {r["name"]: r for r in data["coefficients"]}["PC"]
    assert abs(pc["coefficient"] - TRUE_PC) < 3 * pc["error"]
    result = run(*base_args(files, tmp_path / "c2.ecsv"), "--colour-convention", "B-V")
    assert result.exit_code != 0 and "--colour-convention" in result.output


def test_already_joined_table_without_ref(files, tmp_path):
    joined = tmp_path / "joined.ecsv"
    first = run(*base_args(files, joined), "-U", "&PC")
    assert first.exit_code == 0, first.output
    result = run(
        joined, "--ref-mag", "V", "--filters", "B,V", "-U", "&PC", "-o", tmp_path / "again.ecsv"
    )
    assert result.exit_code == 0, result.output


def test_per_image_options(files, tmp_path):
    result = run(
        *base_args(files, tmp_path / "cal.ecsv"),
        "-y",
        "-U",
        "&PC",
        "--zeropoint",
        "per-image",
        "--report",
        tmp_path / "fit.json",
    )
    assert result.exit_code == 0, result.output
    names = [r["name"] for r in json.loads((tmp_path / "fit.json").read_text())["coefficients"]]
    assert names[:2] == ["ZP:j01", "ZP:j02"]
    assert {"PX:j01", "PX:j02", "PY:j01", "PY:j02"} <= set(names)
    # the summary tells the per-image gradients of -y from global ones, as -U writes them
    assert "; terms *PX,*PY,PC;" in result.stdout


def test_summary_marks_per_image_terms_and_notes_resolved_conflicts(files, tmp_path):
    """'&*PX,@PX': the per-image PX wins (rule 2); '#PC=0.1,&PC': the fixed value wins (rule 1)."""
    result = run(*base_args(files, tmp_path / "cal.ecsv"), "-U", "&*PX,@PX,#PC=0.1,&PC")
    assert result.exit_code == 0, result.output
    assert "; terms *PX; fixed PC=0.1;" in result.stdout
    assert "Note: PX: per-image wins over global (rule 2); ignored @PX" in result.stderr
    assert "Note: PC: fixed wins (rule 1); ignored &PC" in result.stderr


# ---------------------------------------------------------------------------- bad input


def assert_user_error(result, *fragments):
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_term(files, tmp_path):
    out, plot, report = tmp_path / "cal.ecsv", tmp_path / "r.png", tmp_path / "r.json"
    result = run(*base_args(files, out), "-U", "@.p2,&PQ", "--plot", plot, "--report", report)
    assert_user_error(result, "'PQ' at position 7", "unknown variable 'Q'")
    assert list(tmp_path.iterdir()) == []  # no output of any kind


def test_bad_value_in_terms(files, tmp_path):
    result = run(*base_args(files, tmp_path / "cal.ecsv"), "-U", "#PA=0.1x")
    assert_user_error(result, "'0.1x' at position 5", "not a number")


def test_colour_terms_without_filters(files, tmp_path):
    """One magnitude column in the catalogue: no colour can be formed, nor derived."""
    out = tmp_path / "cal.ecsv"
    v_only = tmp_path / "v_only.ecsv"
    write_table(read_table(files / "standards.ecsv").drop(columns="b"), v_only)
    result = run(files / "phot.ecsv", "--ref", v_only, "-U", "&PC", "-o", out)
    assert_user_error(result, "1 colour(s)", "add --filters F1,F2,...", "(candidates: v)")
    assert not out.exists()


def test_colour_terms_with_too_few_filters(files, tmp_path):
    out = tmp_path / "cal.ecsv"
    args = [files / "phot.ecsv", "--ref", files / "standards.ecsv", "--ref-mag", "V"]
    result = run(*args, "--filters", "V", "-U", "&PC", "-o", out)
    assert_user_error(result, "colour C", "--filters B,V")
    assert not out.exists()


# ------------------------------------------------------- the issue's form: no --ref-mag


def check_issue_fit(report):
    fit = json.loads(report.read_text())
    assert fit["ref_mag"] == "v" and fit["filters"] == ["b", "v"]
    assert fit["kept"] == ["PX", "PC"]
    rows = {r["name"]: r for r in fit["coefficients"]}
    for name, true in (("ZP", TRUE_ZP), ("PC", DOC_PC)):
        assert abs(rows[name]["coefficient"] - true) < 3 * rows[name]["error"]


def test_issue_example_with_filter_column(files, tmp_path):
    """`xrbid calib phot PHOT.ecsv --ref TABLE -U '@.p2,&PC,#PA=0.12' -o CALIBRATED.ecsv`.

    The photometry names its filter (F555W) in a ``filter`` column: the standard magnitude is
    the catalogue's V (F555W's standard band) and the colour B - V (its bands by wavelength).
    """
    phot = tmp_path / "f555w_phot.ecsv"
    write_table(read_table(files / "phot.ecsv").assign(filter="F555W"), phot)
    out, report = tmp_path / "cal.ecsv", tmp_path / "fit.json"
    result = run(
        phot, "--ref", files / "standards.ecsv", "-U", "@.p2,&PC,#PA=0.12", "-o", out,
        "--report", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert "\n" not in line and "--ref-mag v from filter F555W" in line
    assert "--filters b,v from the catalogue" in line
    check_issue_fit(report)
    assert read_table(out)["mag_cal"].notna().sum() == 600


def test_issue_example_with_filter_option(files, tmp_path):
    report = tmp_path / "fit.json"
    result = run(
        files / "phot.ecsv", "--ref", files / "standards.ecsv", "--filter", "V",
        "-U", "@.p2,&PC,#PA=0.12", "-o", tmp_path / "cal.ecsv", "--report", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--ref-mag v from filter V" in result.output
    check_issue_fit(report)


def test_issue_example_without_a_filter_names_the_option(files, tmp_path):
    out = tmp_path / "cal.ecsv"
    result = run(
        files / "phot.ecsv", "--ref", files / "standards.ecsv", "-U", "@.p2,&PC,#PA=0.12",
        "-o", out,
    )  # fmt: skip
    assert_user_error(
        result, "cannot tell which reference column", "add --ref-mag COLUMN", "(candidates: b, v)"
    )
    assert not out.exists()


def test_filter_without_matching_catalogue_column(files, tmp_path):
    result = run(
        files / "phot.ecsv", "--ref", files / "standards.ecsv", "--filter", "F814W",
        "-o", tmp_path / "cal.ecsv",
    )  # fmt: skip
    assert_user_error(result, "filter F814W", "F814W (I)", "add --ref-mag", "(candidates: b, v)")


def test_filter_column_missing_from_catalogue(files, tmp_path):
    result = run(*base_args(files, tmp_path / "c.ecsv")[:-2], "--filters", "U,B", "-o", "c.ecsv")
    assert_user_error(result, "no column 'U'")


def test_too_few_stars(files, tmp_path):
    few = tmp_path / "few.ecsv"
    write_table(read_table(files / "phot.ecsv").head(5), few)
    result = run(
        few, "--ref", files / "standards.ecsv", "--ref-mag", "V", "--filters", "B,V",
        "-U", "&.p2,&PC", "-o", tmp_path / "cal.ecsv",
    )  # fmt: skip
    assert_user_error(result, "5 usable stars", "7 free parameters", "need at least 8")


def test_no_overlap(files, tmp_path):
    far = tmp_path / "far.ecsv"
    write_table(read_table(files / "standards.ecsv").assign(dec=-30.0), far)
    result = run(files / "phot.ecsv", "--ref", far, "--ref-mag", "V", "-o", tmp_path / "c.ecsv")
    assert_user_error(result, "no star of the photometry table lies within 1 arcsec")


def test_unsupported_plot_format(files, tmp_path):
    result = run(*base_args(files, tmp_path / "cal.ecsv"), "--plot", tmp_path / "res.xyz")
    assert_user_error(result, "cannot draw a plot in format 'xyz'", ".png")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_not_overwritten(files, tmp_path):
    out = tmp_path / "cal.ecsv"
    out.write_text("keep me")
    result = run(*base_args(files, out), "-U", "&PC")
    assert_user_error(result, "exists", "--overwrite")
    assert out.read_text() == "keep me"
    assert run(*base_args(files, out), "-U", "&PC", "--overwrite").exit_code == 0
    assert read_table(out)["mag_cal"].notna().any()


def test_real_gaia_ecsv_equal_weights(testdata, tmp_path):
    """Real Gaia DR3 rows (shipped ECSV): BP onto G with colour BP - RP, equal weights.

    With no error column and nothing clipped the fit is ordinary least squares of BP - G on
    BP - RP, checked against numpy's polyfit on the columns read by astropy directly.
    """
    from astropy.table import Table

    path = testdata / "gaia-dr3-astroquery" / "1712337806100O-result.ecsv"
    report = tmp_path / "fit.json"
    result = run(
        path, "--ref-mag", "phot_g_mean_mag", "--mag-column", "phot_bp_mean_mag",
        "--err-column", "none", "--filters", "phot_bp_mean_mag,phot_rp_mean_mag",
        "--colour-convention", "index", "-U", "&PC", "--clip", "10",
        "-o", tmp_path / "cal.ecsv", "--report", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    t = Table.read(path)
    bp, g, rp = (np.asarray(t[c], float) for c in ("phot_bp_mean_mag", "phot_g_mean_mag",
                                                    "phot_rp_mean_mag"))  # fmt: skip
    slope, intercept = np.polyfit(bp - rp, bp - g, 1)
    rows = {r["name"]: r for r in json.loads(report.read_text())["coefficients"]}
    assert rows["ZP"]["coefficient"] == pytest.approx(intercept, abs=1e-9)
    assert rows["PC"]["coefficient"] == pytest.approx(slope, abs=1e-9)
    cal = read_table(tmp_path / "cal.ecsv")
    np.testing.assert_allclose(cal["mag_cal"], bp - intercept - slope * (bp - rp), atol=1e-9)


def test_default_mode_and_alpha_options(files, tmp_path):
    report = tmp_path / "fit.json"
    args = [*base_args(files, tmp_path / "cal.ecsv"), "-U", "&PC,.p1", "--report", report]
    assert run(*args, "--no-use-stepwise").exit_code == 0
    fit = json.loads(report.read_text())
    assert fit["resolved_terms"] == "&PC,&PX,&PY"
    assert {r["name"]: r["status"] for r in fit["coefficients"]}["PY"] == "always"
    assert run(*args, "--alpha", "0.5", "--overwrite").exit_code == 0
    fit = json.loads(report.read_text())
    assert fit["alpha"] == 0.5 and fit["resolved_terms"] == "&PC,@PX,@PY"
