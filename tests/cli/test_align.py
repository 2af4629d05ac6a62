"""``xrbid align`` on the real M101 and Chandra astromon tables, and on bad input."""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.regions import read_regions
from xrbid.sky import separation_arcsec
from xrbid.tables import read_table, unique_sources, write_table

CALIBRATORS = [  # the nine calibrators of the XRBID guide (M101)
    "2CXO J140251.0+542420",
    "2CXO J140248.0+542403",
    "2CXO J140356.0+542057",
    "2CXO J140355.8+542058",
    "2CXO J140357.6+541856",
    "2CXO J140339.3+541827",
    "2CXO J140346.1+541615",
    "2CXO J140253.3+541855",
    "2CXO J140252.1+541946",
]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def m101_unique(m101_vot, tmp_path_factory):
    path = tmp_path_factory.mktemp("m101") / "m101_unique.ecsv"
    write_table(unique_sources(read_table(m101_vot)), path)
    return path


@pytest.fixture
def m101_optical(m101_unique, tmp_path):
    """A synthetic optical list (seeded): a counterpart 0.25" east and 0.10" south of each
    calibrator, plus 200 unrelated field sources. Written as a DS9 fk5 region file."""
    df = read_table(m101_unique)
    cal = df[df["source_id"].isin(CALIBRATORS)]
    dec = cal["dec"].to_numpy()
    ra = cal["ra"].to_numpy() + 0.25 / 3600 / np.cos(np.radians(dec))
    dec = dec - 0.10 / 3600
    rng = np.random.default_rng(101)
    fra = rng.uniform(210.65, 211.05, 200)
    fdec = rng.uniform(54.25, 54.45, 200)
    lines = ["# Region file format: DS9 version 4.1", "fk5"]
    lines += [f'circle({r:.8f},{d:.8f},0.3")' for r, d in zip(np.r_[ra, fra], np.r_[dec, fdec])]
    path = tmp_path / "m101_optical.reg"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_median_on_m101_calibrators(m101_unique, m101_optical, tmp_path):
    out, reg, png = tmp_path / "align.json", tmp_path / "matched.reg", tmp_path / "res.png"
    before = digest(m101_unique)
    args = ["align", "median", "--xray", m101_unique, "--optical", m101_optical]
    for i in CALIBRATORS:
        args += ["--id", i]
    res = run(*args, "--max-sep", "1arcsec", "-o", out, "--matched-regions", reg, "--plot", png)
    assert res.exit_code == 0, res.output
    assert "from 9 pairs" in res.stdout and "significant" in res.stdout
    sol = json.loads(out.read_text())
    # Every counterpart is 0.25" east, 0.10" south of its calibrator. The offsets are taken
    # on one tangent plane about the calibrators' centroid, where local east at a calibrator
    # 10' away at Dec 54 is turned by ~xi*tan(dec) = 4e-3 rad: up to 1e-3" of mixing.
    assert sol["shift_x"] == pytest.approx(0.25, abs=2e-3)
    assert sol["shift_y"] == pytest.approx(-0.10, abs=2e-3)
    assert sol["std_x"] < 2e-3 and sol["std_y"] < 2e-3
    assert sol["n_used"] == 9 and sol["unmatched"] == []
    assert sorted(p["xray_id"] for p in sol["pairs"]) == sorted(CALIBRATORS)
    regions = read_regions(reg)
    assert len(regions) == 9 and sorted(regions["label"]) == sorted(CALIBRATORS)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert digest(m101_unique) == before


def test_median_few_matches_is_written_flagged_and_warned(testdata, tmp_path):
    d = testdata / "chandra-astromon"
    out = tmp_path / "14542.json"
    res = run(
        "align",
        "median",
        "--xray",
        d / "astromon_xray_src.ecsv",
        "--optical",
        d / "astromon_cat_src.ecsv",
        "--obsid",
        14542,
        "--max-sep",
        "1.5arcsec",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    assert "fewer than 3" in res.stderr
    assert "without a match" in res.stderr
    sol = json.loads(out.read_text())
    assert sol["n_used"] == 2 and sol["flags"]["few_matches"] and sol["qa_required"]
    assert len(sol["unmatched"]) == 1


def test_median_json_summary(testdata, tmp_path):
    d = testdata / "chandra-astromon"
    res = run(
        "align",
        "median",
        "--xray",
        d / "astromon_xray_src.ecsv",
        "--optical",
        d / "astromon_cat_src.ecsv",
        "--obsid",
        14536,
        "--max-sep",
        "1.5arcsec",
        "--clip",
        3,
        "-o",
        tmp_path / "s.json",
        "--json",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["method"] == "median" and data["n_used"] >= 60
    assert set(data["flags"]) == {"no_matches", "few_matches"}


def test_wls_on_astromon(testdata, tmp_path):
    d = testdata / "chandra-astromon"
    out, png = tmp_path / "w.json", tmp_path / "w.png"
    res = run(
        "align",
        "wls",
        "--xray",
        d / "astromon_xray_src.ecsv",
        "--reference",
        d / "astromon_cat_src.ecsv",
        "--obsid",
        14536,
        "--weights",
        "uniform",
        "--ref-point",
        "323.5,67.4",
        "-o",
        out,
        "--plot",
        png,
    )
    assert res.exit_code == 0, res.output
    sol = json.loads(out.read_text())
    assert sol["method"] == "wls" and sol["params"]["group"] == 1
    assert abs(sol["shift_x"]) < 0.3 and abs(sol["shift_y"]) < 0.3
    assert sol["ra0"] == 323.5 and sol["dec0"] == 67.4
    assert png.exists()
    # the default weights need the error ellipse, which astromon does not have
    res = run(
        "align",
        "wls",
        "--xray",
        d / "astromon_xray_src.ecsv",
        "--reference",
        d / "astromon_cat_src.ecsv",
        "--obsid",
        14536,
        "-o",
        tmp_path / "e.json",
    )
    assert res.exit_code == 1
    assert "err_r0" in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "e.json").exists()


def test_apply(testdata, tmp_path):
    d = testdata / "chandra-astromon"
    sol = tmp_path / "s.json"
    assert (
        run(
            "align",
            "wls",
            "--xray",
            d / "astromon_xray_src.ecsv",
            "--reference",
            d / "astromon_cat_src.ecsv",
            "--obsid",
            14542,
            "--weights",
            "uniform",
            "-o",
            sol,
        ).exit_code
        == 0
    )
    shift = json.loads(sol.read_text())
    full = read_table(d / "astromon_xray_src.ecsv")
    table = tmp_path / "x14542.ecsv"  # the shift belongs to this observation's field
    write_table(full[full["obsid"] == 14542], table)
    before = digest(table)
    out = tmp_path / "aligned.ecsv"
    res = run("align", "apply", table, sol, "-o", out)
    assert res.exit_code == 0, res.output
    assert digest(table) == before
    df = read_table(out)
    orig = read_table(table)
    np.testing.assert_array_equal(df["ra"], orig["ra"])
    moved = separation_arcsec(df["ra"], df["dec"], df["ra_aligned"], df["dec_aligned"])
    np.testing.assert_allclose(moved, math.hypot(shift["shift_x"], shift["shift_y"]), rtol=1e-3)
    # --if-significant on a solution that is not significant leaves positions alone
    data = json.loads(sol.read_text())
    data["significant"] = False
    ns = tmp_path / "ns.json"
    ns.write_text(json.dumps(data))
    out2 = tmp_path / "same.ecsv"
    res = run("align", "apply", table, ns, "-o", out2, "--if-significant")
    assert res.exit_code == 0 and "not significant" in res.stdout
    df2 = read_table(out2)
    np.testing.assert_array_equal(df2["ra_aligned"], df2["ra"])


def test_stacks(tmp_path):
    rng = np.random.default_rng(3)
    rows, refs = [], []
    for k, (ra0, dec0, sx) in enumerate([(10.0, 20.0, 0.3), (359.99, -40.0, -0.2)]):
        ra = ra0 + rng.uniform(-0.05, 0.05, 20)
        dec = dec0 + rng.uniform(-0.05, 0.05, 20)
        refs.append(pd.DataFrame({"stack_id": f"s{k}", "ra": ra % 360, "dec": dec}))
        xra = ra - sx / 3600 / np.cos(np.radians(dec))
        rows.append(
            pd.DataFrame(
                {
                    "stack_id": f"s{k}",
                    "ra": xra % 360,
                    "dec": dec,
                    "err_r0": 0.5,
                    "err_r1": 0.5,
                    "theta": 2.0,
                    "counts": 50.0,
                }
            )
        )
    x, r = tmp_path / "x.ecsv", tmp_path / "r.ecsv"
    write_table(pd.concat(rows, ignore_index=True), x)
    write_table(pd.concat(refs, ignore_index=True), r)
    out = tmp_path / "shifts.ecsv"
    res = run("align", "stacks", "--xray", x, "--reference", r, "-o", out)
    assert res.exit_code == 0, res.output
    t = read_table(out)
    assert t["stack_id"].tolist() == ["s0", "s1"]
    np.testing.assert_allclose(t["shift_x"], [0.3, -0.2], atol=1e-4)


# ---------------------------------------------------------------------------------------
# Bad input


def test_absent_calibrator_id(m101_unique, m101_optical, tmp_path):
    out = tmp_path / "a.json"
    res = run(
        "align",
        "median",
        "--xray",
        m101_unique,
        "--optical",
        m101_optical,
        "--id",
        CALIBRATORS[0],
        "--id",
        "2CXO J000000.0+000000",
        "-o",
        out,
    )
    assert res.exit_code == 1
    assert "2CXO J000000.0+000000" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not out.exists()


def test_optical_without_sky_coordinates(m101_unique, tmp_path):
    opt = tmp_path / "opt.csv"
    pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}).to_csv(opt, index=False)
    out = tmp_path / "a.json"
    res = run("align", "median", "--xray", m101_unique, "--optical", opt, "-o", out)
    assert res.exit_code == 1
    assert "no sky coordinates" in res.stderr and "Traceback" not in res.output
    assert not out.exists()
    img = tmp_path / "img.reg"
    img.write_text("image\ncircle(10,20,3)\n")
    res = run("align", "median", "--xray", m101_unique, "--optical", img, "-o", out)
    assert res.exit_code == 1 and "sky coordinates" in res.stderr
    assert not out.exists()


def test_no_calibrators_and_bad_options(m101_unique, m101_optical, tmp_path):
    out = tmp_path / "a.json"
    ids = tmp_path / "empty.txt"
    ids.write_text("# nothing here\n")
    res = run(
        "align",
        "median",
        "--xray",
        m101_unique,
        "--optical",
        m101_optical,
        "--ids-file",
        ids,
        "-o",
        out,
    )
    assert res.exit_code == 1 and not out.exists()
    res = run(
        "align",
        "median",
        "--xray",
        m101_unique,
        "--optical",
        m101_optical,
        "--id",
        CALIBRATORS[0],
        "--ids-file",
        ids,
        "-o",
        out,
    )
    assert res.exit_code == 1 and "not both" in res.stderr
    res = run(
        "align",
        "median",
        "--xray",
        m101_unique,
        "--optical",
        m101_optical,
        "--max-sep",
        "2kg",
        "-o",
        out,
    )
    assert res.exit_code == 2 and "not an angle" in res.output
    res = run(
        "align", "median", "--xray", m101_unique, "--optical", m101_optical, "--obsid", 1, "-o", out
    )
    assert res.exit_code == 1 and "no obsid column" in res.stderr  # M101 has no obsid column
    res = run(
        "align",
        "wls",
        "--xray",
        m101_unique,
        "--reference",
        m101_optical,
        "--ref-point",
        "abc",
        "-o",
        out,
    )
    assert res.exit_code == 2 and "RA,DEC" in res.output
    assert not out.exists()


def test_outputs_never_overwritten_without_flag(m101_unique, m101_optical, tmp_path):
    out = tmp_path / "a.json"
    out.write_text("keep me")
    png = tmp_path / "p.png"
    res = run(
        "align",
        "median",
        "--xray",
        m101_unique,
        "--optical",
        m101_optical,
        "--id",
        CALIBRATORS[0],
        "-o",
        out,
        "--plot",
        png,
    )
    assert res.exit_code == 1 and "--overwrite" in res.stderr
    assert out.read_text() == "keep me" and not png.exists()
    res = run(
        "align",
        "median",
        "--xray",
        m101_unique,
        "--optical",
        m101_optical,
        "--id",
        CALIBRATORS[0],
        "-o",
        out,
        "--overwrite",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["n_used"] == 1
    assert "fewer than 3" in res.stderr


def test_apply_rejects_a_file_that_is_not_a_solution(m101_unique, tmp_path):
    bogus = tmp_path / "b.json"
    bogus.write_text('{"std_x": 0.1}')
    out = tmp_path / "o.ecsv"
    res = run("align", "apply", m101_unique, bogus, "-o", out)
    assert res.exit_code == 1 and "not an xrbid alignment solution" in res.stderr
    assert not out.exists()


def test_apply_replace(testdata, tmp_path):
    d = testdata / "chandra-astromon"
    sol = tmp_path / "s.json"
    res = run(
        "align",
        "median",
        "--xray",
        d / "astromon_xray_src.ecsv",
        "--optical",
        d / "astromon_cat_src.ecsv",
        "--obsid",
        14536,
        "-o",
        sol,
    )
    assert res.exit_code == 0, res.output
    full = read_table(d / "astromon_xray_src.ecsv")
    table = tmp_path / "x14536.ecsv"
    write_table(full[full["obsid"] == 14536], table)
    a, b = tmp_path / "a.ecsv", tmp_path / "b.ecsv"
    assert run("align", "apply", table, sol, "-o", a).exit_code == 0
    res = run("align", "apply", table, sol, "-o", b, "--replace")
    assert res.exit_code == 0 and "ra_original" in res.stdout
    ta, tb = read_table(a), read_table(b)
    np.testing.assert_array_equal(tb["ra"], ta["ra_aligned"])
    np.testing.assert_array_equal(tb["dec"], ta["dec_aligned"])
    np.testing.assert_array_equal(tb["ra_original"], ta["ra"])
    assert "ra_aligned" not in tb.columns


def test_median_with_no_calibrator_matched_writes_nothing(m101_unique, tmp_path):
    """A fit with nothing to fit is an error, naming both fields; no file is left behind."""
    table = read_table(m101_unique)
    other = tmp_path / "other_field.csv"
    shifted = {"ra": table["ra"].to_numpy()[:20], "dec": table["dec"].to_numpy()[:20] + 13.0}
    pd.DataFrame(shifted).to_csv(other, index=False)
    out, plot, reg = tmp_path / "s.json", tmp_path / "p.png", tmp_path / "m.reg"
    args = ["align", "median", "--xray", m101_unique, "--optical", other, "-o", out]
    res = run(*args, "--plot", plot, "--matched-regions", reg)
    assert res.exit_code == 1, res.output
    assert "nothing to fit" in res.stderr and "do not cover the same field" in res.stderr
    # about 13 deg (780') of Dec between the centres of the whole table and of its shifted part
    assert re.search(r"are 7[6-9]\d\.\d arcmin apart", res.stderr), res.stderr
    assert "Traceback" not in res.output
    assert not out.exists() and not plot.exists() and not reg.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other_field.csv"]
