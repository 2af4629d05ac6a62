"""``xrbid counterparts``: candidate tables and region files, single and multi-filter."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.tables import read_table, write_table


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def best(tmp_path):
    # one source on each side of RA = 0 (equator) and one at Dec 60
    path = tmp_path / "best.ecsv"
    df = pd.DataFrame(
        {
            "source_id": ["W", "E", "N"],
            "ra": [359.99995, 0.5, 150.0],
            "dec": [0.0, 0.0, 60.0],
            "theta": [2.0, 2.0, 2.0],
            "counts": [50.0, 50.0, 50.0],
            "pu_1sigma": [0.5, 0.5, 0.5],
            "pu_2sigma": [1.0, 1.0, 1.0],
        }
    )
    write_table(df, path)
    return path


def optical_file(tmp_path, name, ra, dec, **cols):
    path = tmp_path / name
    pd.DataFrame({"ra": ra, "dec": dec, **cols}).to_csv(path, index=False)
    return path


def test_counterparts_single_catalogue(best, tmp_path):
    # 0.54" east of W across RA 0; 0.8" north of N; 0.3" north of N; nothing near E
    opt = optical_file(
        tmp_path,
        "f555w.csv",
        [0.0001, 150.0, 150.0, 10.0],
        [0.0, 60 + 0.8 / 3600, 60 + 0.3 / 3600, 0.0],
        mag=[22.0, 23.0, 24.0, 25.0],
    )
    out, reg = tmp_path / "cands.ecsv", tmp_path / "cands.reg"
    res = run("counterparts", best, opt, "-o", out, "--regions", reg, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["candidates"] == 3 and summary["sources_with_candidates"] == 2
    assert summary["inside_1sigma"] == 1
    c = read_table(out)
    assert c["source_id"].tolist() == ["W", "N", "N"]
    assert c["rank"].tolist() == [1, 1, 2]
    assert c["separation"].to_numpy() == pytest.approx([0.54, 0.3, 0.8], abs=1e-6)
    assert c["inside_1sigma"].tolist() == [False, True, False]
    assert c["mag"].tolist() == [22.0, 24.0, 23.0]
    text = reg.read_text()
    assert "text={W:1}" in text and "text={N:2}" in text and text.count("circle(") == 3


def test_counterparts_merges_filters(best, tmp_path):
    a = optical_file(tmp_path, "a.csv", [150.0], [60.0], mag=[22.0])
    b = optical_file(tmp_path, "b.csv", [150.0], [60 + 0.05 / 3600], mag=[21.0])
    out = tmp_path / "cands.ecsv"
    res = run("counterparts", best, f"F555W={a}", f"F814W={b}", "-o", out)
    assert res.exit_code == 0, res.output
    assert "1 candidates (1 inside 1-sigma) for 1 of 3 X-ray sources among 1 optical" in res.stdout
    c = read_table(out)
    # (read_table gives snake_case names)
    assert c["mag_f555w"].tolist() == [22.0] and c["mag_f814w"].tolist() == [21.0]
    assert c["n_filters"].tolist() == [2]


def test_counterparts_optical_without_coordinates(best, tmp_path):
    opt = tmp_path / "pix.csv"
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_csv(opt, index=False)
    out = tmp_path / "cands.ecsv"
    res = run("counterparts", best, opt, "-o", out)
    assert res.exit_code == 1
    assert res.output.startswith("Error:") and "ra" in res.output
    assert not out.exists()


def test_counterparts_needs_radii(tmp_path):
    xray = tmp_path / "x.csv"
    pd.DataFrame({"source_id": ["A"], "ra": [1.0], "dec": [1.0]}).to_csv(xray, index=False)
    opt = optical_file(tmp_path, "o.csv", [1.0], [1.0])
    out = tmp_path / "cands.ecsv"
    res = run("counterparts", xray, opt, "-o", out)
    assert res.exit_code == 1 and "pu_2sigma" in res.output
    assert not out.exists()


def test_counterparts_needs_source_id(tmp_path):
    xray = tmp_path / "x.csv"
    pd.DataFrame({"ra": [1.0], "dec": [1.0], "pu_2sigma": [1.0]}).to_csv(xray, index=False)
    opt = optical_file(tmp_path, "o.csv", [1.0], [1.0])
    res = run("counterparts", xray, opt, "-o", tmp_path / "c.ecsv")
    assert res.exit_code == 1 and "source_id" in res.output


def test_counterparts_from_a_region_file(best, tmp_path):
    # an optical source list as a fk5 region file (as DAOStarFinder lists are often kept)
    reg = tmp_path / "f555w_sources.reg"
    reg.write_text(
        "# Region file format: DS9 version 4.1\n"
        "fk5\n"
        'circle(150.0,60.00005,0.15") # text={star 1}\n'
        'circle(150.0,60.1,0.15") # text={star 2}\n'
    )
    out = tmp_path / "cands.ecsv"
    res = run("counterparts", best, reg, "-o", out)
    assert res.exit_code == 0, res.output
    c = read_table(out)
    assert c["source_id"].tolist() == ["N"]
    assert c["label"].tolist() == ["star 1"]
    assert c["separation"].iloc[0] == pytest.approx(0.18, abs=1e-6)


def test_no_candidate_is_an_empty_table_with_a_warning_accepted_downstream(best, tmp_path):
    """One rule for a search that finds nothing: an empty table, a warning, exit 0."""
    # 3" north of N (radius 1"): the nearest, by hand 3.00"; nothing near W or E
    opt = optical_file(tmp_path, "f814w.csv", [150.0], [60 + 3.0 / 3600], mag=[21.0])
    out, reg = tmp_path / "cands.ecsv", tmp_path / "cands.reg"
    res = run("counterparts", best, opt, "-o", out, "--regions", reg)
    assert res.exit_code == 0, res.output
    assert "nearest is 3.00 arcsec from N (radius 1.00 arcsec)" in res.stderr
    assert "the candidates table is empty" in res.stderr
    assert res.stdout.startswith("0 candidates")
    assert out.exists() and reg.exists()
    # the next step takes the empty table: an empty table with the photometry columns
    image = Path(__file__).resolve().parents[2] / "testdata/hst-wfpc2-abell478/a478hst-cutout.fits"
    phot = tmp_path / "phot.ecsv"
    res = run("phot", "counterparts", out, "--image", f"F814W={image}", "-o", phot, "--apcorr", "0")
    assert res.exit_code == 0, res.output
    assert "Warning: " in res.stderr and "has no candidates" in res.stderr
    table = read_table(phot, allow_empty=True)
    assert len(table) == 0 and {"f814w_mag", "f814w_flag_outside"} <= set(table.columns)
