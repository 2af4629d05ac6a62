"""The region grammar's value checks and its layouts (issue #10, sections 5 and 6).

Each bad value is an error naming the file line and the valid range; the same regions read the
same whether one per line or joined by ``;`` (as DS9 writes them), on the general and the fast
path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xrbid.errors import RegionSyntaxError
from xrbid.region_parser import _split_semicolons
from xrbid.regions import format_regions, parse_regions


@pytest.mark.fault
@pytest.mark.parametrize(
    ("region", "message"),
    [
        ('circle(12:99:00,+10:00:00,2")', r"'12:99:00': minutes 99 outside 0..59"),
        ('circle(12:30:99,+10:00:00,2")', r"'12:30:99': seconds 99 outside 0..59"),
        ('circle(12:30:00,+10:75:00,2")', r"'\+10:75:00': minutes 75 outside 0..59"),
        ('circle(25:00:00,+10:00:00,2")', r"'25:00:00': right ascension 25h outside 0h..24h"),
        ('circle(25h00m00s,+10d00m00s,2")', r"'25h00m00s': right ascension 25h outside 0h..24h"),
        ('circle(-01:00:00,+10:00:00,2")', r"'-01:00:00': right ascension -1h outside 0h..24h"),
        ('circle(nan,10,2")', r"'nan' is not a finite number"),
        ('circle(10,inf,2")', r"'inf' is not a finite number"),
        ('circle(10,10,nan")', r"'nan' is not a finite number"),
        ('circle(10,10,-2")', r'circle radius -2" is negative; sizes must be >= 0'),
        ('ellipse(10,10,2",-1",30)', r'ellipse semi minor -1" is negative'),
        ('annulus(10,10,-1",2")', r'annulus radius -1" is negative'),
    ],
)
def test_bad_values_name_the_line_and_the_range(region, message):
    text = f'# Region file format: DS9\nfk5\ncircle(10,10,1")\n{region}\n'
    with pytest.raises(RegionSyntaxError, match=rf"<string>, line 4: {message}"):
        parse_regions(text)


@pytest.mark.fault
def test_galactic_longitude_range():
    with pytest.raises(RegionSyntaxError, match=r"'370:00:00': a longitude must be 0..360 deg"):
        parse_regions('galactic\ncircle(370:00:00,+10:00:00,2")\n')


def test_valid_edges_are_accepted():
    """23:59:59.99 and 59.99 seconds are values, not errors; a zero radius is DS9's too."""
    t = parse_regions('fk5\ncircle(23:59:59.99,-89:59:59.99,0")\n')
    assert t["ra"].iloc[0] == pytest.approx(359.99995833, abs=1e-8)
    assert t["dec"].iloc[0] == pytest.approx(-89.99999722, abs=1e-8)
    assert t["radius"].iloc[0] == 0


def _labelled(n: int) -> str:
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-80, 80, n),
            "source_id": [f"2CXO J{i:06d}" for i in range(n)],
        }
    )
    return format_regions(df, radius=2, label_column="source_id")


def _joined(text: str, head: int) -> str:
    """The same regions: the first ``head`` lines as they are, then all shapes on one line."""
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines[:head]) + "\n" + ";".join(lines[head:]) + "\n"


@pytest.mark.parametrize("n", [10, 500])  # the general path, and the fast path (> 64 lines)
def test_joined_layout_reads_like_one_per_line(n):
    text = _labelled(n)
    head = text.count("\n") - n
    per_line = parse_regions(text)
    joined = parse_regions(_joined(text, head))
    assert len(joined) == n
    pd.testing.assert_frame_equal(
        joined.drop(columns="line"), per_line.drop(columns="line"), check_exact=True
    )
    assert (joined["line"] == head + 1).all()  # the file line, not a position in it


@pytest.mark.fault
def test_error_in_a_joined_line_names_the_file_line():
    text = 'fk5\ncircle(1,1,1")\n' + ";".join(['circle(2,2,2")'] * 3 + ['circle(2,2,-2")']) + "\n"
    with pytest.raises(RegionSyntaxError, match=r"line 3: circle radius -2\" is negative"):
        parse_regions(text)
    many = _joined(_labelled(200), 4).replace('2") # text={2CXO J000150}', '-2") # text={x}')
    with pytest.raises(RegionSyntaxError, match=r"line 5: circle radius -2\" is negative"):
        parse_regions(many)


def test_joined_lines_mixed_with_system_changes():
    text = 'fk5;circle(10,20,1");image;circle(5,6,3);fk5;point(30,40) # point=x\n'
    t = parse_regions(text)
    assert t["frame"].tolist() == ["fk5", "image", "fk5"]
    assert t["line"].tolist() == [1, 1, 1]
    assert (t["x"].iloc[1], t["y"].iloc[1]) == (4.0, 5.0)  # 0-based pixels


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        ("a;b;c", ["a", "b", "c"]),
        (
            "circle(1,2,3) # text={x;y};circle(4,5,6)",
            ["circle(1,2,3) # text={x;y}", "circle(4,5,6)"],
        ),
        ('circle(1,2,3") # text="x;y";point(1,2)', ['circle(1,2,3") # text="x;y"', "point(1,2)"]),
        ("circle(1,2,3) # tag={a;b} tag={c};x", ["circle(1,2,3) # tag={a;b} tag={c}", "x"]),
        ("no separator", ["no separator"]),
    ],
)
def test_semicolons_inside_values_do_not_split(line, parts):
    assert _split_semicolons(line) == parts
