"""Tests of ``xrbid csc load/unique/select`` on the real M101 CSC table."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
from astropy.table import Table
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.tables import read_table

CALIBRATORS = [
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


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> None:
    """Exit code 1, one line on stderr starting with 'Error:', no traceback, nothing on stdout."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def m101_ecsv(m101_vot, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("csc") / "m101.ecsv"
    result = run("csc", "load", m101_vot, "-o", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def unique_ecsv(m101_ecsv) -> Path:
    out = m101_ecsv.with_name("m101_unique.ecsv")
    result = run("csc", "unique", m101_ecsv, "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_load_summary_and_output(m101_vot, m101_ecsv, tmp_path):
    df = read_table(m101_ecsv)
    assert df.shape == (3492, 28)
    assert df["source_id"].iloc[0] == "2CXO J140312.5+542056"
    assert round(df["counts"].iloc[0], 6) == 170.006026
    assert Table.read(m101_ecsv)["theta"].unit == "arcmin"

    result = run("csc", "load", m101_vot, "-o", tmp_path / "again.parquet")
    assert result.exit_code == 0
    assert result.stdout.strip() == (
        f"{m101_vot}: 3492 rows, 555 sources, 28 columns -> {tmp_path / 'again.parquet'}"
    )


def test_load_json(m101_vot, tmp_path):
    result = run("csc", "load", m101_vot, "-o", tmp_path / "m.csv", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["rows"] == 3492 and data["sources"] == 555
    assert data["columns"][:4] == ["separation", "source_id", "ra", "dec"]


def test_load_xrbid_headers(m101_vot, tmp_path):
    out = tmp_path / "cscresults_M101_renamed.frame"
    result = run("csc", "load", m101_vot, "-o", out, "--headers", "xrbid")
    assert result.exit_code == 0
    header = out.read_text().splitlines()[0].split(",")
    assert header[:7] == ["", "Separation", "CSC ID", "RA", "Dec", "ExpTime", "Theta"]
    assert header[-3:] == ["Counts", "Counts lolim", "Counts hilim"]
    pd.testing.assert_frame_equal(read_table(out), read_table(m101_vot), check_exact=True)


def test_unique(unique_ecsv, m101_ecsv, tmp_path):
    assert len(read_table(unique_ecsv)) == 555
    result = run("csc", "unique", m101_ecsv, "-o", tmp_path / "u.vot", "--json")
    data = json.loads(result.stdout)
    assert (data["input_rows"], data["rows"], data["sources"]) == (3492, 555, 555)


def test_select_ids(unique_ecsv, tmp_path):
    args = [x for sid in CALIBRATORS for x in ("--id", sid)]
    out = tmp_path / "cal.ecsv"
    result = run("csc", "select", unique_ecsv, *args, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"{unique_ecsv}: 9 rows (9 of 9 requested sources found) -> {out}"
    )
    assert sorted(read_table(out)["source_id"]) == sorted(CALIBRATORS)


def test_select_ids_file(unique_ecsv, tmp_path):
    ids = tmp_path / "calibrators.txt"
    ids.write_text("# XRBID guide calibrators\n" + "\n".join(f" {c} " for c in CALIBRATORS))
    out = tmp_path / "cal.csv"
    result = run("csc", "select", unique_ecsv, "--ids-file", ids, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 9
    assert len(read_table(out)) == 9


def test_select_missing_ids(unique_ecsv, tmp_path):
    out = tmp_path / "cal.csv"
    result = run("csc", "select", unique_ecsv, "--id", CALIBRATORS[0], "--id", "2CXO J1", "-o", out)
    assert_user_error(result, "'2CXO J1'", "not in the table", "--missing warn")
    assert not out.exists()

    args = ["--id", CALIBRATORS[0], "--id", "2CXO J1", "--missing", "warn"]
    result = run("csc", "select", unique_ecsv, *args, "-o", out)
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: 1 of 2 IDs not in the table: '2CXO J1'")
    assert read_table(out)["source_id"].tolist() == [CALIBRATORS[0]]


def test_select_needs_ids(unique_ecsv, tmp_path):
    assert_user_error(run("csc", "select", unique_ecsv, "-o", tmp_path / "x.csv"), "--ids-file")


def test_help_has_m101_examples():
    for command in (["csc"], ["csc", "load"], ["csc", "unique"], ["csc", "select"]):
        result = run(*command, "--help")
        assert result.exit_code == 0
        assert "m101" in result.stdout.lower()


# --- bad input: one line, exit 1, no traceback, no output -----------------------------------


def test_missing_required_column(tmp_path):
    table = tmp_path / "noid.csv"
    table.write_text("RA,Dec\n210.8,54.3\n")
    out = tmp_path / "out.ecsv"
    assert_user_error(run("csc", "load", table, "-o", out), "'source_id'", "CSC ID", "name")
    assert not out.exists()


def test_unknown_extensions(m101_vot, tmp_path):
    assert_user_error(run("csc", "load", m101_vot, "-o", tmp_path / "x.txt"), ".ecsv", ".parquet")
    weird = tmp_path / "table.dat"
    weird.write_text("name,ra,dec\n")
    assert_user_error(run("csc", "unique", weird, "-o", tmp_path / "u.csv"), "'.dat'")
    assert sorted(os.listdir(tmp_path)) == ["table.dat"]


def test_empty_table(tmp_path):
    table = tmp_path / "empty.csv"
    table.write_text("name,ra,dec\n")
    assert_user_error(run("csc", "load", table, "-o", tmp_path / "o.csv"), "no rows")
    assert not (tmp_path / "o.csv").exists()


def test_duplicate_columns(tmp_path):
    table = tmp_path / "dup.csv"
    table.write_text("name,ra,RA,dec\na,1,1,2\n")
    assert_user_error(run("csc", "load", table, "-o", tmp_path / "o.csv"), "'ra' and 'RA'")


def test_several_tables(m101_vot, tmp_path):
    from astropy.io.votable.tree import Resource, TableElement, VOTableFile

    two = tmp_path / "two.vot"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VOUnit pedantry about the CSC unit strings
        tab = Table.read(m101_vot, use_names_over_ids=True)
        vot = VOTableFile()
        vot.resources.append(Resource())
        for part in (tab[:4], tab[-2:]):
            vot.resources[0].tables.append(TableElement.from_table(vot, part))
        vot.to_xml(str(two))

    assert_user_error(run("csc", "load", two, "-o", tmp_path / "o.csv"), "2 tables", "--table")
    result = run("csc", "load", two, "--table", "1", "-o", tmp_path / "o.csv")
    assert result.exit_code == 0
    assert len(read_table(tmp_path / "o.csv")) == 2


def test_existing_output(m101_vot, tmp_path):
    out = tmp_path / "m101.ecsv"
    out.write_text("keep")
    assert_user_error(run("csc", "load", m101_vot, "-o", out), "--overwrite")
    assert out.read_text() == "keep"
    assert run("csc", "load", m101_vot, "-o", out, "--overwrite").exit_code == 0
    assert len(read_table(out)) == 3492


def test_unreadable_input(tmp_path):
    assert_user_error(run("csc", "load", tmp_path / "nope.vot", "-o", tmp_path / "o.csv"), "nope")
    assert_user_error(
        run("csc", "select", tmp_path / "nope.csv", "--ids-file", tmp_path / "ids.txt", "-o",
            tmp_path / "o.csv"),
        "no such file",
    )  # fmt: skip
    bad = tmp_path / "bad.vot"
    bad.write_text("<VOTABLE><RESOURCE><TABLE><FIELD")
    assert_user_error(run("csc", "load", bad, "-o", tmp_path / "o.csv"), "bad.vot")
    assert not (tmp_path / "o.csv").exists()


def test_output_folder_missing(m101_vot, tmp_path):
    out = tmp_path / "no" / "such" / "folder" / "m101.ecsv"
    assert_user_error(run("csc", "load", m101_vot, "-o", out), "does not exist")
