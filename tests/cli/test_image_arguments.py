"""Image arguments go through the one IMAGE[ext] parser in every command that takes one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def a478(testdata: Path) -> Path:
    return testdata / "hst-wfpc2-abell478" / "a478hst-cutout.fits"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("[SCI,2]", "no extension 'SCI,2'; extensions are 0:PRIMARY, 1:SCI, 2:WHT, 3:CTX"),
        ("[4]", "no extension 4"),
        ("[0]", "[0] holds no image for DS9 to show; its images are 1:SCI, 2:WHT, 3:CTX"),
    ],
)
@pytest.mark.parametrize("command", ["show", "blink", "stamps", "calibrators"])
def test_ds9_commands_check_the_extension_before_looking_for_ds9(
    a478, tmp_path, spec, message, command
):
    # refused before any DS9 is looked for (there is none titled nobody-here)
    table = tmp_path / "t.csv"
    table.write_text("source_id,ra,dec\nA,63.35,10.46\n")
    image = f"{a478}{spec}"
    args = {
        "show": [image],
        "blink": [image, "--before", table, "--after", table],
        "stamps": [table, "--image", image, "-o", tmp_path / "s"],
        "calibrators": [table, "--image", image, "-o", tmp_path / "c.ecsv"],
    }[command]
    res = run("ds9", command, *args, "--target", "nobody-here")
    assert res.exit_code == 1, res.output
    assert res.output.startswith("Error: ") and message in res.output
    assert "Traceback" not in res.output and "nobody-here" not in res.output


def test_ds9_show_takes_an_extension_and_then_looks_for_ds9(a478):
    res = run("ds9", "show", f"{a478}[SCI,1]", "--target", "nobody-here", "--timeout", "1")
    assert res.exit_code == 1 and "no DS9 titled 'nobody-here'" in res.output


def test_ds9_show_reports_a_malformed_extension_with_the_parser_message(a478):
    res = run("ds9", "show", f"{a478}[chip=x]", "--target", "nobody-here")
    assert res.exit_code == 2 and "[chip=N] needs a group number" in res.output


def test_phot_detect_reads_the_same_forms(a478, tmp_path):
    out = tmp_path / "s.ecsv"
    res = run("phot", "detect", f"{a478}[SCI,1]", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    bad = run("phot", "detect", f"{a478}[1,2,3]", "-o", tmp_path / "t.ecsv")
    assert bad.exit_code == 1
    assert "cannot read [1,2,3] as an extension" in bad.output


@pytest.mark.parametrize("inner", ["²", "9" * 5000, "SCI,2,3"])
def test_ds9_show_refuses_an_unreadable_extension_in_one_line(a478, inner):
    # '²' passed str.isdigit() and broke int(); 5000 digits made the file-name lookup fail
    # with "File name too long": both were tracebacks
    res = run("ds9", "show", f"{a478}[{inner}]", "--target", "nobody-here")
    assert res.exit_code == 2, res.output
    assert "cannot read [" in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
