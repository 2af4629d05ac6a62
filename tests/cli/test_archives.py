"""``xrbid csc query`` over recorded CSC TAP answers (local replay server)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from click.testing import CliRunner

from xrbid.cli.main import cli

from ..recorded_archive import Reply, archive_fixture  # noqa: F401 (the `archive` fixture)

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "testdata" / "recorded"
M101 = ["210.8024270", "54.3487510"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XRBID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRBID_OFFLINE", raising=False)


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")  # erg/s/cm^2 in the file
def test_query_writes_canonical_table(archive, tmp_path):
    archive.reply(
        "/tap/sync", Reply((RECORDED / "csc21-m101-observation-3arcmin.vot").read_bytes())
    )
    out = tmp_path / "M101.ecsv"
    url = archive.url + "/tap"
    r = _run("csc", "query", "--center", *M101, "--radius", "3arcmin", "--url", url, "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "1007 rows, 108 sources" in r.output
    t = Table.read(out)
    assert len(t) == 1007
    assert {"source_id", "ra", "dec", "theta", "counts"} <= set(t.colnames)
    truth = Table.read(RECORDED / "csc21-m101-observation-3arcmin.vot")
    np.testing.assert_array_equal(t["counts"], truth["src_cnts_aper_b"])
    assert "<= 3.00000000" in archive.requests[0][1]["QUERY"]
    # the answer is cached: the same query works offline
    again = tmp_path / "again.ecsv"
    r = _run(
        "csc", "query", "--center", *M101, "--radius", "180arcsec", "--url", url, "--offline",
        "-o", str(again), "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 1007 and len(archive.requests) == 1


def test_galaxy_name_offline_says_to_give_the_centre(tmp_path, monkeypatch):
    monkeypatch.setenv("XRBID_OFFLINE", "1")
    out = tmp_path / "M101.vot"
    r = _run("csc", "query", "--galaxy", "M101", "--radius", "15arcmin", "-o", str(out))
    assert r.exit_code == 1
    assert "cannot resolve the name 'M101' offline" in r.output and "--center RA DEC" in r.output
    assert "Traceback" not in r.output and not out.exists()


def test_centre_required_once(tmp_path):
    r = _run("csc", "query", "--radius", "1arcmin", "-o", str(tmp_path / "x.vot"))
    assert r.exit_code == 1 and "--galaxy NAME or with --center RA DEC" in r.output
    r = _run(
        "csc", "query", "--galaxy", "M101", "--center", "1", "2", "--radius", "1arcmin",
        "-o", str(tmp_path / "x.vot"),
    )  # fmt: skip
    assert r.exit_code == 1


def test_archive_failure_is_one_line_and_leaves_no_file(archive, tmp_path):
    archive.reply("/tap/sync", Reply(b"Service Unavailable", 503, "text/plain"))
    out = tmp_path / "M101.vot"
    r = _run(
        "csc", "query", "--center", *M101, "--radius", "3arcmin", "--url", archive.url + "/tap",
        "-o", str(out),
    )  # fmt: skip
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and "HTTP 503" in r.output
    assert r.output.count("\n") == 1 and not out.exists()


def test_offline_without_cache(tmp_path):
    out = tmp_path / "M101.vot"
    r = _run("csc", "query", "--center", *M101, "--radius", "3arcmin", "--offline", "-o", str(out))
    assert r.exit_code == 1 and "offline mode: no cached CSC answer" in r.output


def test_existing_output_needs_overwrite(archive, tmp_path):
    out = tmp_path / "M101.vot"
    out.write_text("keep me")
    r = _run("csc", "query", "--center", *M101, "--radius", "3arcmin", "-o", str(out))
    assert r.exit_code == 1 and "--overwrite" in r.output
    assert out.read_text() == "keep me" and archive.requests == []


def test_bad_output_extension_fails_before_the_query(archive, tmp_path):
    archive.reply(
        "/tap/sync", Reply((RECORDED / "csc21-m101-observation-3arcmin.vot").read_bytes())
    )
    out = tmp_path / "out.txt"
    r = _run(
        "csc", "query", "--center", *M101, "--radius", "3arcmin", "--url", archive.url + "/tap",
        "-o", str(out),
    )  # fmt: skip
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1
    assert "'.txt'" in r.output or ".txt" in r.output
    assert ".ecsv" in r.output  # the line names the formats to use instead
    assert archive.requests == [] and not out.exists()


@pytest.mark.parametrize(
    ("center", "message"),
    [
        (["410.8", "54.35"], "centre RA 410.8 is outside [0, 360] degrees"),
        (["--", "-10", "54.35"], "centre RA -10 is outside [0, 360] degrees"),
        (["210.8", "91"], "centre Dec 91 is outside [-90, 90] degrees"),
    ],
)
def test_centre_out_of_range_is_one_line_and_no_query(archive, tmp_path, center, message):
    out = tmp_path / "M101.ecsv"
    url = archive.url + "/tap"
    opts = ["--radius", "3arcmin", "--url", url, "-o", str(out)]
    if center[0] == "--":  # a negative number must come after the options
        args = ["csc", "query", *opts, "--center", *center[1:]]
    else:
        args = ["csc", "query", "--center", *center, *opts]
    r = _run(*args)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output == f"Error: {message}; give {message.split()[1]} in degrees within " + (
        "[0, 360]\n" if "RA" in message else "[-90, 90]\n"
    )
    assert archive.requests == [] and not out.exists()
