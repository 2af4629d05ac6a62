"""Broken or wrong inputs: one line naming the file and the fix, no traceback (issue #10, 4-5).

Every bad file here is made from a real one in testdata/ by the one change a user could meet:
a header card that cannot be parsed, broken metadata, a file cut short.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fsfaults import XRBID
from xrbid.cli.main import cli

HDFS = "hst-wfpc2-hdfs/HST-HDFS.fits"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # in particular no Warning: line before the Error:
    assert lines[0].startswith("Error: ") and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _break_card(data: bytes, key: bytes, start: int = 0) -> bytes:
    """Replace the card ``key`` (first found after ``start``) by one with an unclosed string."""
    i = data.index(key.ljust(8), start)
    card = (key.ljust(8) + b"= 'abc / quote never closed").ljust(80)
    return data[:i] + card + data[i + 80 :]


@pytest.fixture
def bad_card_image(testdata, tmp_path) -> Path:
    data = (testdata / HDFS).read_bytes()
    out = tmp_path / "bad_card.fits"
    out.write_bytes(_break_card(data, b"CD1_1", start=2880 * 100))  # in the image extension
    return out


@pytest.fixture
def unique_ecsv(m101_vot, tmp_path) -> Path:
    out = tmp_path / "u.ecsv"
    assert run("csc", "unique", m101_vot, "-o", out).exit_code == 0
    return out


@pytest.mark.fault
def test_bad_header_card_in_a_fits_table(unique_ecsv, tmp_path):
    from astropy.table import Table

    good = tmp_path / "t.fits"
    Table.read(unique_ecsv).write(good)
    bad = tmp_path / "bad_table.fits"
    bad.write_bytes(_break_card(good.read_bytes(), b"TTYPE1"))
    result = run("csc", "load", bad, "-o", tmp_path / "x.ecsv")
    assert_user_error(result, str(bad), "header card TTYPE1 cannot be parsed")


@pytest.mark.fault
def test_bad_header_card_in_an_image(bad_card_image, tmp_path):
    result = run("phot", "detect", bad_card_image, "-o", tmp_path / "d.ecsv")
    assert_user_error(result, str(bad_card_image), "header card CD1_1 cannot be parsed")
    result = run("calib", "wcs", bad_card_image, "--ref", "gaia", "-o", tmp_path / "w.fits")
    assert_user_error(result, str(bad_card_image), "header card CD1_1 cannot be parsed")
    assert not (tmp_path / "d.ecsv").exists() and not (tmp_path / "w.fits").exists()


@pytest.mark.fault
def test_parquet_with_broken_table_metadata(unique_ecsv, tmp_path):
    import pyarrow.parquet as pq
    from astropy.table import Table

    good = tmp_path / "t.parquet"
    Table.read(unique_ecsv).write(good)
    table = pq.read_table(good)
    meta = dict(table.schema.metadata)
    meta[b"table_meta_yaml"] = meta[b"table_meta_yaml"][:100]  # cut mid-way
    bad = tmp_path / "broken_meta.parquet"
    pq.write_table(table.replace_schema_metadata(meta), bad)
    result = run("csc", "load", bad, "-o", tmp_path / "x.ecsv")
    assert_user_error(result, str(bad), "metadata (YAML header", "is broken")


@pytest.mark.fault
@pytest.mark.parametrize(
    ("value", "expected"),
    [("ACIS", "obsid 'ACIS' (row 1 of the X-ray table) is not a number"), ("", "is empty")],
)
def test_align_median_obsid_column_text_or_empty(unique_ecsv, tmp_path, value, expected):
    from xrbid.tables import read_table, write_table

    df = read_table(unique_ecsv).head(10)
    df["obsid"] = value
    xray = write_table(df, tmp_path / "x.csv")
    reg = tmp_path / "o.reg"
    reg.write_text("fk5\n" + "".join(f"point({r},{d})\n" for r, d in zip(df.ra, df.dec)))
    result = run("align", "median", "--xray", xray, "--optical", reg, "--obsid", 5, "-o", "s.json")
    assert_user_error(result, str(xray), expected)


@pytest.mark.fault
@pytest.mark.parametrize(
    "text",
    [
        "not json at all",
        "[1, 2]",
        '{"garbage": 1}',
        '{"format": "xrbid-alignment/1", "method": "median", "shift_x": "a", "shift_y": 1}',
    ],
)
def test_align_apply_with_a_garbage_solution(unique_ecsv, tmp_path, text):
    sol = tmp_path / "garbage.json"
    sol.write_text(text)
    result = run("align", "apply", unique_ecsv, sol, "-o", tmp_path / "a.ecsv")
    assert_user_error(result, str(sol))
    assert not (tmp_path / "a.ecsv").exists()


@pytest.mark.fault
def test_phot_detect_chip_that_is_not_a_number(testdata, tmp_path):
    image = testdata / HDFS
    result = run("phot", "detect", f"{image}[chip=x]", "-o", tmp_path / "d.ecsv")
    assert_user_error(result, "[chip=N] needs a group number N of 1 or more", "[chip=x]")


@pytest.mark.fault
def test_phot_detect_fwhm_larger_than_the_image(testdata, tmp_path):
    result = run("phot", "detect", testdata / HDFS, "--fwhm", "5000pix", "-o", tmp_path / "d.ecsv")
    assert_user_error(result, "fwhm of 5000 pix does not fit", "500x500", "at most 250 pix")


@pytest.mark.fault
def test_phot_detect_sharpness_limits_reversed(testdata, tmp_path):
    out = tmp_path / "d.ecsv"
    result = run("phot", "detect", testdata / HDFS, "--sharpness", 0.9, 0.2, "-o", out)
    assert_user_error(result, "sharpness range", "LO < HI", "got 0.9 0.2", "swap them")


@pytest.mark.fault
@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_fits_image_is_refused(testdata, tmp_path, fraction):
    """Cut to half (the data of the image extension is short) or to 90 % (the last of four
    extensions is short); astropy only warns, and the detections would come from the
    zero-padded remainder."""
    src = testdata / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
    data = src.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: int(len(data) * fraction)])
    result = run("phot", "detect", cut, "-o", tmp_path / "d.ecsv")
    assert_user_error(result, f"{cut} is truncated", f"the file has {int(len(data) * fraction)}")


@pytest.mark.fault
def test_folder_as_input(tmp_path):
    result = run("csc", "load", tmp_path, "-o", tmp_path / "x.ecsv")
    assert_user_error(result, f"{tmp_path}: is a folder; give a file")
    result = run("phot", "detect", tmp_path, "-o", tmp_path / "d.ecsv")
    assert_user_error(result, str(tmp_path), "folder")


@pytest.mark.fault
def test_unreadable_input(m101_vot, tmp_path):
    """chmod 000; as root, the child runs without the capabilities that bypass permissions."""
    locked = tmp_path / "locked.vot"
    shutil.copy(m101_vot, locked)
    locked.chmod(0)
    prefix = []
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    done = subprocess.run(
        [*prefix, *XRBID, "csc", "load", str(locked), "-o", str(tmp_path / "x.ecsv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"Error: {locked}: cannot be read; check the file's permissions"


@pytest.mark.fault
def test_solution_reader_message_is_json_safe(tmp_path):
    """The messages above are single lines even when the offending value holds a newline."""
    sol = tmp_path / "s.json"
    sol.write_text(json.dumps({"format": "xrbid-alignment/1\nsecond line"}))
    result = run("align", "apply", sol, sol, "-o", tmp_path / "a.ecsv")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
