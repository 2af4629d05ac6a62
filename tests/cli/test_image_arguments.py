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


@pytest.mark.parametrize("spec", ["[1]", "[SCI,1]"])
def test_ds9_show_reads_image_ext_and_says_the_whole_file_is_opened(a478, spec):
    # refused while the arguments are read, before any DS9 is looked for
    res = run("ds9", "show", f"{a478}{spec}", "--target", "nobody-here")
    assert res.exit_code == 2
    assert f"{a478}{spec}: DS9 opens the whole file and shows its first image" in res.output
    assert "Traceback" not in res.output


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
