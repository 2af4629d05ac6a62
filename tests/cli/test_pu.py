"""``xrbid pu`` on the real M101 table and on bad input."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.tables import read_table

GUIDE = {  # row -> (1Sig, 2Sig) published by the XRBID guide with std = (0.3813, 0.3037)
    0: (0.499641, 1.003207),
    4: (0.494942, 0.991738),
    3487: (0.487466, 0.974933),
    3489: (3.190131, 7.658538),
    3491: (0.738103, 1.710737),
}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pu_on_m101_reproduces_the_guide(m101_vot, tmp_path):
    out = tmp_path / "m101_pu.ecsv"
    before = digest(m101_vot)
    res = run("pu", m101_vot, "--std", "0.3813,0.3037", "--fallback", "zero", "-o", out)
    assert res.exit_code == 0, res.output
    assert "kim07 1827" in res.stdout and "zero 1643" in res.stdout
    assert "0.4875 arcsec" in res.stdout
    df = read_table(out)
    rows = list(GUIDE)
    assert df["pu_1sigma"].to_numpy()[rows] == pytest.approx([GUIDE[r][0] for r in rows], abs=6e-7)
    assert df["pu_2sigma"].to_numpy()[rows] == pytest.approx([GUIDE[r][1] for r in rows], abs=6e-7)
    assert set(df["pu_method"]) == {"kim07", "kim07_clamped", "zero"}
    assert digest(m101_vot) == before


def test_pu_solution_json_and_json_summary(m101_vot, tmp_path):
    solution = tmp_path / "m101_align.json"
    solution.write_text(
        json.dumps(
            {"format": "xrbid-alignment/1", "method": "median", "std_x": 0.3813, "std_y": 0.3037}
        )
    )
    out = tmp_path / "pu.ecsv"
    res = run("pu", m101_vot, "--solution", solution, "-o", out, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["rows"] == 3492
    # default fallback: the 1643 rows without usable theta/counts use the error ellipse
    assert summary["methods"] == {"kim07": 1827, "kim07_clamped": 22, "ellipse": 1643}
    assert summary["sigma_astro"] == pytest.approx(np.hypot(0.3813, 0.3037))
    df = read_table(out)
    assert df["pu_2sigma"].iloc[3491] == pytest.approx(1.710737, abs=6e-7)
    # row 3487 (theta NaN, counts 0): 2σ = sqrt(err_r0² + (2s)²) with err_r0 = 1.612100
    s2 = 2 * np.hypot(0.3813, 0.3037)
    assert df["pu_2sigma"].iloc[3487] == pytest.approx(np.hypot(1.6121, s2), abs=2e-6)


def test_pu_xrbid_headers(m101_vot, tmp_path):
    out = tmp_path / "m101_pu.frame"
    res = run("pu", m101_vot, "--std", "0.3813,0.3037", "--headers", "xrbid", "-o", out)
    assert res.exit_code == 0, res.output
    header = out.read_text().splitlines()[0]
    assert "1Sig" in header and "2Sig" in header


@pytest.mark.parametrize("std", ["0.3813", "0.1,0.2,0.3", "a,b"])
def test_pu_std_with_wrong_arity(m101_vot, tmp_path, std):
    out = tmp_path / "pu.ecsv"
    res = run("pu", m101_vot, "--std", std, "-o", out)
    assert res.exit_code != 0
    assert "--std" in res.output and "std_x,std_y" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.parametrize("extra", [[], ["--std", "0.1,0.2", "--solution", "x.json"]])
def test_pu_needs_exactly_one_scatter_source(m101_vot, tmp_path, extra):
    out = tmp_path / "pu.ecsv"
    res = run("pu", m101_vot, *extra, "-o", out)
    assert res.exit_code == 1
    assert "--std SX,SY" in res.output and "--solution" in res.output
    assert not out.exists()


def small_table(tmp_path, **columns):
    data = {
        "source_id": ["A", "B"],
        "ra": [10.0, 10.1],
        "dec": [20.0, 20.0],
        "theta": [2.0, 3.0],
        "counts": [50.0, 80.0],
    }
    data.update(columns)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "in.csv"
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def test_pu_table_without_source_id(tmp_path):
    table = small_table(tmp_path, source_id=None)
    out = tmp_path / "pu.ecsv"
    res = run("pu", table, "--std", "0.1,0.2", "-o", out)
    assert res.exit_code == 1
    assert res.output.startswith("Error:") and "source_id" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_pu_negative_counts(tmp_path):
    table = small_table(tmp_path, counts=[50.0, -3.0])
    out = tmp_path / "pu.ecsv"
    res = run("pu", table, "--std", "0.1,0.2", "-o", out)
    assert res.exit_code == 1
    assert "negative counts" in res.output
    assert not out.exists()


def test_pu_theta_in_arcsec_warns_but_writes(tmp_path):
    table = small_table(tmp_path, theta=[120.0, 180.0])
    out = tmp_path / "pu.ecsv"
    res = run("pu", table, "--std", "0.1,0.2", "-o", out)
    assert res.exit_code == 0, res.output
    assert "Warning:" in res.stderr and "arcmin" in res.stderr
    assert out.exists()


def test_pu_missing_solution_file(m101_vot, tmp_path):
    res = run("pu", m101_vot, "--solution", tmp_path / "nope.json", "-o", tmp_path / "o.ecsv")
    assert res.exit_code == 1
    assert "no such alignment solution" in res.output


def test_pu_does_not_overwrite_without_flag(tmp_path):
    table = small_table(tmp_path)
    out = tmp_path / "pu.ecsv"
    out.write_text("keep me")
    res = run("pu", table, "--std", "0.1,0.2", "-o", out)
    assert res.exit_code == 1 and "--overwrite" in res.output
    assert out.read_text() == "keep me"
    res = run("pu", table, "--std", "0.1,0.2", "-o", out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert len(read_table(out)) == 2


@pytest.mark.parametrize(
    "content",
    [
        '{"format": "something-else/9", "method": "median", "std_x": 0.1, "std_y": 0.2}',
        "[0.1, 0.2]",
    ],
)
def test_pu_refuses_a_solution_of_another_format_or_a_list(m101_vot, tmp_path, content):
    solution = tmp_path / "sol.json"
    solution.write_text(content)
    out = tmp_path / "o.ecsv"
    res = run("pu", m101_vot, "--solution", solution, "-o", out)
    assert res.exit_code == 1
    assert "not an xrbid alignment solution" in res.output and "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("dec0", "warned"),
    [(54.35, False), (67.35, True)],  # M101 lies at Dec +54.35; +67.35 is 13 deg (780') north
)
def test_pu_solution_from_another_field_is_named(m101_vot, tmp_path, dec0, warned):
    solution = tmp_path / "align.json"
    solution.write_text(
        json.dumps(
            {
                "format": "xrbid-alignment/1",
                "method": "median",
                "std_x": 0.3813,
                "std_y": 0.3037,
                "ra0": 210.80,
                "dec0": dec0,
            }
        )
    )
    out = tmp_path / "pu.ecsv"
    res = run("pu", m101_vot, "--solution", solution, "-o", out)
    assert res.exit_code == 0, res.output
    if warned:
        assert "Warning: the alignment solution comes from another field" in res.stderr
        assert "alignment solution centre (210.80000, +67.35000)" in res.stderr
        assert re.search(r"are 7[6-9]\d\.\d arcmin apart", res.stderr), res.stderr
    else:
        assert "another field" not in res.stderr


@pytest.mark.fault
@pytest.mark.parametrize("std", ["1e308,1e308", "1e200,0.1", "0.1,324001"])
def test_pu_huge_scatter_is_one_error_line(m101_vot, tmp_path, std):
    """A scatter whose 2-sigma radius would be beyond half the sky (or not even a finite
    number: 1e308 squared overflows) is refused with one line naming the limit."""
    out = tmp_path / "pu.ecsv"
    res = run("pu", m101_vot, "--std", std, "-o", out)
    assert res.exit_code == 1
    assert res.output.startswith("Error: ") and len(res.output.strip().splitlines()) == 1
    assert "at most 324000 arcsec" in res.output
    assert not out.exists()


def test_pu_scatter_at_the_limit_is_accepted(m101_vot, tmp_path):
    out = tmp_path / "pu.ecsv"
    res = run("pu", m101_vot, "--std", "324000,0", "--fallback", "zero", "-o", out)
    assert res.exit_code == 0, res.output
    df = read_table(out)
    assert np.isfinite(df["pu_2sigma"]).all() and (df["pu_2sigma"] >= 2 * 324000).all()
