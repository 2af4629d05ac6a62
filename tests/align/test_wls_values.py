"""`align_wls` refuses values no sky or catalogue can have, with the valid range in the message
(issue #10, section 5); the command line shows them as one line."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from xrbid.align import align_wls
from xrbid.cli.main import cli
from xrbid.errors import InputError


@pytest.fixture(scope="module")
def astromon(testdata):
    from xrbid.tables import read_table

    d = testdata / "chandra-astromon"
    xray = read_table(d / "astromon_xray_src.ecsv")
    ref = read_table(d / "astromon_cat_src.ecsv")
    return xray[xray["obsid"] == 14536], ref[ref["obsid"] == 14536]


@pytest.mark.fault
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pm_limit": -5.0}, r"pm_limit\) is -5 mas/yr; .* must be >= 0 mas/yr"),
        ({"pm_limit": math.nan}, r"pm_limit\) is nan mas/yr"),
        ({"density": -1.0}, r"--density is -1 per arcmin\^2; it must be a finite number >= 0"),
        ({"density": math.inf}, r"--density is inf per arcmin\^2"),
        ({"bounds": math.inf}, r"--bounds must be a finite positive angle"),
        ({"bounds": "-2arcsec"}, r"--bounds must be a finite positive angle"),
        ({"ref_point": (400.0, 10.0)}, r"400,10 is off the sky: RA must be 0 <= RA < 360 deg"),
        ({"ref_point": (10.0, -91.0)}, r"10,-91 is off the sky: .*Dec -90..\+90 deg"),
        ({"max_sep": 0.0}, r"max_sep must be a positive angle"),
    ],
)
def test_values_off_their_range_are_refused(astromon, options, message):
    xray, ref = astromon
    with pytest.raises(InputError, match=message):
        align_wls(xray, ref, **options)


def test_zero_limits_are_valid(astromon):
    """The edges of the ranges are values, not errors: a density of 0 is possible."""
    xray, ref = astromon
    sol = align_wls(xray, ref, density=0.0, pm_limit=0.0, weights="uniform")
    assert sol.n_used >= 1


@pytest.mark.fault
@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--density", "-1", "--density is -1 per arcmin^2"),
        ("--pm-limit", "-5", "--pm-limit (pm_limit) is -5 mas/yr"),
        ("--bounds", "inf", "--bounds must be a finite positive angle"),
        ("--ref-point", "400,10", "off the sky"),
    ],
)
def test_cli_one_line(testdata, tmp_path, option, value, fragment):
    d = testdata / "chandra-astromon"
    out = tmp_path / "w.json"
    result = CliRunner().invoke(
        cli,
        [
            "align", "wls", "--xray", str(d / "astromon_xray_src.ecsv"),
            "--reference", str(d / "astromon_cat_src.ecsv"), "--obsid", "14536",
            "-o", str(out), option, value,
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert fragment in result.stderr and not out.exists()
