"""The streaming VOTable TABLEDATA reader (xrbid._votable) against astropy's own reader.

astropy's VOTable parser is the independent reference: every file is read both ways and the
frames must be equal value for value (nulls, NaN, booleans, strings, dtypes), and so must the
units.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.io import votable
from astropy.table import MaskedColumn, Table

from xrbid import _votable
from xrbid._votable import read_tabledata
from xrbid.tables import _table_to_frame, read_table, write_table


def astropy_frame(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table as astropy's VOTable reader gives it (masked values -> NaN / <NA>)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = votable.parse(str(path)).get_first_table().to_table(use_names_over_ids=True)
    units = {n: str(c.unit) for n, c in tab.columns.items() if c.unit is not None}
    return _table_to_frame(tab), units


def same_units(a: dict[str, str], b: dict[str, str]) -> bool:
    from astropy import units as u

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return a.keys() == b.keys() and all(
            u.Unit(a[k], parse_strict="silent") == u.Unit(b[k], parse_strict="silent") for k in a
        )


def assert_same_as_astropy(path: Path) -> pd.DataFrame:
    fast = read_tabledata(path)
    assert fast is not None  # the file takes the streaming path
    slow = astropy_frame(path)
    pd.testing.assert_frame_equal(fast[0], slow[0], check_exact=True)
    assert same_units(fast[1], slow[1])
    return fast[0]


def vot(path: Path, fields: str, rows: str, version: str = "1.4") -> Path:
    """A hand-written single-table TABLEDATA VOTable."""
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VOTABLE version="{version}" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        f"<RESOURCE><TABLE>\n{fields}\n<DATA><TABLEDATA>{rows}</TABLEDATA></DATA>"
        "</TABLE></RESOURCE></VOTABLE>\n",
        encoding="utf-8",
    )
    return path


EDGE_FIELDS = """
<FIELD name="s" datatype="char" arraysize="*"/>
<FIELD name="d" datatype="double" unit="arcsec"/>
<FIELD name="f" datatype="float"/>
<FIELD name="b" datatype="boolean"/>
<FIELD name="i" datatype="int"/>
<FIELD name="n" datatype="short"><VALUES null="-99"/></FIELD>
<FIELD name="w" datatype="char" arraysize="3"/>
<FIELD name="u" datatype="unicodeChar" arraysize="*"/>
<FIELD name="x" datatype="double"><VALUES null="-1"/></FIELD>
<FIELD name="c" datatype="char"/>
<FIELD name="bit" datatype="bit"/>
"""

EDGE_ROWS = [
    ("  a b  ", " 1.5 ", "0.1", " T ", " 7 ", "-99", "abcdef", "é", "-1", "xy", "1"),
    ("", "", "", "", "", "", "", "", "", "", ""),
    ("   ", "NaN", "nan", "?", "nan", "3", "  x", "  ", "-1.0", "q", "0"),
    ("x\ny", "-Inf", "inf", "true", "+3", "NAN", "ab ", "ü b", "1e-300", " ", ""),
    ('"q",z', "null", "1e39", "f", "-2147483648", "-32768", "é", "\u00a0a", "2", "c", "1"),
    ("tab\tin", "1.7976931348623157e308", "-0", "FALSE", "2147483647", "", "1", "", "-0", "", "0"),
    ("end", "4.9e-324", "3.4028235e38", "0", "0", "0", "", "z", "5", "d", "1"),
    ("0.8357778218708263", "0.8357778218708263", "0.1", "1", "1", "1", "a,b", "'", "3", "e", "0"),
]  # fmt: skip


def edge_rows(cell: str = "<TD>{}</TD>", sep: str = "\n  ", row_sep: str = "\n") -> str:
    return row_sep + row_sep.join(
        "<TR>" + sep + sep.join(cell.format(v) for v in row) + sep + "</TR>" for row in EDGE_ROWS
    ) + row_sep  # fmt: skip


# --- equality with astropy ---------------------------------------------------------------------


def test_m101_same_as_astropy(m101_vot):
    df = assert_same_as_astropy(m101_vot)
    assert df.shape == (3492, 28)
    assert read_tabledata(m101_vot)[1]["src_cnts_aper_b"] == "count"


@pytest.mark.parametrize(("rows", "chunk"), [(40, 500), (40, 1500), (None, 100_000)])
def test_m101_in_small_chunks(m101_vot, tmp_path, monkeypatch, rows, chunk):
    # Chunk ends fall in every part of a row: inside a cell, a tag, the whitespace between.
    path = m101_vot
    if rows is not None:
        text = m101_vot.read_text()
        cut = [i for i in range(len(text)) if text.startswith("</TR>", i)][rows - 1] + 5
        path = tmp_path / "head.vot"
        path.write_text(text[:cut] + text[text.index("</TABLEDATA>") :])
    monkeypatch.setattr(_votable, "CHUNK_BYTES", chunk)
    assert len(assert_same_as_astropy(path)) == (rows or 3492)


def test_edge_cells(tmp_path):
    df = assert_same_as_astropy(vot(tmp_path / "edge.vot", EDGE_FIELDS, edge_rows()))
    # spot checks written out by hand from the VOTable standard and astropy's rules
    assert df["s"].tolist()[:4] == ["a b", "", "", "x\ny"]
    assert df["w"].tolist()[0] == "abc"  # fixed width 3: truncated
    assert df["c"].tolist()[0] == "x"  # char without arraysize: one character
    assert str(df["i"].dtype) == "Int32" and df["i"].isna().tolist()[:3] == [False, True, True]
    assert df["n"].isna().tolist()[:4] == [True, True, False, True]  # null="-99", '', 'NAN'
    assert df["b"].tolist()[:5] == [True, pd.NA, pd.NA, True, False]
    assert np.isnan(df["x"].iloc[0]) and np.isnan(df["x"].iloc[2])  # null="-1" (also -1.0)
    assert df["f"].dtype == np.float32 and np.isinf(df["f"].iloc[4])  # 1e39 overflows float32
    assert df["d"].iloc[3] == -np.inf and df["d"].iloc[6] == 5e-324


def test_edge_cells_empty_element_form_and_crlf(tmp_path):
    rows = edge_rows(sep="\r\n    ", row_sep="\r\n").replace("<TD></TD>", "<TD/>")
    assert "<TD/>" in rows
    assert_same_as_astropy(vot(tmp_path / "crlf.vot", EDGE_FIELDS, rows))


def test_whitespace_between_tags_that_changes_from_row_to_row(tmp_path):
    rows = edge_rows().replace("\n  <TD>", "<TD>", 5).replace("</TR>", " </TR>\t", 3)
    assert_same_as_astropy(vot(tmp_path / "ragged.vot", EDGE_FIELDS, rows))


def test_written_by_astropy_with_nulls(tmp_path):
    rng = np.random.default_rng(7)
    n = 200
    mask = rng.random(n) < 0.3
    tab = Table()
    tab["name"] = [f"2CXO J{i:06d}" for i in range(n)]
    tab["obsid"] = MaskedColumn(rng.integers(1, 30000, n), mask=mask)
    tab["short"] = rng.integers(-300, 300, n).astype(np.int16)
    tab["byte"] = MaskedColumn(rng.integers(0, 255, n).astype(np.uint8), mask=np.roll(mask, 1))
    tab["flag"] = MaskedColumn(rng.random(n) < 0.5, mask=np.roll(mask, 3))
    tab["x"] = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    tab["x"][::7] = np.nan
    tab["f32"] = rng.normal(size=n).astype(np.float32)
    tab["x"].unit = "arcsec"
    path = tmp_path / "mixed.vot"
    tab.write(path, format="votable")
    df = assert_same_as_astropy(path)
    assert str(df["obsid"].dtype) == "Int64" and str(df["byte"].dtype) == "UInt8"
    assert read_tabledata(path)[1] == {"x": "arcsec"}


# --- what is left to astropy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rows", "version"),
    [
        ('<FIELD name="s" datatype="char" arraysize="*"/>', "<TR><TD>a &amp; b</TD></TR>", "1.4"),
        ('<FIELD name="s" datatype="char" arraysize="*"/>', "<TR><TD>a</TD></TR><!-- c -->", "1.4"),
        ('<FIELD name="s" datatype="char" arraysize="*"/>', '<TR ID="r1"><TD>a</TD></TR>', "1.4"),
        ('<FIELD name="s" datatype="char"/>', "<TR><TD><![CDATA[<a>]]></TD></TR>", "1.4"),
        ('<FIELD name="a" datatype="double" arraysize="2"/>', "<TR><TD>1 2</TD></TR>", "1.4"),
        ('<FIELD name="a" datatype="int"/>', "<TR><TD>0x1F</TD></TR>", "1.4"),
        ('<FIELD name="a" datatype="short"/>', "<TR><TD>40000</TD></TR>", "1.4"),
        ('<FIELD name="a" datatype="int"/>', "<TR><TD>1</TD></TR>", "1.2"),
        ('<FIELD name="a" datatype="double"/>', "<TR><TD>1_000</TD></TR>", "1.4"),
        ('<FIELD name="a" datatype="floatComplex"/>', "<TR><TD>1 2</TD></TR>", "1.4"),
        (
            '<FIELD name="a" datatype="double"/><FIELD name="b" datatype="double"/>',
            "<TR><TD>1</TD></TR><TR><TD>2</TD><TD>3</TD><TD>4</TD></TR>",
            "1.4",
        ),
    ],
    ids=[
        "entity", "comment", "tr-attribute", "cdata", "array", "hex-int", "int-range",
        "int-votable-1.2", "underscore-float", "complex", "wrong-row-lengths",
    ],
)  # fmt: skip
def test_unusual_files_left_to_astropy(tmp_path, fields, rows, version):
    path = vot(tmp_path / "odd.vot", fields, rows, version)
    assert read_tabledata(path) is None


def test_bytes_that_are_not_utf8_left_to_astropy(tmp_path):
    path = vot(tmp_path / "latin1.vot", '<FIELD name="s" datatype="char" arraysize="*"/>', "@@")
    path.write_bytes(path.read_bytes().replace(b"@@", b"<TR><TD>caf\xe9</TD></TR>"))
    assert read_tabledata(path) is None


def test_long_beyond_64_bits_left_to_astropy(tmp_path):
    rows = "<TR><TD>1</TD></TR><TR><TD>99999999999999999999</TD></TR>"
    path = vot(tmp_path / "big.vot", '<FIELD name="n" datatype="long"/>', rows)
    assert read_tabledata(path) is None


def test_unusual_files_still_read_by_read_table(tmp_path):
    # The fallback gives astropy's values: an entity and a comment in the body.
    fields = '<FIELD name="name" datatype="char" arraysize="*"/>'
    fields += '<FIELD name="ra" datatype="double"/>'
    rows = "<TR><TD>a &amp; b</TD><TD>1.5</TD></TR><!-- c --><TR><TD>c</TD><TD>2</TD></TR>"
    path = vot(tmp_path / "odd.vot", fields, rows)
    assert read_tabledata(path) is None
    df = read_table(path)
    assert df["source_id"].tolist() == ["a & b", "c"]
    assert df["ra"].tolist() == [1.5, 2.0]


def test_rows_of_wrong_length_spread_over_two_rows(m101_vot, tmp_path):
    text = m101_vot.read_text()
    first_cell = "<TD>0.8357778218708263</TD>"
    broken = text.replace(first_cell, "", 1).replace("</TR>", first_cell + "</TR>", 2)
    broken = broken.replace(first_cell + "</TR>", "</TR>", 1)
    path = tmp_path / "shifted.vot"
    path.write_text(broken)
    # the same number of cells, but row 1 is one short and row 2 one long
    assert read_tabledata(path) is None


def test_two_tables_left_to_astropy(m101_vot, tmp_path):
    text = m101_vot.read_text()
    start, end = text.index("<TABLE"), text.index("</TABLE>") + len("</TABLE>")
    path = tmp_path / "two.vot"
    path.write_text(text[:end] + text[start:])
    assert read_tabledata(path) is None


# --- BINARY and BINARY2 (what TAP services return): astropy reads them ---------------------------


@pytest.mark.parametrize("serialization", ["binary", "binary2"])
def test_binary_serializations_read_through_astropy(m101_vot, tmp_path, serialization):
    m101 = read_table(m101_vot)
    rows = m101
    if serialization == "binary":
        # astropy's BINARY writer has no null for booleans: take rows without null flags
        rows = m101.loc[m101["sat_src_flag"].notna()].reset_index(drop=True)
        rows = rows.astype({"sat_src_flag": bool})
    path = tmp_path / f"{serialization}.vot"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Table.read(write_table(rows, tmp_path / "t.vot")).write(
            path, format="votable", tabledata_format=serialization
        )
    assert f"<{serialization.upper()}>" in path.read_text()
    assert read_tabledata(path) is None  # not TABLEDATA: the astropy path reads it
    pd.testing.assert_frame_equal(read_table(path), rows, check_exact=True)


def test_bit_cell_of_question_mark_left_to_astropy(tmp_path):
    # '?' is a null only for booleans; astropy rejects it in a bit field (E04), so the file
    # must not read as a table with a null there.
    rows = "<TR><TD>1</TD><TD>?</TD></TR><TR><TD>?</TD><TD>T</TD></TR>"
    fields = '<FIELD name="bit" datatype="bit"/><FIELD name="b" datatype="boolean"/>'
    path = vot(tmp_path / "bitq.vot", fields, rows)
    assert read_tabledata(path) is None
    with pytest.raises(Exception, match="E04"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        astropy_frame(path)


# --- the metadata, parsed without astropy ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "csc-m101/cscresults_M101.vot",
        "recorded/csc21-m101-master-3arcmin.vot",
        "recorded/csc21-m101-observation-3arcmin.vot",
        "gaia-dr3-astroquery/1710099405832VAL-result.vot",
    ],
)
def test_real_files_names_dtypes_units_nulls_as_astropy(testdata, path):
    # CSCview (VOTable 1.2, IDs col0..), the CSC 2.1 TAP recordings and a Gaia DR3 result
    # (152 columns, nulls, VOTable 1.4): the fast path, equal to astropy's reader
    fast, units = read_tabledata(testdata / path)
    slow, slow_units = astropy_frame(testdata / path)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fields = votable.parse(str(testdata / path)).get_first_table().fields
    assert list(fast.columns) == [f.name for f in fields]
    # units are kept as written; read in the VOTable's unit syntax (VOUnit for Gaia's
    # 'electron'.s**-1) they are astropy's
    assert units.keys() == slow_units.keys()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, text in units.items():
            as_written = u.Unit(text, parse_strict="silent")
            if as_written != u.Unit(slow_units[name], parse_strict="silent"):
                assert (
                    str(u.Unit(text, format="vounit", parse_strict="silent")) == (slow_units[name])
                ), name


METADATA_FAST = {
    "id-only": '<FIELD ID="ra" datatype="double"/><FIELD id="dec" datatype="double"/>',
    "null-spaces": '<FIELD name="n" datatype="int"><VALUES null=" -1 "/></FIELD>'
    '<FIELD name="x" datatype="double"><VALUES null="-1e3"/></FIELD>',
    "name-is-own-id": '<FIELD name="ra" ID="ra" datatype="double"/>'
    '<FIELD name="dec" ID="col1" datatype="double"/>',
    "other-elements": '<DESCRIPTION>a &amp; b</DESCRIPTION><PARAM name="p" datatype="int" '
    'value="1"/><!-- note --><GROUP><FIELDref ref="c0"/></GROUP>'
    '<FIELD ID="c0" name="ra" datatype="double" unit="deg"><DESCRIPTION>x</DESCRIPTION>'
    '<LINK href="http://x"/></FIELD><INFO name="i" value="v"/>'
    '<FIELD name="flux" datatype="float" unit="erg/s/cm&#94;2"/>',
}


@pytest.mark.parametrize("fields", METADATA_FAST.values(), ids=METADATA_FAST.keys())
def test_crafted_metadata_read_as_astropy(tmp_path, fields):
    rows = "<TR>" + "<TD>-1</TD>" * fields.count("<FIELD ") + "</TR>"
    rows += "<TR>" + "<TD>2</TD>" * fields.count("<FIELD ") + "</TR>"
    assert_same_as_astropy(vot(tmp_path / "m.vot", fields, rows))


def test_no_namespace_and_votable_1_3(tmp_path):
    path = tmp_path / "plain.vot"
    path.write_text(
        '<?xml version="1.0"?><VOTABLE version="1.3"><RESOURCE><TABLE>'
        '<FIELD name="n" datatype="short"><VALUES null="7"/></FIELD>'
        "<DATA><TABLEDATA><TR><TD>7</TD></TR><TR><TD>3</TD></TR>"
        "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    )
    df = assert_same_as_astropy(path)
    assert df["n"].isna().tolist() == [True, False]  # null="7"
    # a last row of one empty cell: left to astropy, which reads it as a null row
    path.write_text(path.read_text().replace("</TABLEDATA>", "<TR><TD></TD></TR></TABLEDATA>"))
    assert read_tabledata(path) is None
    assert read_table(path, allow_empty=True)["n"].isna().tolist() == [True, False, True]


METADATA_LEFT_TO_ASTROPY = {
    # astropy renames a FIELD whose name is another FIELD's ID ('ra 2')
    "name-is-other-id": '<FIELD name="ra" ID="dec" datatype="double"/>'
    '<FIELD name="dec" ID="ra" datatype="double"/>',
    "repeated-name": '<FIELD name="a" ID="c0" datatype="double"/>'
    '<FIELD name="a" ID="c1" datatype="double"/>',
    "datatype-alias": '<FIELD name="a" datatype="float64"/>',  # astropy: double (W13)
    "hex-null": '<FIELD name="a" datatype="int"><VALUES null="0x10"/></FIELD>',
    "null-out-of-range": '<FIELD name="a" datatype="short"><VALUES null="70000"/></FIELD>',
    "fraction-null-for-int": '<FIELD name="a" datatype="int"><VALUES null="0.5"/></FIELD>',
    "word-null": '<FIELD name="a" datatype="double"><VALUES null="none"/></FIELD>',
    "name-needing-an-id": '<FIELD name="1 a" datatype="double"/>',
    "no-name-no-id": '<FIELD datatype="double"/>',
    "bad-arraysize": '<FIELD name="a" datatype="char" arraysize=" 5 "/>',
    "2-d-strings": '<FIELD name="a" datatype="char" arraysize="3x2"/>',
    "no-datatype": '<FIELD name="a"/>',
}


@pytest.mark.parametrize(
    "fields", METADATA_LEFT_TO_ASTROPY.values(), ids=METADATA_LEFT_TO_ASTROPY.keys()
)
def test_metadata_astropy_rewrites_is_left_to_astropy(tmp_path, fields):
    n = fields.count("<FIELD ")
    path = vot(tmp_path / "m.vot", fields, "<TR>" + "<TD>1</TD>" * n + "</TR>")
    meta = path.read_bytes().replace(b"<TR><TD>1</TD>" + b"<TD>1</TD>" * (n - 1) + b"</TR>", b"")
    with pytest.raises(_votable._Unusual):  # the metadata, not the rows, sends it to astropy
        _votable._columns(meta)
    assert read_tabledata(path) is None


def test_renamed_fields_read_by_read_table_with_astropys_names(tmp_path):
    fields = METADATA_LEFT_TO_ASTROPY["name-is-other-id"]
    path = vot(tmp_path / "swap.vot", fields, "<TR><TD>1</TD><TD>2</TD></TR>")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = votable.parse(str(path)).get_first_table().to_table(use_names_over_ids=True)
    assert read_tabledata(path) is None
    assert list(read_table(path).columns) == expected.colnames


@pytest.mark.parametrize(("version", "fast"), [("1.4", True), ("1.2", True), ("", False)])
def test_version_read_from_the_votable_element(tmp_path, version, fast):
    path = vot(tmp_path / "v.vot", '<FIELD name="a" datatype="double"/>', "<TR><TD>1</TD></TR>")
    if not version:
        path.write_text(path.read_text().replace(' version="1.4"', ""))
    assert (read_tabledata(path) is not None) == fast


def test_reading_a_cscview_table_imports_no_astropy_table_reader(m101_vot):
    code = (
        "import sys\n"
        "from xrbid.tables import read_table\n"
        f"df = read_table({str(m101_vot)!r})\n"
        "assert df.shape == (3492, 28), df.shape\n"
        "print(sorted(m for m in ('astropy.io.votable', 'astropy.table', 'astropy.io.ascii')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
