"""``xrbid figures finder`` and ``xrbid figures cmd`` on the shipped HST images."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.figures.conftest import A478_XRAY
from tests.photometry.conftest import ABELL478, CANDELS
from xrbid.cli.main import cli
from xrbid.tables import write_table


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def _inputs(tmp_path):
    best = tmp_path / "best.ecsv"
    write_table(A478_XRAY, best)
    det = tmp_path / "det.ecsv"
    assert run("phot", "detect", f"{ABELL478}[SCI]", "-o", det, "--fwhm", "2.5pix").exit_code == 0
    cands = tmp_path / "cands.ecsv"
    assert run("counterparts", best, det, "-o", cands).exit_code == 0
    return best, cands


def test_finder_pdf_and_pngs(tmp_path):
    best, cands = _inputs(tmp_path)
    pdf = tmp_path / "finder.pdf"
    res = run(
        "figures",
        "finder",
        best,
        "--candidates",
        cands,
        "--image",
        f"F814W={ABELL478}",
        "--distance",
        "6.4Mpc",
        "-o",
        pdf,
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["outputs"] == [str(pdf)]
    assert len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes())) == 1
    res = run(
        "figures",
        "finder",
        best,
        "--image",
        f"F814W={ABELL478}[SCI]",
        "--sources",
        "X1,X3",
        "-o",
        tmp_path / "f.png",
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("f_*.png")) == ["f_X1.png", "f_X3.png"]
    assert "2 files" in res.stdout
    res = run("figures", "finder", best, "--image", f"F814W={ABELL478}", "-o", pdf)
    assert_user_error(res, "exists", "--overwrite")


def test_finder_user_errors(tmp_path):
    best, _ = _inputs(tmp_path)
    res = run(
        "figures",
        "finder",
        best,
        "--image",
        f"A={CANDELS}[1]",
        "--image",
        f"B={CANDELS}[2]",
        "-o",
        tmp_path / "f.pdf",
    )
    assert res.exit_code == 2 and "one image (grey scale) or three" in res.output
    res = run("figures", "finder", best, "--image", f"F606W={CANDELS}[1]", "-o", tmp_path / "f.pdf")
    assert_user_error(res, "none of the 3 sources is on")
    res = run("figures", "finder", best, "--image", f"F814W={ABELL478}", "-o", tmp_path / "f.bmp")
    assert_user_error(res, "format 'bmp'")
    res = run(
        "figures",
        "finder",
        best,
        "--image",
        f"F814W={ABELL478}",
        "--distance",
        "3kg",
        "-o",
        tmp_path / "f.pdf",
    )
    assert res.exit_code == 2 and "not a distance" in res.output
    assert not list(tmp_path.glob("f*"))


def _phot(tmp_path):
    cands = tmp_path / "cands.ecsv"
    assert run("phot", "detect", f"{CANDELS}[2]", "-o", cands, "--fwhm", "3pix").exit_code == 0
    out = tmp_path / "phot.ecsv"
    res = run(
        "phot",
        "counterparts",
        cands,
        "--image",
        f"F814W={CANDELS}[2]",
        "--image",
        f"F606W={CANDELS}[1]",
        "--image",
        f"F850LP={CANDELS}[3]",
        "-o",
        out,
        "--apcorr",
        "none",
        "--radius",
        "4pix",
        "--system",
        "ab",
    )
    assert res.exit_code == 0, res.output
    return out


def test_cmd_any_pair_to_pdf(tmp_path):
    phot = _phot(tmp_path)
    pdf = tmp_path / "cmd.pdf"
    res = run(
        "figures",
        "cmd",
        phot,
        "--color",
        "F606W-F850LP",
        "--mag",
        "F606W",
        "--extinction",
        "F606W=0.3",
        "--extinction",
        "F850LP=0.14",
        "-o",
        pdf,
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert pdf.read_bytes().startswith(b"%PDF")
    summary = json.loads(res.stdout)
    assert summary["color"] == ["F606W", "F850LP"] and summary["drawn"] == 2
    assert summary["flagged"] == 0


def test_cmd_nothing_to_draw_is_one_line(tmp_path):
    phot = _phot(tmp_path)
    res = run(
        "figures", "cmd", phot, "--color", "F606W-F814W", "--absolute", "-o", tmp_path / "c.png"
    )
    assert_user_error(res, "f814w_abs_mag")
    from xrbid.tables import read_table

    t = read_table(phot)
    t["f606w_mag"] = np.nan
    nan_phot = tmp_path / "nan.ecsv"
    write_table(t, nan_phot)
    res = run("figures", "cmd", nan_phot, "--color", "F606W-F814W", "-o", tmp_path / "c.png")
    assert_user_error(res, "nothing to draw", "F606W: 0")
    assert not (tmp_path / "c.png").exists()
    res = run("figures", "cmd", phot, "--color", "F606W", "-o", tmp_path / "c.png")
    assert_user_error(res, "two filters")


def test_phot_counterparts_plot_writes_the_format_of_its_suffix(tmp_path):
    cands = tmp_path / "cands.ecsv"
    assert run("phot", "detect", f"{CANDELS}[2]", "-o", cands, "--fwhm", "3pix").exit_code == 0
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")):
        plot = tmp_path / f"cmd{suffix}"
        res = run(
            "phot",
            "counterparts",
            cands,
            "--image",
            f"F814W={CANDELS}[2]",
            "--image",
            f"F606W={CANDELS}[1]",
            "-o",
            tmp_path / f"p{suffix}.ecsv",
            "--apcorr",
            "none",
            "--radius",
            "4pix",
            "--plot",
            plot,
        )
        assert res.exit_code == 0, res.output
        assert plot.read_bytes().startswith(magic), suffix


def _ccm89(wavelength_angstrom: float, rv: float = 3.1) -> float:
    """A_lambda / A_V of Cardelli, Clayton & Mathis 1989 (ApJ 345, 245), eqs. 3a-3b (optical)."""
    y = 1e4 / wavelength_angstrom - 1.82
    a = np.polyval([0.32999, -0.77530, 0.01979, 0.72085, -0.02427, -0.50447, 0.17699, 1.0], y)
    b = np.polyval([-2.09002, 5.30260, -0.62251, -5.38434, 1.07233, 2.28305, 1.41338, 0.0], y)
    return a + b / rv


def test_cmd_ebv_draws_the_ccm89_vector(tmp_path):
    from xrbid.photometry.extinction import pivot_wavelength

    phot = _phot(tmp_path)
    res = run(
        "figures",
        "cmd",
        phot,
        "--color",
        "F606W-F814W",
        "--ebv",
        "0.1",
        "--law",
        "CCM89",
        "-o",
        tmp_path / "c.png",
        "--json",
    )
    assert res.exit_code == 0, res.output
    a = json.loads(res.stdout)["extinction"]
    for f in ("F606W", "F814W"):
        expected = 0.1 * 3.1 * _ccm89(pivot_wavelength(f, "ACS/WFC"))
        assert a[f] == pytest.approx(expected, abs=2e-3), f
    res = run(
        "figures",
        "cmd",
        phot,
        "--color",
        "F606W-F814W",
        "--ebv",
        "0.1",
        "--extinction",
        "F606W=0.3",
        "-o",
        tmp_path / "d.png",
    )
    assert res.exit_code == 2 and "not both" in res.output


def test_cmd_models_need_a_distance_and_matching_bands(tmp_path, testdata):
    phot = _phot(tmp_path)
    mist = testdata / "mist-isochrone-panstarrs" / "MIST_iso_5fd2532653c27.iso.cmd"
    res = run(
        "figures", "cmd", phot, "--color", "F606W-F814W", "--models", mist, "-o", tmp_path / "c.png"
    )
    assert res.exit_code == 2 and "--distance-modulus" in res.output
    res = run(
        "figures",
        "cmd",
        phot,
        "--color",
        "F606W-F814W",
        "--models",
        mist,
        "--distance-modulus",
        "29.0",
        "-o",
        tmp_path / "c.png",
    )
    assert_user_error(res, "has no F606W band", "PS_g", "photometric system")
    assert not (tmp_path / "c.png").exists()


def test_finder_names_the_sources_off_the_image_on_a_warning_line(tmp_path):
    best = tmp_path / "best.ecsv"
    far = {"source_id": "FAR", "ra": 63.5, "dec": 10.6, "pu_1sigma": 1.0, "pu_2sigma": 2.0}
    write_table(pd.concat([A478_XRAY, pd.DataFrame([far])], ignore_index=True), best)
    res = run("figures", "finder", best, "--image", f"F814W={ABELL478}", "-o", tmp_path / "f.pdf")
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("Warning: ")]
    assert len(warnings) == 1 and "FAR" in warnings[0] and "1 source(s) not on" in warnings[0]
    assert len(re.findall(rb"/Type\s*/Page\b", (tmp_path / "f.pdf").read_bytes())) == 1


def test_finder_accepts_an_empty_candidate_table(tmp_path):
    # `xrbid counterparts` writes an empty table when no optical source is in any circle
    best = tmp_path / "best.ecsv"
    write_table(A478_XRAY, best)
    cands = tmp_path / "cands.ecsv"
    write_table(pd.DataFrame({"source_id": pd.Series([], dtype=str), "ra": [], "dec": []}), cands)
    pdf = tmp_path / "f.pdf"
    res = run(
        "figures", "finder", best, "--candidates", cands, "--image", f"F814W={ABELL478}", "-o", pdf
    )
    assert res.exit_code == 0, res.output
    assert pdf.exists()


def test_cmd_warns_about_labels_that_match_no_candidate(tmp_path):
    phot = _phot(tmp_path)
    res = run(
        "figures",
        "cmd",
        phot,
        "--color",
        "F606W-F814W",
        "--label",
        "NOSUCH",
        "--label",
        "NOSUCH:2",
        "-o",
        tmp_path / "c.png",
    )
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("Warning: ")]
    assert len(warnings) == 1 and "NOSUCH, NOSUCH:2" in warnings[0], res.stderr
