"""``xrbid tables paper``."""

from __future__ import annotations

import json

from astropy.table import Table
from click.testing import CliRunner

from xrbid.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_paper_tables_from_the_m101_chain(tmp_path, m101_vot):
    pu, best = tmp_path / "pu.ecsv", tmp_path / "best.ecsv"
    assert run("pu", m101_vot, "--std", "0.2223,0.3037", "-o", pu).exit_code == 0
    assert run("best", pu, "-o", best).exit_code == 0
    tex = tmp_path / "t1.tex"
    res = run("tables", "paper", best, "-o", tex, "--caption", "X-ray sources", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["kind"] == "best" and summary["rows"] == 555 and summary["format"] == "aastex"
    text = tex.read_text()
    assert text.startswith("\\begin{deluxetable}") and "2CXO J140312.5+542056 & 14:03:12.53" in text
    mrt = tmp_path / "t1.txt"
    res = run("tables", "paper", best, "--format", "mrt", "-o", mrt)
    assert res.exit_code == 0, res.output
    assert "555 X-ray sources (best observations) -> " in res.stdout
    back = Table.read(mrt, format="ascii.mrt")
    assert len(back) == 555 and back.colnames[:4] == ["Name", "RAh", "RAm", "RAs"]
    res = run("tables", "paper", best, "--format", "mrt", "-o", mrt)
    assert res.exit_code == 1 and "Error: " in res.stderr and "--overwrite" in res.stderr
