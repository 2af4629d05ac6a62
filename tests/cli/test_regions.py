"""``xrbid regions write`` / ``xrbid regions read`` on the M101 table and the peer region files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io.votable import parse as parse_votable
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.regions import read_regions

PEERS = Path(__file__).resolve().parents[2] / "testdata"


def run(*args: str):
    return CliRunner().invoke(cli, ["regions", *map(str, args)])


@pytest.fixture(scope="module")
def m101_columns(m101_vot) -> dict[str, np.ndarray]:
    """name, ra, dec straight from the VOTable, read by its name= attributes (not by xrbid)."""
    table = parse_votable(str(m101_vot)).get_first_table()
    by_name = {f.name: f.ID for f in table.fields}
    arr = table.array
    return {k: np.asarray(arr[by_name[k]]) for k in ("name", "ra", "dec")}


def test_help_has_m101_example():
    result = run("write", "--help")
    assert result.exit_code == 0
    assert "m101_unique.ecsv" in result.output and "--radius-column pu_2sigma" in result.output
    assert "m101" in run("read", "--help").output


def test_write_m101_circles_with_labels(tmp_path, m101_vot, m101_columns):
    out = tmp_path / "m101.reg"
    result = run(
        "write", m101_vot, "-o", out, "--radius", "10arcsec", "--color", "hotpink",
        "--width", "2", "--label-column", "source_id",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3492 circles" in result.output and str(out) in result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "# Region file format: DS9 version 4.1"
    assert "color=hotpink" in lines[2] and "width=2" in lines[2]
    assert lines[3] == "fk5"
    body = lines[4:]
    assert len(body) == 3492
    assert all(line.endswith("}") and ',10") # text={2CXO J' in line for line in body)
    # every circle sits on its VOTable position to 1e-9 deg, in table order
    back = read_regions(out)
    np.testing.assert_allclose(back["ra"], m101_columns["ra"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(back["dec"], m101_columns["dec"], rtol=0, atol=1e-9)
    assert back["label"].tolist() == [str(n).strip() for n in m101_columns["name"]]
    assert (back["radius"] == 10.0).all()


def test_write_radius_column_arcmin_and_json(tmp_path):
    table = tmp_path / "best.csv"
    pd.DataFrame(
        {"source_id": ["A", "B"], "ra": [210.8, 210.9], "dec": [54.3, 54.4], "2Sig": [1.5, 3.0]}
    ).to_csv(table, index=False)
    out = tmp_path / "2sig.reg"
    result = run(
        "write", table, "-o", out, "--radius-column", "pu_2sigma", "--unit", "arcmin", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["regions"] == 2 and data["radius_column"] == "pu_2sigma"
    # 1.5 arcsec = 0.025 arcmin, 3 arcsec = 0.05 arcmin
    assert out.read_text().splitlines()[4:] == [
        "circle(210.8000000000,54.3000000000,0.025')",
        "circle(210.9000000000,54.4000000000,0.05')",
    ]


def test_write_image_points(tmp_path):
    table = tmp_path / "stars.csv"
    pd.DataFrame({"x": [0.0, 10.5], "y": [4.0, 7.0]}).to_csv(table, index=False)
    out = tmp_path / "stars.reg"
    result = run("write", table, "-o", out, "--system", "image", "--marker", "x")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[3:] == [
        "image",
        "point(1,5) # point=x",
        "point(11.5,8) # point=x",
    ]
    assert run("write", table, "-o", tmp_path / "c.reg", "--system", "image", "--radius", "4pix")
    assert "circle(1,5,4)" in (tmp_path / "c.reg").read_text()


def _one_line_error(result) -> str:
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    return lines[0]


def test_existing_output_needs_overwrite(tmp_path, m101_vot):
    out = tmp_path / "m101.reg"
    out.write_text("keep me")
    message = _one_line_error(run("write", m101_vot, "-o", out, "--radius", "2"))
    assert "exists" in message and "--overwrite" in message
    assert out.read_text() == "keep me"
    result = run("write", m101_vot, "-o", out, "--radius", "2", "--overwrite")
    assert result.exit_code == 0
    assert out.read_text().startswith("# Region file format")


def test_bad_labels_stop_and_leave_no_file(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"ra": [1.0, 2.0], "dec": [3.0, 4.0], "nickname": ["ok", "X-1 {ULX}"]}).to_csv(
        table, index=False
    )
    out = tmp_path / "t.reg"
    message = _one_line_error(
        run("write", table, "-o", out, "--radius", "2", "--label-column", "nickname")
    )
    assert "row 1" in message and "--on-bad-label replace" in message
    assert not out.exists()
    ok = run("write", table, "-o", out, "--radius", "2", "--label-column", "nickname",
             "--on-bad-label", "replace")  # fmt: skip
    assert ok.exit_code == 0
    assert out.read_text().splitlines()[-1].endswith("text={X-1 (ULX)}")


def test_missing_column_names_it(tmp_path, m101_vot):
    message = _one_line_error(
        run("write", m101_vot, "-o", tmp_path / "x.reg", "--radius-column", "pu_2sigma")
    )
    assert "'pu_2sigma'" in message and "2Sig" in message
    assert not (tmp_path / "x.reg").exists()


def test_radius_and_column_together_is_an_error(tmp_path, m101_vot):
    message = _one_line_error(
        run(
            "write", m101_vot, "-o", tmp_path / "x.reg", "--radius", "2", "--radius-column", "theta"
        )
    )
    assert "not both" in message


def test_read_peer_file_to_ecsv(tmp_path):
    out = tmp_path / "fk5.ecsv"
    result = run("read", PEERS / "ds9-regions-astropy-regions" / "ds9.fk5.reg", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["regions"] == 16 and data["shapes"]["point"] == 7 and data["frames"] == ["fk5"]
    from astropy.table import Table

    t = Table.read(out)
    assert len(t) == 16 and str(t["ra"].unit) == "deg" and str(t["radius"].unit) == "arcsec"
    assert t["ra"][0] == 202.48643 and t["label"][0] == "Circle"
    assert t["vertices"][3].split()[:2] == ["202.47248", "47.199134"]


def test_read_physical_file_is_an_error_with_line(tmp_path):
    out = tmp_path / "p.csv"
    src = PEERS / "ds9-regions-pyregion" / "test01_ds9_physical.reg"
    message = _one_line_error(run("read", src, "-o", out))
    assert "line 5" in message and "physical" in message
    assert not out.exists()


def test_read_syntax_error_names_line(tmp_path):
    bad = tmp_path / "bad.reg"
    bad.write_text('# Region file format: DS9 version 4.1\nfk5\ncircle(1,2,3")\ncircle(1,2,\n')
    message = _one_line_error(run("read", bad, "-o", tmp_path / "bad.csv"))
    assert f"{bad}, line 4" in message


def test_read_missing_file(tmp_path):
    message = _one_line_error(run("read", tmp_path / "nope.reg", "-o", tmp_path / "x.csv"))
    assert "nope.reg" in message
