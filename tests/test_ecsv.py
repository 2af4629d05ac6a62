"""The ECSV writer (xrbid._ecsv) against astropy's own ECSV writer and reader.

astropy is the reference: every table is also written by ``Table.write(format="ascii.ecsv")``
and the two files must be the same bytes; files are read back by astropy's reader. The M101
tables are the real outputs of ``xrbid run`` on the shipped CSC and HST data.
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
from astropy.table import Table

from tests.pipeline.conftest import m101_toml
from xrbid import _ecsv
from xrbid._ecsv import EcsvColumn, astropy_table, write_ecsv
from xrbid.errors import InputError
from xrbid.schema import _units_of
from xrbid.tables import _file_columns, read_table, write_table

M101_TABLES = ["radii.ecsv", "best.ecsv", "candidates.ecsv", "calibrators.ecsv"]


def astropy_bytes(tab: Table, path: Path) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab.write(path, format="ascii.ecsv", overwrite=True)
    return path.read_bytes()


def astropy_read(path: Path) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Table.read(path, format="ascii.ecsv")


def assert_same_as_astropy(columns: list[EcsvColumn], folder: Path) -> bytes:
    ours = folder / "ours.ecsv"
    write_ecsv(columns, ours)
    theirs = astropy_bytes(astropy_table(columns), folder / "astropy.ecsv")
    assert ours.read_bytes() == theirs
    return theirs


@pytest.fixture(scope="module")
def m101_out(tmp_path_factory) -> Path:
    from xrbid.pipeline import run_galaxy

    folder = tmp_path_factory.mktemp("m101-ecsv")
    config = folder / "m101.toml"
    config.write_text(m101_toml(), encoding="utf-8")
    run_galaxy(config)
    return folder / "out"


@pytest.mark.parametrize("name", M101_TABLES)
def test_m101_outputs_are_astropys_bytes(m101_out, tmp_path, name):
    path = m101_out / name
    text = path.read_bytes()
    assert len(text.splitlines()) > 10
    # astropy reads the file and writes it again: the same bytes
    assert astropy_bytes(astropy_read(path), tmp_path / "again.ecsv") == text
    # and xrbid's round trip (read_table, write_table) gives them back too
    write_table(read_table(path, allow_empty=True), tmp_path / name)
    assert (tmp_path / name).read_bytes() == text


@pytest.mark.parametrize("name", M101_TABLES)
def test_m101_tables_written_from_frames_match_astropy(m101_out, tmp_path, name):
    df = read_table(m101_out / name, allow_empty=True)
    columns, _ = _file_columns(df, _units_of(df), "ecsv")
    assert _ecsv._cells(columns) is not None  # the fast path, not the fallback
    assert_same_as_astropy(columns, tmp_path)


def photometry_frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    words = ["NGC 5457 X-1", 'the "ULX"', "naïve", "東京", "O'Brien", "a\tb", "—", "x"]
    df = pd.DataFrame(
        {
            "source_id": [f"2CXO J1403{i:02d}.0+5421{i:02d}" for i in range(n)],
            "ra": 210.8 + rng.normal(0, 0.01, n),
            "mag_F555W": np.where(rng.random(n) < 0.3, np.nan, rng.normal(24, 1, n)),
            "flux32": rng.normal(1, 0.5, n).astype(np.float32),
            "n_stars": pd.array([None if i % 4 == 0 else i for i in range(n)], dtype="Int64"),
            "count16": rng.integers(0, 300, n).astype(np.int16),
            "saturated": pd.array(
                [None if i % 5 == 0 else i % 2 == 0 for i in range(n)], dtype="boolean"
            ),
            "isolated": rng.random(n) > 0.5,
            "comment": pd.array(
                [None if i % 6 == 0 else words[i % len(words)] for i in range(n)], dtype="str"
            ),
            "edge": [" padded ", "", "  ", "x y"] * (n // 4),
        }
    )
    df.attrs["units"] = {"ra": "deg", "mag_F555W": "mag", "flux32": "erg/s/cm^2"}
    return df


def test_float_columns_taken_together_keep_their_values_and_order():
    # _file_columns converts the numpy float columns of a table at once: each must come out
    # as pandas gives that column alone (float64, NaN and -0.0 kept), in the table's order,
    # with nullable Float64 and float16 columns taken one by one
    df = photometry_frame(8)
    df.insert(1, "dec", np.array([-0.0, 0.5, np.nan, 1e-300, -2.0, 3.0, np.inf, 7.25]))
    df["nullable"] = pd.array([1.5, None, 2.0, 3.0, None, 0.0, 1.0, 2.0], dtype="Float64")
    df["half"] = np.arange(8, dtype=np.float16) / 4
    columns, _ = _file_columns(df, _units_of(df), "ecsv")
    assert [c.name for c in columns] == list(df.columns)
    for c in columns:
        if c.name in ("ra", "dec", "mag_F555W", "flux32", "half"):
            expected = df[c.name].to_numpy(dtype=float)
            assert c.data.dtype == np.float64 and c.mask is None
            assert c.data.tobytes() == expected.tobytes()
    nullable = columns[list(df.columns).index("nullable")]  # missing values are NaN
    assert nullable.mask is None
    np.testing.assert_array_equal(nullable.data, [1.5, np.nan, 2, 3, np.nan, 0, 1, 2])


def test_photometry_style_frame_is_astropys_bytes_and_reads_back(tmp_path):
    df = photometry_frame()
    path = write_table(df, tmp_path / "phot.ecsv")
    columns, _ = _file_columns(df, _units_of(df), "ecsv")
    assert _ecsv._cells(columns) is not None
    assert path.read_bytes() == astropy_bytes(astropy_table(columns), tmp_path / "ref.ecsv")

    tab = astropy_read(path)
    assert tab.colnames == list(df.columns)
    np.testing.assert_array_equal(tab["ra"], df["ra"])
    np.testing.assert_array_equal(np.isnan(tab["mag_F555W"]), df["mag_F555W"].isna())
    # float32 values are written as the float64 they convert to, exactly
    np.testing.assert_array_equal(tab["flux32"], df["flux32"].to_numpy().astype(np.float64))
    assert tab["flux32"].unit == u.erg / u.s / u.cm**2
    assert list(tab["n_stars"].mask) == [i % 4 == 0 for i in range(len(df))]
    assert tab["n_stars"][1] == 1 and tab["n_stars"].dtype == np.int64
    assert list(tab["saturated"].mask) == [i % 5 == 0 for i in range(len(df))]
    assert tab["saturated"][2] and not tab["saturated"][1]
    assert list(tab["comment"].mask) == [i % 6 == 0 for i in range(len(df))]
    assert tab["comment"][1] == 'the "ULX"' and tab["comment"][3] == "東京"
    assert tab["source_id"][3] == "2CXO J140303.0+542103"
    # astropy's writer strips spaces around text and writes "" for an empty one (read back
    # masked): the same here, since the bytes are astropy's
    assert tab["edge"][0] == "padded" and tab["edge"][3] == "x y"


def test_floats_are_spelled_as_numpy_spells_them(tmp_path):
    values = [0.1, 1e16, 1e-5, 123456789.125, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1 / 3]
    cols = [
        EcsvColumn("x", np.array(values)),
        EcsvColumn("y", np.array(values, dtype=np.float32)),
    ]
    write_ecsv(cols, tmp_path / "f.ecsv")
    body = (tmp_path / "f.ecsv").read_text().splitlines()[-len(values) :]
    # Written out by hand: Python's/numpy's shortest round-trip spellings
    assert body == [
        "0.1 0.1",
        "1e+16 1e+16",
        "1e-05 1e-05",
        "123456789.125 1.2345679e+08",
        "-0.0 -0.0",
        "nan nan",
        "inf inf",
        "-inf -inf",
        "5e-324 0.0",
        "0.3333333333333333 0.33333334",
    ]


def test_repeated_floats_keep_their_row_and_sign(tmp_path):
    # Each distinct value is spelled once and the spellings put back in row order: 0.0 and
    # -0.0 (equal as numbers), NaNs with other bit patterns and values that repeat far apart
    # must each keep their own row's text.
    other_nan = np.array([0x7FF8000000000001], dtype=np.uint64).view(np.float64)[0]
    values = [0.0, -0.0, 0.1, np.nan, 0.0, other_nan, -0.0, 0.1, 2.5, 0.0]
    cols = [
        EcsvColumn("x", np.array(values)),
        EcsvColumn("y", np.array(values, dtype=np.float32)),
        EcsvColumn("z", np.array(values[::-1])),
    ]
    write_ecsv(cols, tmp_path / "f.ecsv")
    body = (tmp_path / "f.ecsv").read_text().splitlines()[-len(values) :]
    assert body == [
        "0.0 0.0 0.0",
        "-0.0 -0.0 2.5",
        "0.1 0.1 0.1",
        "nan nan -0.0",
        "0.0 0.0 nan",
        "nan nan 0.0",
        "-0.0 -0.0 nan",
        "0.1 0.1 0.1",
        "2.5 2.5 -0.0",
        "0.0 0.0 0.0",
    ]
    assert_same_as_astropy(cols, tmp_path)


def test_empty_table_and_single_row(tmp_path):
    df = photometry_frame(8)
    for part in (df.iloc[:0], df.iloc[:1]):
        columns, _ = _file_columns(part, _units_of(part), "ecsv")
        text = assert_same_as_astropy(columns, tmp_path)
        assert text.decode().splitlines()[-1 if len(part) == 0 else -2].startswith("source_id ra")


NAMES = ["CSC ID", "yes", "null", "1.5", "a: b", "- x", "[x]", "é", "#c", "x#y", "it's",
         'say "x"', "~", "&b", "a,b", "2020-01-01", " lead", "trail ", "n" * 140, "日本", "😀",
         "a b " * 40, "!t", "%p", "*a", "|", ">", "?", "0x1F", ".inf", "On", "\ufeff"]  # fmt: skip
UNITS = ["deg", "erg/s/cm^2", "erg / (s cm2)", "ct/s", "mag", "not a unit", "yes",
         "10**(-13) erg / (cm2 s)", "electron/s"]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_column_names_yaml_and_csv_quoting(tmp_path, name):
    # a name that YAML must quote, that the csv line must quote, or that makes astropy quote
    # every name (first name like a comment, spaces around a name)
    assert_same_as_astropy([EcsvColumn("a", np.arange(3)), EcsvColumn(name, np.ones(3))], tmp_path)
    assert_same_as_astropy([EcsvColumn(name, np.ones(3)), EcsvColumn("b", np.arange(3))], tmp_path)


def test_header_without_libyaml_is_the_same(tmp_path, monkeypatch):
    # PyYAML built without libyaml has only its Python emitter (astropy's): the same header
    import yaml

    columns = [EcsvColumn(n, np.array([1.5]), unit="deg") for n in NAMES]
    write_ecsv(columns, tmp_path / "c.ecsv")
    _ecsv._header.cache_clear()
    monkeypatch.delattr(yaml, "CSafeDumper")
    write_ecsv(columns, tmp_path / "python.ecsv")
    _ecsv._header.cache_clear()
    assert (tmp_path / "python.ecsv").read_bytes() == (tmp_path / "c.ecsv").read_bytes()
    assert_same_as_astropy(columns, tmp_path)


@pytest.mark.parametrize("unit", UNITS)
def test_units_spelled_as_astropy(tmp_path, unit):
    assert_same_as_astropy([EcsvColumn("a", np.ones(2), unit=unit)], tmp_path)


def test_header_is_cached_per_layout_and_units_not_mixed_up(tmp_path):
    a = [EcsvColumn("x", np.ones(2), unit="deg")]
    b = [EcsvColumn("x", np.ones(2), unit="arcsec")]
    assert b"unit: deg" in assert_same_as_astropy(a, tmp_path)
    assert b"unit: arcsec" in assert_same_as_astropy(b, tmp_path)
    assert b"unit: deg" in assert_same_as_astropy(a, tmp_path)


def test_blocks_of_rows_join_seamlessly(tmp_path, monkeypatch):
    monkeypatch.setattr(_ecsv, "_ROWS_PER_BLOCK", 7)
    n = 53
    text = np.array(["", "a b", "c"] * 18)[:n]
    cols = [
        EcsvColumn("s", text, mask=np.arange(n) % 5 == 0),
        EcsvColumn("f", np.arange(n) / 3.0),
        EcsvColumn("i", np.arange(n), mask=np.arange(n) % 7 == 6),
    ]
    assert_same_as_astropy(cols, tmp_path)


def test_big_table_matches_astropy(tmp_path):
    # several blocks of the default size, random bit patterns for the floats
    rng = np.random.default_rng(3)
    n = 2 * _ecsv._ROWS_PER_BLOCK + 11
    bits = rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64)
    cols = [
        EcsvColumn("f", bits),
        EcsvColumn("g", rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n), unit="deg"),
        EcsvColumn("m", rng.normal(size=n), mask=rng.random(n) < 0.1),
        EcsvColumn("u", rng.integers(0, 2**64 - 1, n, dtype=np.uint64)),
        EcsvColumn("b", rng.random(n) < 0.5, mask=rng.random(n) < 0.1),
    ]
    assert_same_as_astropy(cols, tmp_path)


@pytest.mark.parametrize(
    "column",
    [
        EcsvColumn("s", np.array(["line\nbreak", "x"])),
        EcsvColumn("h", np.ones(3, np.float16)),
        EcsvColumn("c", np.ones(3, complex)),
        EcsvColumn("m", np.ones((3, 2))),
        EcsvColumn("o", np.array([1, "a", None], dtype=object)),
        EcsvColumn("b", np.array([b"a", b"b c"])),
        EcsvColumn("t", np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[s]")),
        EcsvColumn("", np.ones(2)),
    ],
    ids=["newline", "float16", "complex", "2-d", "object", "bytes", "datetime", "noname"],
)
def test_what_the_fast_path_leaves_to_astropy_is_written_by_astropy(tmp_path, column):
    columns = [EcsvColumn("a", np.arange(len(column.data))), column]
    assert _ecsv._cells(columns) is None
    assert_same_as_astropy(columns, tmp_path)


def test_write_table_ecsv_imports_neither_astropy_table_nor_its_writers(tmp_path):
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from xrbid.tables import write_table\n"
        "df = pd.DataFrame({'ra': [1.5, np.nan], 's': ['a b', None],"
        " 'n': pd.array([1, None], dtype='Int64')})\n"
        f"write_table(df, {str(tmp_path / 'x.ecsv')!r})\n"
        "print(sorted(m for m in ('astropy.table', 'astropy.io.ascii', 'astropy.io.votable',"
        " 'astropy.coordinates') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    tab = astropy_read(tmp_path / "x.ecsv")
    assert tab["ra"].unit == "deg" and list(tab["n"].mask) == [False, True]


@pytest.mark.parametrize("first", ["#x", "# x", "\u00a0#x", '#"q"'])
def test_first_cell_starting_with_hash_reads_back(tmp_path, first):
    # astropy's own writer leaves such a line to look like a comment: its reader drops the row
    path = tmp_path / "t.ecsv"
    text = np.array([first, "b"])
    write_ecsv([EcsvColumn("s", text), EcsvColumn("n", np.array([1, 2]))], path)
    back = Table.read(path, format="ascii.ecsv")
    assert back["s"].tolist() == [first.strip(" \t"), "b"]
    assert back["n"].tolist() == [1, 2]


def test_hash_in_a_later_column_or_row_is_as_astropy_writes_it(tmp_path):
    columns = [EcsvColumn("n", np.array([1, 2])), EcsvColumn("s", np.array(["#x", "a#b"]))]
    write_ecsv(columns, tmp_path / "ours.ecsv")
    astropy_table(columns).write(tmp_path / "astropy.ecsv", format="ascii.ecsv")
    assert (tmp_path / "ours.ecsv").read_bytes() == (tmp_path / "astropy.ecsv").read_bytes()
    assert Table.read(tmp_path / "ours.ecsv")["s"].tolist() == ["#x", "a#b"]


@pytest.mark.parametrize(
    "separator", ["\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_text_with_a_line_separator_is_refused_not_split_into_rows(tmp_path, separator):
    path = tmp_path / "t.ecsv"
    column = EcsvColumn("label", np.array(["ok", f"a{separator}b"]))
    with pytest.raises(ValueError, match=r"column 'label', row 1, holds the line separator"):
        write_ecsv([column], path)
    assert not path.exists()
    frame = pd.DataFrame({"label": ["ok", f"a{separator}b"]})
    with pytest.raises(InputError, match="cannot write the table as ecsv"):
        write_table(frame, tmp_path / "f.ecsv")
    assert not (tmp_path / "f.ecsv").exists()


def test_text_with_line_feeds_reads_back(tmp_path):
    path = tmp_path / "t.ecsv"
    write_ecsv([EcsvColumn("s", np.array(["a\nb", "c"]))], path)
    assert Table.read(path, format="ascii.ecsv")["s"].tolist() == ["a\nb", "c"]


@pytest.mark.parametrize("unit", sorted(_ecsv._ASTROPY_SPELLING))
def test_declared_unit_spellings_are_astropys(tmp_path, unit):
    # the table of spellings is astropy's own: the unit as Column.unit writes it, and a file
    # in it is the bytes astropy's writer gives
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _ecsv._ASTROPY_SPELLING[unit] == str(u.Unit(unit, parse_strict="silent"))
    assert_same_as_astropy([EcsvColumn("a", np.ones(2), unit=unit)], tmp_path)


def test_every_schema_unit_has_a_declared_spelling():
    from xrbid.schema import SCHEMA

    assert {s.unit for s in SCHEMA if s.unit} <= set(_ecsv._ASTROPY_SPELLING)


def test_writing_schema_units_does_not_import_astropy_units(tmp_path):
    code = (
        "import sys, pandas as pd\n"
        "from xrbid.tables import write_table\n"
        "df = pd.DataFrame({'ra': [1.5], 'theta': [2.0], 'counts': [3.0], 'flux': [4e-15],"
        " 'exptime': [5.0], 'err_r0': [0.5]})\n"
        f"write_table(df, {str(tmp_path / 'x.ecsv')!r})\n"
        "print('astropy.units' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    tab = astropy_read(tmp_path / "x.ecsv")
    assert tab["counts"].unit == u.count and tab["flux"].unit == u.erg / u.s / u.cm**2
    assert tab["theta"].unit == u.arcmin and tab["err_r0"].unit == u.arcsec
