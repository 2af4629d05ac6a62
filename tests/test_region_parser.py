"""DS9 grammar cases from real files: bracket-free points, yes/no spellings, NaN sizes."""

from __future__ import annotations

import pytest

from xrbid.errors import RegionSyntaxError
from xrbid.region_parser import parse_region_text


def test_bracket_free_point_form_of_the_ds9_manual():
    # DS9 manual: "circle point 100 100"; image pixel 400 -> 0-based 399
    t = parse_region_text("image\ncircle point 400 400\n")
    assert list(t["shape"]) == ["point"] and list(t["marker"]) == ["circle"]
    assert (t.loc[0, "x"], t.loc[0, "y"]) == (399.0, 399.0)


@pytest.mark.parametrize(
    "spelling", ["0", "no", "No", "NO", "n", "N", "false", "False", "FALSE", "off", "OFF"]
)
def test_include_false_spellings_exclude(spelling):
    t = parse_region_text(f"image\ncircle(10,20,3) # include={spelling}\n")
    assert bool(t.loc[0, "exclude"]) is True


@pytest.mark.parametrize("spelling", ["1", "yes", "Yes", "y", "true", "True", "on", "ON"])
def test_include_true_spellings_include(spelling):
    t = parse_region_text(f"image\ncircle(10,20,3) # include={spelling}\n")
    assert bool(t.loc[0, "exclude"]) is False


def test_global_include_0_excludes_following_regions_and_the_line_wins():
    t = parse_region_text(
        "global include=0\nimage\ncircle(10,20,3)\ncircle(11,20,3) # include=1\n"
        "global include=yes\ncircle(12,20,3)\n-circle(13,20,3)\n"
    )
    assert [bool(v) for v in t["exclude"]] == [True, False, False, True]


def test_global_include_0_on_the_fast_path():
    # more than 64 plain lines take the vectorised path; the global still applies
    body = "".join(f'circle(210.{i:03d},54.3,1")\n' for i in range(100))
    t = parse_region_text("global include=False\nfk5\n" + body + "global include=1\n" + body)
    assert len(t) == 200
    assert t["exclude"].iloc[:100].all() and not t["exclude"].iloc[100:].any()


@pytest.mark.parametrize(
    "key",
    [
        "source",
        "background",
        "select",
        "highlite",
        "dash",
        "fixed",
        "edit",
        "move",
        "rotate",
        "delete",
        "fill",
        "include",
    ],
)
def test_every_boolean_property_reads_ds9_spellings_and_refuses_others(key):
    for spelling in ("1", "0", "yes", "no", "Y", "n", "TRUE", "false", "on", "Off"):
        parse_region_text(f"image\ncircle(10,20,3) # {key}={spelling}\n")
    with pytest.raises(RegionSyntaxError, match=rf"line 2: {key}='maybe' is not a yes/no"):
        parse_region_text(f"image\ncircle(10,20,3) # {key}=maybe\n")


@pytest.mark.parametrize("value", ['nan"', "NaN", "inf'", "-inf"])
def test_non_finite_size_is_refused_with_the_line_number(value):
    text = f'fk5\ncircle(210.8,54.3,1")\ncircle(210.8, 54.3, {value})\n'
    with pytest.raises(RegionSyntaxError, match=r"line 3: .* is not a finite number"):
        parse_region_text(text, source="xrbid.reg")


def test_nan_centre_is_refused_too():
    with pytest.raises(RegionSyntaxError, match="line 2: 'nan' is not a finite number"):
        parse_region_text("image\npoint(nan,20)\n")
