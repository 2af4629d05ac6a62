"""DS9 region files: writing, reading, the peer files, and agreement with astropy regions."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xrbid import _region_fast, region_parser
from xrbid.errors import ColumnError, InputError, OutputExistsError, RegionSyntaxError
from xrbid.regions import (
    BAD_LABEL_CHARACTERS,
    DS9_HEADER,
    escape_label,
    format_regions,
    parse_regions,
    read_regions,
    write_regions,
)

ASTROPY_REGIONS = Path(__file__).parent.parent / "testdata" / "ds9-regions-astropy-regions"
PYREGION = Path(__file__).parent.parent / "testdata" / "ds9-regions-pyregion"
PYREGION_DS9 = sorted(
    p
    for p in PYREGION.glob("*.reg")
    if "ciao" not in p.name and "physical" not in p.name  # CIAO format / physical pixels
)
PEER_FILES = sorted(ASTROPY_REGIONS.glob("*.reg")) + PYREGION_DS9


def _table(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_id": [f"2CXO J14025{i}.0+542420" for i in range(n)],
            "ra": np.linspace(210.5, 210.9, n),
            "dec": np.linspace(54.2, 54.5, n),
            "pu_2sigma": np.linspace(0.8, 2.4, n),
        }
    )


def _value(v):
    """A table cell with missing values (NaN in string columns) as None."""
    return None if isinstance(v, float) and math.isnan(v) else v


def _body(text: str) -> list[str]:
    """The region lines of a file this package wrote (after header, global, system)."""
    return text.splitlines()[4:]


def _parse_general_only(text: str, monkeypatch) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(_region_fast.FastLines, "find", classmethod(lambda cls, text: None))
        return parse_regions(text)


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


def test_file_layout_header_global_system_and_one_circle_per_row():
    text = format_regions(_table(), radius=10, color="hotpink", width=2)
    lines = text.splitlines()
    assert lines[0] == DS9_HEADER
    assert lines[2].startswith("global color=hotpink ")
    assert " width=2 " in lines[2] and " dash=0 " in lines[2]
    assert lines[3] == "fk5"
    assert len(_body(text)) == 3
    assert all(line.startswith("circle(") for line in _body(text))
    assert text.endswith("\n")


def test_radius_written_in_requested_unit():
    # 30 arcsec = 0.5 arcmin = 1/120 deg (hand conversion)
    df = _table(1)
    assert _body(format_regions(df, radius=30))[0].endswith(',30")')
    assert _body(format_regions(df, radius=30, unit="arcmin"))[0].endswith(",0.5')")
    deg = _body(format_regions(df, radius=36, unit="deg"))[0]
    assert deg.endswith(",0.01d)")


def test_coordinates_written_to_1e_10_degree():
    df = pd.DataFrame({"ra": [210.80227402777], "dec": [-54.34875000001]})
    line = _body(format_regions(df, radius=1.5))[0]
    assert line == 'circle(210.8022740278,-54.3487500000,1.5")'


def test_radius_column_and_labels():
    df = _table(2)
    lines = _body(format_regions(df, radius_column="pu_2sigma", label_column="source_id"))
    assert lines[0] == ('circle(210.5000000000,54.2000000000,0.8") # text={2CXO J140250.0+542420}')
    assert lines[1].startswith('circle(210.9000000000,54.5000000000,2.4")')


def test_image_system_adds_one_to_zero_based_pixels():
    df = pd.DataFrame({"x": [0.0, 99.5], "y": [0.0, 10.25]})
    text = format_regions(df, radius=3, system="image")
    assert text.splitlines()[3] == "image"
    assert _body(text) == ["circle(1,1,3)", "circle(100.5,11.25,3)"]
    one_based = format_regions(df, radius=3, system="image", pixel_origin=1)
    assert _body(one_based)[0] == "circle(0,0,3)"


def test_point_markers_and_per_row_colour_and_tag():
    df = _table(2).assign(colour=["red", "#00ff00"])
    lines = _body(format_regions(df, marker="cross", color_column="colour", tag="calibrators"))
    assert (
        lines[0] == "point(210.5000000000,54.2000000000) # point=cross color=red tag={calibrators}"
    )
    assert lines[1].endswith("# point=cross color=#00ff00 tag={calibrators}")


def test_missing_labels_get_no_text():
    df = _table(2)
    df.loc[1, "source_id"] = None
    lines = _body(format_regions(df, radius=2, label_column="source_id"))
    assert "text=" in lines[0] and "#" not in lines[1]


def test_write_regions_is_atomic_and_never_overwrites(tmp_path):
    out = tmp_path / "m101.reg"
    assert write_regions(_table(), out, radius=10) == out
    before = out.read_text()
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_regions(_table(5), out, radius=10)
    assert out.read_text() == before
    write_regions(_table(5), out, radius=10, overwrite=True)
    assert len(_body(out.read_text())) == 5


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "bad.reg"
    df = _table().assign(ra=[1.0, np.nan, 2.0])
    with pytest.raises(InputError):
        write_regions(df, out, radius=10)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# bad input while writing
# --------------------------------------------------------------------------------------------


def test_nan_coordinates_name_the_rows():
    df = _table(4)
    df.loc[[1, 3], "dec"] = np.nan
    with pytest.raises(InputError, match=r"dec is NaN .* rows 1, 3 \(0-based\)"):
        format_regions(df, radius=2)


def test_nan_and_negative_radius_name_the_rows():
    df = _table(3)
    df.loc[2, "pu_2sigma"] = np.nan
    with pytest.raises(InputError, match=r"pu_2sigma.*row 2 .*J140252"):
        format_regions(df, radius_column="pu_2sigma")
    df.loc[2, "pu_2sigma"] = -1
    with pytest.raises(InputError, match="must be > 0"):
        format_regions(df, radius_column="pu_2sigma")


def test_missing_column_names_it_and_its_aliases():
    with pytest.raises(ColumnError, match=r"'pu_2sigma'.*2Sig"):
        format_regions(_table().drop(columns="pu_2sigma"), radius_column="pu_2sigma")
    with pytest.raises(ColumnError, match="'x'"):
        format_regions(_table(), radius=2, system="image")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "either a radius"),
        ({"radius": 2, "radius_column": "pu_2sigma"}, "not both"),
        ({"radius": 2, "system": "galactic"}, "unknown region system"),
        ({"radius": 2, "unit": "parsec"}, "unknown radius unit"),
        ({"radius": 2, "color": "hot pink"}, "not a DS9 colour"),
        ({"radius": 2, "width": 0}, "width"),
        ({"radius": 2, "marker": "star"}, "unknown marker"),
        ({"radius": 2, "marker": "x"}, "no radius"),
        ({"radius": 2, "tag": "a}b"}, "tag"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(InputError, match=message):
        format_regions(_table(), **options)


def test_image_regions_refuse_angular_units():
    df = pd.DataFrame({"x": [1.0], "y": [2.0]})
    with pytest.raises(InputError, match="pixels"):
        format_regions(df, radius=2, system="image", unit="arcsec")


def test_empty_table():
    with pytest.raises(InputError, match="no rows"):
        format_regions(_table().iloc[:0], radius=2)


def test_dec_out_of_range():
    with pytest.raises(InputError, match="dec outside"):
        format_regions(_table().assign(dec=[0.0, 95.0, 1.0]), radius=2)


@pytest.mark.parametrize("bad", ["X-1 {ULX}", "a}b", "two\nlines", "a#b", "a;circle(1,2,3)", 'q"'])
def test_bad_labels_rejected_by_default(bad):
    df = _table(2).assign(source_id=["ok", bad])
    with pytest.raises(InputError, match=r"labels in column 'source_id'.*row 1 .*replace"):
        format_regions(df, radius=2, label_column="source_id")


def test_bad_labels_replaced_on_request_cannot_break_the_file():
    nasty = "x}; circle(0,0,1) # text={pwn}\nfk4"
    df = _table(2).assign(source_id=["ok", nasty])
    text = format_regions(df, radius=2, label_column="source_id", on_bad_label="replace")
    assert len(_body(text)) == 2
    assert _body(text)[1].endswith("# text={x)_ circle(0,0,1) _ text=(pwn) fk4}")
    back = parse_regions(text)
    assert len(back) == 2
    assert back["label"].tolist() == ["ok", escape_label(nasty)]


def test_escape_label_rule():
    # every bad character is replaced, by hand: braces/brackets -> parentheses, others -> _
    assert escape_label("{a}[b]") == "(a)(b)"
    assert escape_label("#;\"'\\$") == "______"
    assert escape_label("tab\there\r\n") == "tab here  "
    assert escape_label("NGC 5457 X-1 +ß") == "NGC 5457 X-1 +ß"
    assert set(BAD_LABEL_CHARACTERS) <= set("{}[]#;\"'\\$")


# --------------------------------------------------------------------------------------------
# reading: syntax, systems, errors
# --------------------------------------------------------------------------------------------


def test_parse_sexagesimal_and_units_by_hand():
    # 13:29:52.675 h = 15 * (13 + 29/60 + 52.675/3600) deg; +47:11:45.02 deg; 0.5' = 30"
    text = "fk5\ncircle(13:29:52.675,+47:11:45.02,0.5')\ncircle(13h29m52.675s,-0d30m0s,0.01d)"
    t = parse_regions(text)
    assert t.loc[0, "ra"] == pytest.approx(15 * (13 + 29 / 60 + 52.675 / 3600), abs=1e-12)
    assert t.loc[0, "dec"] == pytest.approx(47 + 11 / 60 + 45.02 / 3600, abs=1e-12)
    assert t.loc[0, "radius"] == pytest.approx(30.0)
    assert t.loc[1, "dec"] == pytest.approx(-0.5, abs=1e-12)
    assert t.loc[1, "radius"] == pytest.approx(36.0)


def test_galactic_is_converted_to_icrs():
    # the north Galactic pole is at ICRS (192.85948, +27.12825) deg (Hipparcos definition)
    t = parse_regions("galactic\npoint(0,90) # point=x")
    assert t.loc[0, "frame"] == "galactic"
    assert t.loc[0, "ra"] == pytest.approx(192.85948, abs=2e-5)
    assert t.loc[0, "dec"] == pytest.approx(27.12825, abs=2e-5)


def test_several_regions_per_line_properties_and_exclusion():
    text = (
        'icrs;circle(1,2,3") # color=red text={a;b} tag={t1} tag={t2};-box(1,2,4",5",30);'
        "point(3,4) # point=diamond"
    )
    t = parse_regions(text)
    assert t["shape"].tolist() == ["circle", "box", "point"]
    assert t.loc[0, "label"] == "a;b"
    assert t.loc[0, "tag"] == "t1;t2"
    assert t.loc[0, "color"] == "red"
    assert t["exclude"].tolist() == [False, True, False]
    assert (t.loc[1, "box_width"], t.loc[1, "box_height"], t.loc[1, "angle"]) == (4, 5, 30)
    assert t.loc[2, "marker"] == "diamond"
    assert t["line"].tolist() == [1, 1, 1]


def test_other_ds9_shapes_and_forms():
    text = (
        "# Region file format: DS9 version 4.1\nfk5\n"
        "text(202.5,47.2,{Hello world}) # color=red\n"
        '# vector(202.5,47.2,30",45) vector=1\n'
        "# segment(202.5,47.2,202.6,47.3)\n"
        "circle point(202.5,47.2)\n"
        '+circle(202.5,47.2,1") # include=0\n'
        'annulus(202.5,47.2,1",2",4")\n'
        'ellipse(202.5,47.2,3",2",6",4",30)\n'
        "polygon(1,2,3,4)\n"
    )
    with pytest.raises(RegionSyntaxError, match="line 10: polygon takes at least 3"):
        parse_regions(text)
    t = parse_regions(text.rsplit("polygon", 1)[0])
    assert t["shape"].tolist() == [
        "text", "vector", "segment", "point", "circle", "annulus", "ellipse"
    ]  # fmt: skip
    assert t.loc[0, "label"] == "Hello world" and t.loc[0, "color"] == "red"
    assert (t.loc[1, "radius"], t.loc[1, "angle"]) == (30, 45)
    assert t.loc[2, "vertices"] == (202.5, 47.2, 202.6, 47.3)
    assert t.loc[3, "marker"] == "circle"
    assert bool(t.loc[4, "exclude"])  # include=0 overrides the "+"
    assert (t.loc[5, "radius"], t.loc[5, "radius_outer"]) == (1, 4)
    assert t.loc[5, "params"] == (1, 2, 4)
    assert (t.loc[6, "semi_major"], t.loc[6, "semi_minor"], t.loc[6, "angle"]) == (3, 2, 30)
    assert t.loc[6, "params"] == (3, 2, 6, 4)


def test_composite_members_inherit_its_properties():
    text = (
        "fk5\n# composite(1,2,0) || composite=1 color=red\n"
        'circle(1,2,3") ||\ncircle(1,2,4") # text={last member}\ncircle(1,2,5")'
    )
    t = parse_regions(text)
    assert t["color"].tolist() == ["red", "red", "green"]
    assert t["shape"].tolist() == ["circle"] * 3  # the composite itself is not a region row


def test_image_regions_are_returned_zero_based_by_default():
    t = parse_regions("image\ncircle(100,200,5)")
    assert (t.loc[0, "x"], t.loc[0, "y"], t.loc[0, "radius"]) == (99, 199, 5)
    t1 = parse_regions("image\ncircle(100,200,5)", pixel_origin=1)
    assert (t1.loc[0, "x"], t1.loc[0, "y"]) == (100, 200)
    assert np.isnan(t.loc[0, "ra"])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('fk5\ncircle(1,2,3")\ncircle(1,2', 3, "missing"),
        ('fk5\n\ncirkle(1,2,3")', 3, "unknown shape"),
        ('fk5\ncircle(1,abc,3")', 2, "not a number"),
        ("fk5\ncircle(1,2)", 2, "circle takes"),
        ('circle(1,2,3")', 1, "before any coordinate system"),
        ('image\ncircle(1,2,3")', 2, "pixels"),
        ("physical\ncircle(1,2,3)", 2, "physical"),
        ('wcs\ncircle(1,2,3")', 2, "wcs"),
        ('fk5\ncircle(1,2,3") # text={abc', 2, "text= opens with { but is never closed"),
        ('fk5\ncircle(1,2,3") # color=red tag={a', 2, "tag= opens with {"),
        ('global font="helvetica 10\nfk5\ncircle(1,2,3")', 1, 'font= opens with "'),
    ],
)
def test_syntax_errors_name_source_and_line(text, line, message):
    with pytest.raises(RegionSyntaxError, match=rf"^my\.reg, line {line}: .*{message}"):
        parse_regions(text, source="my.reg")


def test_physical_and_ciao_files_give_a_clear_error():
    with pytest.raises(RegionSyntaxError, match=r"test01_ds9_physical.reg, line 5: .*physical"):
        read_regions(PYREGION / "test01_ds9_physical.reg")
    for name in ("test01_ciao.reg", "test01_ciao_physical.reg", "test_annuli_ciao.reg"):
        with pytest.raises(RegionSyntaxError, match=r"line 1: this is a CIAO region file"):
            read_regions(PYREGION / name)


@pytest.mark.parametrize("system", ["physical", "wcs", "detector"])
def test_long_files_in_unplaceable_systems_are_refused(system):
    # long enough for the vectorised path: the error must still come, at the first region
    text = f"# Region file format: DS9 version 4.1\n{system}\n" + "circle(100,200,5)\n" * 200
    with pytest.raises(RegionSyntaxError, match=rf"^big.reg, line 3: .*{system}"):
        parse_regions(text, source="big.reg")
    with pytest.raises(RegionSyntaxError, match=r"line 1: .*before any coordinate system"):
        parse_regions("circle(100,200,5)\n" * 200)


def test_long_plain_files_with_numbers_ending_in_a_point():
    text = "image\n" + "circle(5.,6.,7.)\n" * 100 + "point(1.,2.)"
    t = parse_regions(text)
    assert len(t) == 101 and (t["radius"][:100] == 7).all() and t["x"].iloc[-1] == 0


@pytest.mark.parametrize("fast", [False, True])
def test_latitude_out_of_range_names_the_line(fast):
    text = "galactic\n" + 'circle(10,20,3")\n' * (100 if fast else 1) + "point(10,95)\n"
    line = 102 if fast else 3
    with pytest.raises(RegionSyntaxError, match=rf"line {line}: a latitude .* -90..\+90"):
        parse_regions(text)
    with pytest.raises(RegionSyntaxError, match="line 2: a latitude"):
        parse_regions("fk5\npolygon(1,2,3,4,5,-91)")


def test_windows_line_ends_and_byte_order_mark():
    t = parse_regions('\ufefffk5\r\ncircle(1,2,3")\r\npoint(4,5) # point=x\r\n')
    assert t["shape"].tolist() == ["circle", "point"] and t["line"].tolist() == [2, 3]


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_regions(tmp_path / "nope.reg")
    with pytest.raises(InputError, match="is a folder"):
        read_regions(tmp_path)


def test_output_folder_must_exist(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_regions(_table(), tmp_path / "no" / "such.reg", radius=2)


def test_empty_file_reads_as_empty_table():
    t = parse_regions("# Region file format: DS9 version 4.1\nfk5\n")
    assert len(t) == 0 and list(t.columns) == list(region_parser.COLUMNS)


def test_fast_and_general_paths_agree(monkeypatch):
    rng = np.random.default_rng(7)
    n = 300
    df = pd.DataFrame(
        {
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-90, 90, n),
            "r": rng.uniform(0.1, 50, n),
            "id": [f"S{i}" for i in range(n)],
            "c": rng.choice(["red", "#0a0", "cyan"], n),
        }
    )
    text = format_regions(df, radius_column="r", label_column="id", color_column="c", tag="g")
    # a file where the system and the global colour change half-way, with odd lines mixed in
    lines = text.splitlines()
    lines.insert(10, "circle(1.5,2.5,0.5')\ncircle(1.5,-2.5,0.001d)\ncircle(1.5,2.5,3)\npoint(7,8)")
    lines.insert(150, 'galactic\nglobal color=blue\ncircle(1:00:00,2:00:00,3") # text={sexa}')
    lines.append("image\npoint(3,4)\ncircle(5,6,7)\n-circle(8,9,10) # text={ex}")
    mixed = "\n".join(lines)  # no newline after the last line
    found = _region_fast.FastLines.find(mixed)
    assert len(found.parts) == 3  # plain circles, plain points, circles/points with properties
    fast = parse_regions(mixed)
    general = _parse_general_only(mixed, monkeypatch)
    pd.testing.assert_frame_equal(fast, general)
    assert len(fast) == n + 8
    np.testing.assert_array_equal(fast.loc[6:8, "radius"], [30.0, 3.6, 10800.0])
    assert fast.loc[9, "shape"] == "point" and fast.loc[7, "dec"] == -2.5
    # rows before the "sexa" circle: 145 data rows (list items 150, less 4 header lines and the
    # first insertion) and the 4 regions inserted first
    k = 150 - 4 - 1 + 4
    assert fast.loc[k, "label"] == "sexa" and fast.loc[k, "color"] == "blue"
    assert fast.loc[k, "frame"] == "galactic" and fast.loc[k - 1, "frame"] == "fk5"
    assert fast.loc[k + 1, "frame"] == "galactic" and fast.loc[k + 1, "color"] == df.loc[k - 4, "c"]
    assert fast.loc[n + 5, "color"] == "blue" and fast.loc[n + 5, "marker"] == "boxcircle"
    assert fast["exclude"].sum() == 1


_number_text = st.builds(
    lambda v, fmt: fmt % v,
    st.floats(-90, 90, allow_nan=False),
    st.sampled_from(["%.6f", "%g", "%r", "%.3e", "%.0f", "%.1f"]),
)
_props = st.lists(
    st.sampled_from(
        ["color=red", "color=#0a0", "point=x", "point=box 7", "tag={a b}", "text={l 1}",
         "text={}", "width=2", 'font="times 10"', "source=0"]
    ),
    max_size=4,
)  # fmt: skip


@st.composite
def _region_line(draw):
    shape = draw(st.sampled_from(["circle", "point"]))
    numbers = [draw(_number_text), draw(_number_text)]
    if shape == "circle":
        size = draw(st.floats(1e-3, 1e3).map(lambda v: f"{v:g}"))
        numbers.append(size + draw(st.sampled_from(['"', "'", "d", ""])))
    spaces = draw(st.sampled_from(["", " "]))
    line = draw(st.sampled_from(["", "-"])) + f"{shape}({(',' + spaces).join(numbers)})"
    props = draw(_props)
    return line + (" # " + " ".join(props) if props else "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=st.sampled_from(["fk5", "image", "galactic"]),
    body=st.lists(_region_line(), min_size=70, max_size=90),
)
def test_fast_and_general_paths_agree_on_generated_files(frame, body):
    text = f"# Region file format: DS9 version 4.1\nglobal color=cyan\n{frame}\n" + "\n".join(body)

    def run(general: bool):
        try:
            if general:
                with pytest.MonkeyPatch.context() as m:
                    m.setattr(_region_fast.FastLines, "find", classmethod(lambda c, t: None))
                    return parse_regions(text)
            return parse_regions(text)
        except RegionSyntaxError as exc:
            return str(exc)

    fast, general = run(False), run(True)
    if isinstance(general, str):
        assert fast == general
    else:
        pd.testing.assert_frame_equal(fast, general)


# --------------------------------------------------------------------------------------------
# round trips (hypothesis)
# --------------------------------------------------------------------------------------------

_labels = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF), max_size=20
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.floats(0, 360, exclude_max=True),
            st.floats(-90, 90),
            st.floats(1e-3, 7200),
            _labels,
        ),
        min_size=1,
        max_size=80,
    ),
    unit=st.sampled_from(["arcsec", "arcmin", "deg"]),
)
def test_sky_round_trip(rows, unit):
    df = pd.DataFrame(rows, columns=["ra", "dec", "r", "label"])
    text = format_regions(
        df, radius_column="r", unit=unit, label_column="label", on_bad_label="replace"
    )
    assert len(_body(text)) == len(df)  # no label can add or break a line
    back = parse_regions(text)
    assert len(back) == len(df)
    np.testing.assert_allclose(back["ra"], df["ra"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(back["dec"], df["dec"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(back["radius"], df["r"], rtol=1e-9)
    assert back["label"].tolist() == [escape_label(s) for s in df["label"]]
    clean = [s for s in df["label"] if s == escape_label(s)]
    assert all(s in back["label"].tolist() for s in clean)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.floats(-1e4, 1e5), st.floats(-1e4, 1e5), st.floats(1e-3, 1e4)),
        min_size=1,
        max_size=80,
    )
)
def test_image_round_trip(rows):
    df = pd.DataFrame(rows, columns=["x", "y", "r"])
    back = parse_regions(format_regions(df, radius_column="r", system="image"))
    np.testing.assert_allclose(back["x"], df["x"], rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(back["y"], df["y"], rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(back["radius"], df["r"], rtol=1e-9)


def test_point_round_trip():
    df = _table(4)
    back = parse_regions(format_regions(df, marker="diamond", label_column="source_id"))
    assert back["shape"].eq("point").all() and back["marker"].eq("diamond").all()
    assert back["label"].tolist() == df["source_id"].tolist()


# --------------------------------------------------------------------------------------------
# peer files and the astropy regions package
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PEER_FILES, ids=lambda p: p.name)
def test_every_peer_file_reads(path):
    t = read_regions(path)
    assert len(t) > 0
    sky = t["frame"] != "image"
    assert t.loc[sky, ["ra", "dec"]].notna().all().all()
    assert t.loc[~sky, ["x", "y"]].notna().all().all()


def _regions_package(path: Path):
    from regions import Regions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about the shapes it skips
        return Regions.read(str(path), format="ds9")


def _sky_deg(coord):
    """ICRS degrees of a regions-package SkyCoord (fk5/icrs values are taken as they are)."""
    name = coord.frame.name
    if name in ("fk5", "icrs"):
        return coord.spherical.lon.deg, coord.spherical.lat.deg
    return coord.icrs.ra.deg, coord.icrs.dec.deg


def _expand_like_regions_package(t: pd.DataFrame) -> list[tuple[dict, str, tuple]]:
    """One entry per region the regions package makes: (our row, its class, sizes)."""
    out = []
    for _, row in t.iterrows():
        shape, params = row["shape"], row["params"]
        if shape == "annulus":
            for k in range(len(params) - 1):
                out.append((row, "CircleAnnulus", (params[k], params[k + 1])))
        elif shape in ("ellipse", "box") and params is not None:
            kind = "EllipseAnnulus" if shape == "ellipse" else "RectangleAnnulus"
            for k in range(0, len(params) - 2, 2):
                out.append((row, kind, tuple(params[k : k + 4])))
        elif shape in ("circle", "ellipse", "box", "polygon", "line", "point", "text"):
            kind = {"box": "Rectangle"}.get(shape, shape.capitalize())
            out.append((row, kind, ()))
    return out


@pytest.mark.parametrize("path", PEER_FILES, ids=lambda p: p.name)
def test_peer_files_agree_with_regions_package(path):
    ours = _expand_like_regions_package(read_regions(path))
    theirs = list(_regions_package(path))
    assert len(ours) == len(theirs)
    for (row, kind, sizes), reg in zip(ours, theirs, strict=True):
        name = type(reg).__name__
        assert name.startswith(kind), (row["line"], name, kind)
        sky = name.endswith("SkyRegion")
        assert sky == (row["frame"] != "image")
        if hasattr(reg, "center"):
            if sky:
                ra, dec = _sky_deg(reg.center)
                assert abs(ra - row["ra"]) < 1e-9 and abs(dec - row["dec"]) < 1e-9
            else:
                assert abs(reg.center.x - row["x"]) < 1e-9
                assert abs(reg.center.y - row["y"]) < 1e-9

        def size(q, sky=sky):
            return q.to_value("arcsec") if sky else float(q)

        if kind == "Circle":
            assert math.isclose(size(reg.radius), row["radius"], rel_tol=1e-12)
        elif kind == "Ellipse":  # regions stores full axes
            assert math.isclose(size(reg.width), 2 * row["semi_major"], rel_tol=1e-12)
            assert math.isclose(size(reg.height), 2 * row["semi_minor"], rel_tol=1e-12)
            assert math.isclose(reg.angle.to_value("deg"), row["angle"], rel_tol=1e-12)
        elif kind == "Rectangle":
            assert math.isclose(size(reg.width), row["box_width"], rel_tol=1e-12)
            assert math.isclose(size(reg.height), row["box_height"], rel_tol=1e-12)
        elif kind == "CircleAnnulus":
            assert math.isclose(size(reg.inner_radius), sizes[0], rel_tol=1e-12)
            assert math.isclose(size(reg.outer_radius), sizes[1], rel_tol=1e-12)
        elif kind in ("Polygon", "Line"):
            verts = np.asarray(row["vertices"]).reshape(-1, 2)
            if kind == "Polygon":
                pts = reg.vertices
            else:
                pts = [reg.start, reg.end]
            for (a, b), p in zip(verts, pts if kind == "Line" else [pts], strict=False):
                if kind == "Line":
                    got = _sky_deg(p) if sky else (p.x, p.y)
                    assert abs(got[0] - a) < 1e-9 and abs(got[1] - b) < 1e-9
            if kind == "Polygon":
                got = np.column_stack(_sky_deg(pts) if sky else (pts.x, pts.y))
                np.testing.assert_allclose(got, verts, rtol=0, atol=1e-9)
        raw = reg._raw_meta
        text = reg.text if kind == "Text" else raw.get("text")
        assert text == _value(row["label"])
        assert raw.get("color", "green") == row["color"]
        assert (raw.get("include", 1) == 0) == row["exclude"]
        tags = raw.get("tag")
        assert (";".join(tags) if tags else None) == _value(row["tag"])
        if kind == "Point":
            assert raw.get("point", "boxcircle").split()[0] == row["marker"]


def test_written_circles_equal_regions_package_both_ways():
    from regions import Regions

    rng = np.random.default_rng(3)
    n = 500
    df = pd.DataFrame(
        {"ra": rng.uniform(0, 360, n), "dec": rng.uniform(-90, 90, n), "r": rng.uniform(0.2, 30, n)}
    )
    text = format_regions(df, radius_column="r")
    theirs = Regions.parse(text, format="ds9")
    ra = np.array([r.center.ra.deg for r in theirs])
    dec = np.array([r.center.dec.deg for r in theirs])
    rad = np.array([r.radius.to_value("arcsec") for r in theirs])
    np.testing.assert_allclose(ra, df["ra"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(dec, df["dec"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(rad, df["r"], rtol=1e-9)
    # and the file the regions package writes (fewer digits) reads the same with both parsers
    serialized = theirs.serialize(format="ds9")
    again = Regions.parse(serialized, format="ds9")
    ours = parse_regions(serialized)
    np.testing.assert_allclose(ours["ra"], [r.center.ra.deg for r in again], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["dec"], [r.center.dec.deg for r in again], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        ours["radius"], [r.radius.to_value("arcsec") for r in again], rtol=1e-12
    )


# ----------------------------------------------------------------------------- RegionStyle


def test_region_style_is_the_global_line_and_the_region_properties():
    from xrbid.regions import RegionStyle

    df = pd.DataFrame({"ra": [210.8], "dec": [54.35]})
    style = RegionStyle(color="hotpink", width=2, dash=True, font_size=12, tag="xrb")
    text = format_regions(df, radius=1.5, style=style)
    glob = next(line for line in text.splitlines() if line.startswith("global"))
    assert "color=hotpink" in glob and "width=2" in glob and "dash=1" in glob
    assert 'font="helvetica 12 normal roman"' in glob
    assert 'circle(210.8000000000,54.3500000000,1.5") # tag={xrb}' in text
    # the same properties given one by one write the same file; a keyword changes the style
    assert (
        format_regions(df, radius=1.5, color="hotpink", width=2, dash=True, font_size=12, tag="xrb")
        == text
    )
    assert "color=cyan" in format_regions(df, radius=1.5, style=style, color="cyan")
    points = format_regions(df, style=RegionStyle(marker="x", marker_size=9))
    assert "point(210.8000000000,54.3500000000) # point=x 9" in points


def test_an_unknown_style_option_is_a_user_error():
    with pytest.raises(InputError, match=r"unknown region option.*colour"):
        format_regions(pd.DataFrame({"ra": [1.0], "dec": [2.0]}), radius=1, colour="red")


@pytest.mark.fault
@pytest.mark.parametrize("ra", [400.0, 360.0, -0.5])
def test_ra_outside_0_360_is_refused(ra):
    df = pd.DataFrame({"ra": [10.0, ra], "dec": [0.0, 1.0], "source_id": ["a", "b"]})
    with pytest.raises(InputError, match=rf"ra {ra:g} outside 0 <= ra < 360 deg in row 1"):
        format_regions(df, radius=1)


@pytest.mark.fault
@pytest.mark.parametrize("tiny", [1e-40, 5e-324, 3.5e-12])
def test_tiny_radius_round_trips(tiny):
    """%.10g would write 1e-40 with an exponent and a capped %.Nf as 0.000...; the radius is
    written in plain decimals with 10 significant digits, and reads back as the same float."""
    df = pd.DataFrame({"ra": [10.0, 20.0], "dec": [0.0, 1.0], "r": [tiny, 2.0]})
    text = format_regions(df, radius_column="r")
    assert "e-" not in text.split("\n", 4)[-1]
    back = parse_regions(text)
    assert back["radius"].tolist() == [tiny, 2.0]


def test_write_regions_takes_the_options_of_format_regions(tmp_path):
    out = write_regions(_table(), tmp_path / "a.reg", radius=2, color="red", system="icrs")
    assert out.read_text() == format_regions(_table(), radius=2, color="red", system="icrs")
    with pytest.raises(InputError, match=r"unknown region option.*colour"):
        write_regions(_table(), tmp_path / "b.reg", radius=2, colour="red")
    assert not (tmp_path / "b.reg").exists()


def test_write_regions_of_a_file_larger_than_one_write_piece(tmp_path):
    from xrbid import regions

    n = 120_000  # about 6 MB of circles: more than one piece of the writer
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"ra": rng.uniform(0, 360, n), "dec": rng.uniform(-90, 90, n)})
    text = format_regions(df, radius=1.5)
    assert len(text) > regions._WRITE_PIECE
    out = write_regions(df, tmp_path / "big.reg", radius=1.5)
    assert out.read_bytes() == text.encode("utf-8")
