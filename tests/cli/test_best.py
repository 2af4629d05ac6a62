"""``xrbid best`` on the real M101 table (with the 1σ/2σ region files) and on bad input."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.tables import read_table


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def m101_pu(m101_vot, tmp_path_factory):
    path = tmp_path_factory.mktemp("best") / "m101_pu.ecsv"
    res = run("pu", m101_vot, "--std", "0.3813,0.3037", "--fallback", "zero", "-o", path)
    assert res.exit_code == 0, res.output
    return path


def test_best_on_m101_with_region_files(m101_pu, tmp_path):
    out = tmp_path / "m101_best.ecsv"
    reg2, reg1 = tmp_path / "best_2sig.reg", tmp_path / "best_1sig.reg"
    res = run("best", m101_pu, "-o", out, "--regions-2sigma", reg2, "--regions-1sigma", reg1)
    assert res.exit_code == 0, res.output
    assert "3492 rows -> best observation of 555 sources" in res.stdout
    best = read_table(out).set_index("source_id")
    assert len(best) == 555
    # the XRBID guide's best table
    row = best.loc["2CXO J140312.5+542056"]
    assert (row["theta"], row["counts"]) == pytest.approx((1.280763, 234.492581), abs=6e-7)
    assert (row["pu_1sigma"], row["pu_2sigma"]) == pytest.approx((0.493011, 0.988256), abs=6e-7)
    row = best.loc["2CXO J140447.2+542633"]
    assert (row["pu_1sigma"], row["pu_2sigma"]) == pytest.approx((0.738103, 1.710737), abs=6e-7)
    assert best.loc["2CXO J140447.2+542633", "n_obs"] == 5

    circles2 = re.findall(
        r'^circle\(([\d.]+),([\d.]+),([\d.]+)"\) # text=\{(.+)\}$', reg2.read_text(), flags=re.M
    )
    circles1 = re.findall(r'^circle\(([\d.]+),([\d.]+),([\d.]+)"\)$', reg1.read_text(), flags=re.M)
    assert len(circles2) == 555 and len(circles1) == 555
    first = circles2[0]
    assert first[3] == "2CXO J140312.5+542056"
    assert float(first[2]) == pytest.approx(0.988256, abs=1e-6)
    assert float(circles1[0][2]) == pytest.approx(0.493011, abs=1e-6)
    assert float(circles2[-1][2]) == pytest.approx(1.710737, abs=1e-6)


def test_best_without_radii_says_run_pu(m101_vot, tmp_path):
    out = tmp_path / "best.ecsv"
    res = run("best", m101_vot, "-o", out)
    assert res.exit_code == 1
    assert "pu_2sigma" in res.output and "xrbid pu" in res.output
    assert not out.exists()


def test_best_without_source_id(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"theta": [1.0], "counts": [5.0], "pu_2sigma": [1.0]}).to_csv(table, index=False)
    out = tmp_path / "best.ecsv"
    res = run("best", table, "-o", out)
    assert res.exit_code == 1
    assert "source_id" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_best_1sigma_regions_need_pu_1sigma_and_nothing_is_written(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "source_id": ["A"],
            "ra": [1.0],
            "dec": [2.0],
            "theta": [1.0],
            "counts": [5.0],
            "pu_2sigma": [1.0],
        }
    ).to_csv(table, index=False)
    out, reg2, reg1 = tmp_path / "best.ecsv", tmp_path / "b2.reg", tmp_path / "b1.reg"
    res = run("best", table, "-o", out, "--regions-2sigma", reg2, "--regions-1sigma", reg1)
    assert res.exit_code == 1 and "pu_1sigma" in res.output
    assert not out.exists() and not reg2.exists() and not reg1.exists()


def test_best_existing_region_file_is_kept(m101_pu, tmp_path):
    out, reg2 = tmp_path / "best.ecsv", tmp_path / "b2.reg"
    reg2.write_text("mine")
    res = run("best", m101_pu, "-o", out, "--regions-2sigma", reg2)
    assert res.exit_code == 1 and "--overwrite" in res.output
    assert reg2.read_text() == "mine" and not out.exists()


def test_best_warns_when_no_source_has_a_radius(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "source_id": ["A", "A", "B"],
            "theta": [1.0, 2.0, 3.0],
            "counts": [5.0, 6.0, 7.0],
            "pu_2sigma": [float("nan")] * 3,
        }
    ).to_csv(table, index=False)
    out = tmp_path / "best.ecsv"
    res = run("best", table, "-o", out)
    assert res.exit_code == 0, res.output
    assert "Warning: 2 of 2 sources have no 2-sigma radius" in res.stderr
    assert "nan" not in res.stdout
    assert "best observation of 2 sources (no 2-sigma radius)" in res.stdout
    assert len(read_table(out)) == 2

    res = run("best", table, "-o", tmp_path / "best2.ecsv", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["median_pu_2sigma"] is None and data["sources_without_radius"] == 2
