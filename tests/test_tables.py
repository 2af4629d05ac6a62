"""Tests of xrbid.tables on the real M101 CSC table (CSCview VOTable, 3492 detections)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st

from xrbid.errors import ColumnError, InputError, OutputExistsError, XrbidError
from xrbid.tables import (
    FORMATS,
    SCHEMA,
    normalize_columns,
    read_ids,
    read_table,
    require_columns,
    select_sources,
    unique_sources,
    write_table,
)

# The nine astrometric calibrators picked by eye in the XRBID guide (astrometric corrections).
GUIDE_CALIBRATORS = [
    "2CXO J140251.0+542420",
    "2CXO J140248.0+542403",
    "2CXO J140356.0+542057",
    "2CXO J140355.8+542058",
    "2CXO J140357.6+541856",
    "2CXO J140339.3+541827",
    "2CXO J140346.1+541615",
    "2CXO J140253.3+541855",
    "2CXO J140252.1+541946",
]

CANONICAL_M101_COLUMNS = [
    "separation", "source_id", "ra", "dec", "exptime", "theta", "err_r0", "err_r1", "err_ang",
    "significance", "likelihood", "sat_src_flag", "streak_src_flag",
    "flux", "flux_lolim", "flux_hilim",
    "hard_hs", "hard_hs_lolim", "hard_hs_hilim", "hard_hm", "hard_hm_lolim", "hard_hm_hilim",
    "hard_ms", "hard_ms_lolim", "hard_ms_hilim",
    "counts", "counts_lolim", "counts_hilim",
]  # fmt: skip

# XRBID-style headers of the guide's renamed M101 frame, in the same order (sat/streak flags
# have no XRBID header and keep their names).
XRBID_M101_COLUMNS = [
    "Separation", "CSC ID", "RA", "Dec", "ExpTime", "Theta", "Err Ellipse Major",
    "Err Ellipse Minor", "Err Ellipse Angle", "Significance", "Likelihood", "sat_src_flag",
    "streak_src_flag", "Flux", "Flux lolim", "Flux hilim",
    "HS Ratio", "HS Ratio lolim", "HS Ratio hilim", "HM Ratio", "HM Ratio lolim",
    "HM Ratio hilim", "MS Ratio", "MS Ratio lolim", "MS Ratio hilim",
    "Counts", "Counts lolim", "Counts hilim",
]  # fmt: skip


@pytest.fixture(scope="module")
def m101(m101_vot: Path) -> pd.DataFrame:
    return read_table(m101_vot)


# --- reading the real CSCview VOTable ---------------------------------------------------------


def test_m101_rows_sources_and_columns(m101):
    assert m101.shape == (3492, 28)
    assert list(m101.columns) == CANONICAL_M101_COLUMNS
    assert m101["source_id"].nunique() == 555
    assert len(unique_sources(m101)) == 555


def test_m101_read_by_name_not_id(m101_vot):
    # The FIELD IDs are col0..col27; none of them may leak into the table.
    assert not any(c.startswith("col") for c in read_table(m101_vot).columns)


def test_m101_first_and_last_row_match_the_guide(m101):
    # Values as displayed (6 decimals) in the XRBID guide for the renamed M101 frame.
    first = m101.iloc[0]
    assert first["source_id"] == "2CXO J140312.5+542056"
    assert round(first["ra"], 6) == 210.802227
    assert round(first["dec"], 6) == 54.348952
    assert round(first["exptime"], 6) == 192658.710333
    assert round(first["theta"], 6) == 2.687974
    assert round(first["counts"], 6) == 170.006026
    assert round(first["counts_lolim"], 6) == 155.698239
    assert round(first["counts_hilim"], 6) == 184.313814
    assert round(first["err_r0"], 6) == 0.296164
    assert round(first["err_r1"], 6) == 0.295254
    assert round(first["err_ang"], 6) == 89.606978
    assert round(first["significance"], 6) == 22.302136
    assert round(first["separation"], 6) == 0.835778
    last = m101.iloc[-1]
    assert last["source_id"] == "2CXO J140447.2+542633"
    assert round(last["exptime"], 6) == 14276.493764
    assert round(last["theta"], 6) == 3.416463
    assert round(last["counts"], 6) == 7.591890


def test_m101_full_precision_from_the_file(m101):
    # The exact decimal strings of the first TR of the VOTable.
    first = m101.iloc[0]
    assert first["ra"] == float("210.80222729081368")
    assert first["theta"] == float("2.6879738751470974")
    assert first["counts"] == float("170.00602618511")
    assert first["flux"] == float("4.5469154070012E-15")


def test_m101_missing_values(m101):
    # SOURCES.txt: theta_mean NaN on 1634 rows; src_cnts_aper_b 0 on 1566 rows and NaN on 3.
    assert m101["theta"].isna().sum() == 1634
    assert (m101["counts"] == 0).sum() == 1566
    assert m101["counts"].isna().sum() == 3
    assert m101["likelihood"].isin(["TRUE", "MARGINAL"]).all()


def test_m101_types(m101):
    assert pd.api.types.is_string_dtype(m101["source_id"])
    for col in ["ra", "dec", "theta", "counts", "err_r0", "exptime", "flux"]:
        assert m101[col].dtype == np.float64
    assert pd.api.types.is_bool_dtype(m101["streak_src_flag"])
    assert m101["sat_src_flag"].isna().sum() == 5  # null booleans in the VOTable stay null


# --- unique / select ---------------------------------------------------------------------------


def test_unique_first_row_of_each_source_in_table_order(m101):
    uniq = unique_sources(m101)
    first_rows = {}
    for i, sid in enumerate(m101["source_id"]):
        first_rows.setdefault(sid, i)
    expected = m101.iloc[sorted(first_rows.values())].reset_index(drop=True)
    pd.testing.assert_frame_equal(uniq, expected)


def test_unique_not_only_consecutive_duplicates():
    df = pd.DataFrame({"source_id": ["a", "b", "a", "c", "b", "a"], "x": range(6)})
    out = unique_sources(df)
    assert out["source_id"].tolist() == ["a", "b", "c"]
    assert out["x"].tolist() == [0, 1, 3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["s1", "s2", "s3", "s4", "s5"]), min_size=1, max_size=60))
def test_unique_property_first_occurrence_order_kept(ids):
    df = pd.DataFrame({"source_id": ids, "row": np.arange(len(ids))})
    out = unique_sources(df)
    seen: list[str] = []
    for sid in ids:
        if sid not in seen:
            seen.append(sid)
    assert out["source_id"].tolist() == seen
    assert out["row"].tolist() == [ids.index(s) for s in seen]


def test_unique_on_shuffled_real_table(m101):
    shuffled = m101.sample(frac=1.0, random_state=np.random.default_rng(3)).reset_index(drop=True)
    out = unique_sources(shuffled)
    assert len(out) == 555
    positions = [shuffled.index[shuffled["source_id"] == s][0] for s in out["source_id"]]
    assert positions == sorted(positions)


def test_select_guide_calibrators(m101):
    uniq = unique_sources(m101)
    cal = select_sources(uniq, GUIDE_CALIBRATORS)
    assert len(cal) == 9
    assert set(cal["source_id"]) == set(GUIDE_CALIBRATORS)
    # table order, not the order of the list
    order = [uniq.index[uniq["source_id"] == s][0] for s in cal["source_id"]]
    assert order == sorted(order)


def test_select_tolerates_blanks_and_keeps_all_rows(m101):
    rows = select_sources(m101, ["  2CXO J140312.5+542056 ", "2CXO J140447.2+542633\t"])
    assert (rows["source_id"] == "2CXO J140312.5+542056").sum() == 10
    assert rows["source_id"].iloc[-1] == "2CXO J140447.2+542633"
    assert len(rows) == int(m101["source_id"].isin(rows["source_id"].unique()).sum())


def test_select_missing_ids_error_lists_them(m101):
    with pytest.raises(InputError) as exc:
        select_sources(m101, [GUIDE_CALIBRATORS[0], "2CXO J000000.0+000000", "nonsense"])
    assert "2CXO J000000.0+000000" in str(exc.value)
    assert "nonsense" in str(exc.value)
    assert "2 of 3" in str(exc.value)
    # a library error names no command-line option: it also reaches `xrbid run`, which has none
    assert "--" not in str(exc.value)


def test_select_missing_ids_warn(m101):
    with pytest.warns(UserWarning, match="nonsense"):
        out = select_sources(m101, [GUIDE_CALIBRATORS[0], "nonsense"], missing="warn")
    assert out["source_id"].tolist() == [GUIDE_CALIBRATORS[0]] * len(out)
    assert len(out) >= 1


def test_select_no_ids(m101):
    with pytest.raises(InputError, match="no source IDs"):
        select_sources(m101, ["  ", ""])


def test_read_ids(tmp_path):
    f = tmp_path / "ids.txt"
    f.write_text("# calibrators\n2CXO J140251.0+542420  # AGN\n\n  2CXO J140248.0+542403\n")
    assert read_ids(f) == ["2CXO J140251.0+542420", "2CXO J140248.0+542403"]
    with pytest.raises(InputError, match="no such file"):
        read_ids(tmp_path / "none.txt")


def test_read_ids_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match=r"is a folder; give the ID list file inside it$"):
        read_ids(tmp_path)
    latin1 = tmp_path / "ids.txt"
    latin1.write_bytes(b"2CXO J140251.0+542420\nM\xfcller-1\n")
    with pytest.raises(InputError, match=r"ids.txt: not a text file in UTF-8 \(byte 23\)"):
        read_ids(latin1)
    blank = tmp_path / "blank.txt"
    blank.write_text("# only a comment\n\n")
    with pytest.raises(InputError, match=r"blank\.txt: no IDs in the file"):
        read_ids(blank)


# --- schema mapping ----------------------------------------------------------------------------


def test_schema_has_the_canonical_names_and_units():
    units = {s.name: s.unit for s in SCHEMA}
    assert units["ra"] == "deg" and units["dec"] == "deg"
    assert units["theta"] == "arcmin"
    assert units["counts"] == "count"
    assert units["err_r0"] == units["err_r1"] == "arcsec"
    assert units["err_ang"] == "deg"
    assert units["exptime"] == "s"
    assert units["pu_1sigma"] == units["pu_2sigma"] == "arcsec"
    for name in ["source_id", "obsid", "significance", "likelihood"]:
        assert units[name] is None
    xrbid = {s.name: s.xrbid for s in SCHEMA}
    assert xrbid["source_id"] == "CSC ID"
    assert xrbid["pu_1sigma"] == "1Sig" and xrbid["pu_2sigma"] == "2Sig"


def test_theta_preferred_over_theta_mean():
    both = normalize_columns(pd.DataFrame({"theta_mean": [1.0], "theta": [2.0]}))
    assert list(both.columns) == ["theta_mean", "theta"]
    assert both["theta"].iloc[0] == 2.0
    only_mean = normalize_columns(pd.DataFrame({"name": ["x"], "theta_mean": [1.0]}))
    assert list(only_mean.columns) == ["source_id", "theta"]


def test_likelihood_class_is_a_fallback():
    both = normalize_columns(pd.DataFrame({"likelihood": [12.5], "likelihood_class": ["TRUE"]}))
    assert list(both.columns) == ["likelihood", "likelihood_class"]
    only = normalize_columns(pd.DataFrame({"likelihood_class": ["TRUE"]}))
    assert list(only.columns) == ["likelihood"]


def test_tap_and_xrbid_names_and_snake_case():
    df = pd.DataFrame(
        columns=[
            "obsid", "name", "RA", "DEC", "Counts", "err_ellipse_r0", "1Sig", "2Sig",
            "ExpTime", "F555W Mag", "HS Ratio lolim", "src_cnts_aper_hilim_b", "",
        ]
    )  # fmt: skip
    assert list(normalize_columns(df).columns) == [
        "obsid", "source_id", "ra", "dec", "counts", "err_r0", "pu_1sigma", "pu_2sigma",
        "exptime", "f555w_mag", "hard_hs_lolim", "counts_hilim", "col12",
    ]  # fmt: skip


def test_duplicate_columns_after_mapping():
    with pytest.raises(ColumnError, match=r"'ra' and 'RA' both mean 'ra'"):
        normalize_columns(pd.DataFrame({"ra": [1.0], "RA": [1.0]}))


def test_duplicate_columns_from_a_file(tmp_path):
    f = tmp_path / "dup.csv"
    f.write_text("CSC ID,name,RA,Dec\nA,A,1.0,2.0\n")
    with pytest.raises(ColumnError, match=r"dup.csv: columns 'CSC ID' and 'name'"):
        read_table(f)


def test_missing_required_column_names_aliases(tmp_path):
    f = tmp_path / "noid.csv"
    f.write_text("RA,Dec\n1.0,2.0\n")
    with pytest.raises(ColumnError) as exc:
        read_table(f, required=["source_id", "ra", "dec"], what="a CSC table")
    message = str(exc.value)
    assert "'source_id'" in message and "a CSC table" in message
    assert "name" in message and "CSC ID" in message
    with pytest.raises(ColumnError, match=r"'theta'.*theta_mean"):
        require_columns(pd.DataFrame({"ra": [1.0]}), ["theta"], what="PU radii")


# --- round trips through every format ----------------------------------------------------------

ALL_EXTENSIONS = sorted(FORMATS)


@pytest.mark.parametrize("ext", ALL_EXTENSIONS)
@pytest.mark.parametrize("headers", ["canonical", "xrbid"])
def test_round_trip_bit_exact(m101, tmp_path, ext, headers):
    out = write_table(m101, tmp_path / f"m101{ext}", headers=headers)
    back = read_table(out)
    pd.testing.assert_frame_equal(back, m101, check_exact=True)
    # bit-exact floats, NaN in the same places
    for col in ["ra", "dec", "theta", "counts", "flux"]:
        assert np.array_equal(back[col].to_numpy(), m101[col].to_numpy(), equal_nan=True)


@pytest.mark.parametrize("ext", [".ecsv", ".fits", ".vot", ".parquet"])
def test_units_written(m101, tmp_path, ext):
    out = write_table(m101, tmp_path / f"m101{ext}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VOUnit frowns on 'erg'
        tab = Table.read(out)
    assert tab["ra"].unit == "deg" and tab["dec"].unit == "deg"
    assert tab["theta"].unit == "arcmin"
    assert tab["counts"].unit == "count"
    assert tab["err_r0"].unit == "arcsec"
    assert tab["err_ang"].unit == "deg"
    assert tab["exptime"].unit == "s"
    assert tab["flux"].unit == "erg / (s cm2)"
    assert tab["source_id"].unit is None


def test_xrbid_headers_frame(m101, tmp_path):
    pu = m101.assign(pu_1sigma=0.5, pu_2sigma=1.0)
    out = write_table(pu, tmp_path / "m101_renamed.frame", headers="xrbid")
    raw = pd.read_csv(out)
    # pandas-style frame: unnamed index column first, then the XRBID headers
    assert raw.columns[0] == "Unnamed: 0"
    assert raw.iloc[:, 0].tolist() == list(range(3492))
    assert list(raw.columns[1:]) == [*XRBID_M101_COLUMNS, "1Sig", "2Sig"]
    pd.testing.assert_frame_equal(read_table(out), pu, check_exact=True)


def test_xrbid_headers_csv_without_index(m101, tmp_path):
    out = write_table(m101.head(3), tmp_path / "m101.csv", headers="xrbid")
    assert out.read_text().splitlines()[0].startswith("Separation,CSC ID,RA,Dec,ExpTime,Theta,")


def test_theta_and_theta_mean_round_trip_with_xrbid_headers(tmp_path):
    df = normalize_columns(
        pd.DataFrame(
            {"name": ["a"], "ra": [1.0], "dec": [2.0], "theta": [3.0], "theta_mean": [4.0]}
        )
    )
    out = write_table(df, tmp_path / "t.csv", headers="xrbid")
    assert out.read_text().splitlines()[0] == "CSC ID,RA,Dec,Theta,theta_mean"
    pd.testing.assert_frame_equal(read_table(out), df)


def test_frame_index_column_dropped(tmp_path, m101):
    f = tmp_path / "pandas.frame"
    m101.head(5).to_csv(f)  # how XRBID saves DataFrames
    back = read_table(f)
    assert list(back.columns) == CANONICAL_M101_COLUMNS


def test_units_converted_to_schema_units(tmp_path):
    tab = Table({"name": ["a"], "ra": [1.0], "dec": [2.0], "theta": [0.5], "livetime": [2.0]})
    tab["theta"].unit = "deg"
    tab["livetime"].unit = "ks"
    tab.write(tmp_path / "deg.ecsv")
    df = read_table(tmp_path / "deg.ecsv")
    assert df["theta"].iloc[0] == pytest.approx(30.0, rel=1e-15)
    assert df["exptime"].iloc[0] == pytest.approx(2000.0, rel=1e-15)


def test_unconvertible_unit(tmp_path):
    tab = Table({"name": ["a"], "theta": [0.5]})
    tab["theta"].unit = "s"
    tab.write(tmp_path / "bad.ecsv")
    with pytest.raises(ColumnError, match=r"'theta' is in s.*arcmin"):
        read_table(tmp_path / "bad.ecsv")


def test_other_units_kept(tmp_path):
    tab = Table({"name": ["a"], "ra": [1.0], "dec": [2.0], "f555w_flux": [3.0]})
    tab["f555w_flux"].unit = "Jy"
    tab.write(tmp_path / "jy.ecsv")
    df = read_table(tmp_path / "jy.ecsv")
    write_table(df, tmp_path / "jy2.fits")
    assert Table.read(tmp_path / "jy2.fits")["f555w_flux"].unit == "Jy"


# --- bad input ---------------------------------------------------------------------------------


def test_unknown_extension(tmp_path, m101):
    with pytest.raises(InputError, match=r"unknown table extension '.txt'.*\.csv.*\.parquet"):
        read_table(tmp_path / "table.txt")
    with pytest.raises(InputError, match="unknown table extension"):
        write_table(m101, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_empty_tables(tmp_path):
    (tmp_path / "header.csv").write_text("name,ra,dec\n")
    with pytest.raises(InputError, match="no rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "zero.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "zero.csv")
    Table({"name": np.array([], dtype=str), "ra": np.array([])}).write(
        tmp_path / "e.vot", format="votable"
    )
    with pytest.raises(InputError, match="no rows"):
        read_table(tmp_path / "e.vot")


def _two_table_votable(m101_vot: Path, path: Path) -> None:
    """A VOTable holding two real tables: the first 5 and the last 3 M101 rows."""
    from astropy.io.votable.tree import Resource, VOTableFile
    from astropy.io.votable.tree import TableElement as VOTableElement

    tab = Table.read(m101_vot, use_names_over_ids=True)
    vot = VOTableFile()
    resource = Resource()
    vot.resources.append(resource)
    for part in (tab[:5], tab[-3:]):
        resource.tables.append(VOTableElement.from_table(vot, part))
    vot.to_xml(str(path))


def test_votable_with_several_tables(m101_vot, tmp_path):
    path = tmp_path / "two.vot"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _two_table_votable(m101_vot, path)
    with pytest.raises(InputError, match=r"holds 2 tables.*--table N"):
        read_table(path)
    assert len(read_table(path, table=0)) == 5
    second = read_table(path, table=1)
    assert second["source_id"].tolist() == ["2CXO J140447.2+542633"] * 3
    with pytest.raises(InputError, match="no table 2"):
        read_table(path, table=2)


def test_existing_output_not_overwritten(tmp_path, m101):
    out = tmp_path / "m101.ecsv"
    out.write_text("keep me")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_table(m101, out)
    assert out.read_text() == "keep me"
    write_table(m101, out, overwrite=True)
    assert len(read_table(out)) == 3492


def test_failed_write_leaves_nothing(tmp_path, m101):
    # FITS text columns are ASCII only; the write fails half-way and must leave no file behind.
    labelled = m101.head(3).assign(note=["µJy source", "b", "c"])
    with pytest.raises(InputError, match=r"cannot write the table as fits"):
        write_table(labelled, tmp_path / "bad.fits")
    assert os.listdir(tmp_path) == []


def test_unreadable_paths(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "missing.vot")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InputError, match="folder"):
        read_table(tmp_path / "folder.csv")
    (tmp_path / "garbage.vot").write_bytes(b"\x00\x01 not xml at all")
    with pytest.raises(InputError, match=r"garbage\.vot: cannot read as votable"):
        read_table(tmp_path / "garbage.vot")
    (tmp_path / "garbage.fits").write_bytes(b"SIMPLE  = not fits")
    with pytest.raises(XrbidError, match=r"garbage\.fits"):
        read_table(tmp_path / "garbage.fits")


def test_inputs_not_modified(m101_vot, tmp_path, m101):
    before = m101_vot.read_bytes()
    copy = m101.copy()
    write_table(unique_sources(m101), tmp_path / "u.parquet")
    select_sources(m101, GUIDE_CALIBRATORS[:2])
    assert m101_vot.read_bytes() == before
    pd.testing.assert_frame_equal(m101, copy)


# --- CSV details -------------------------------------------------------------------------------


def test_shipped_xrbid_frame_matches_the_votable(testdata, m101):
    frame = read_table(testdata / "csc-m101-frames" / "cscresults_M101_renamed_head60.frame")
    expected = m101.head(60).astype({"sat_src_flag": bool})  # no null flags in these rows
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_csv_text_that_looks_like_other_types(tmp_path):
    f = tmp_path / "odd.csv"
    f.write_text("CSC ID,RA,Dec,Likelihood\n007,1.5,2.5,TRUE\n10,1.5,2.5,TRUE\n")
    df = read_table(f)
    assert df["source_id"].tolist() == ["007", "10"]
    assert df["likelihood"].tolist() == ["TRUE", "TRUE"]


def test_csv_repeated_header(tmp_path):
    f = tmp_path / "twice.csv"
    f.write_text("name,ra,ra,dec\na,1,1,2\n")
    with pytest.raises(ColumnError, match="'ra' appears more than once"):
        read_table(f)


def test_schema_page_lists_every_column():
    page = (Path(__file__).resolve().parent.parent / "docs" / "schema.md").read_text()
    rows = {
        line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `")
    }
    for spec in SCHEMA:
        row = rows[f"`{spec.name}`"]
        assert f"| {spec.unit or '—'} |" in row
        if spec.xrbid:
            assert f"`{spec.xrbid}`" in row
        for name in (*spec.csc, *spec.fallback):
            assert f"`{name}`" in row


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True, width=64),
        min_size=1,
        max_size=20,
    ),
    ext=st.sampled_from(ALL_EXTENSIONS),
)
def test_round_trip_property_any_double(tmp_path_factory, values, ext):
    df = pd.DataFrame(
        {
            "source_id": [f"2CXO J{i:06d}" for i in range(len(values))],
            "ra": np.array(values, dtype=np.float64),
            "counts": np.array(values[::-1], dtype=np.float64),
        }
    )
    out = write_table(df, tmp_path_factory.mktemp("rt") / f"t{ext}")
    back = read_table(out)
    assert list(back.columns) == ["source_id", "ra", "counts"]
    for col in ("ra", "counts"):
        # the same 64 bits (NaN payloads aside), signed zeros included
        got, want = back[col].to_numpy(), df[col].to_numpy()
        assert np.array_equal(np.isnan(got), np.isnan(want))
        finite = ~np.isnan(want)
        assert np.array_equal(got[finite].view(np.int64), want[finite].view(np.int64))


def test_select_one_id_as_a_string(m101):
    rows = select_sources(m101, "2CXO J140447.2+542633")
    assert len(rows) == int((m101["source_id"] == "2CXO J140447.2+542633").sum())


@pytest.mark.parametrize("ext", [".ecsv", ".fits", ".vot", ".parquet", ".csv"])
def test_text_column_with_missing_values_keeps_full_strings(tmp_path, ext):
    df = pd.DataFrame(
        {
            "source_id": ["X1", "X2", "X3"],
            "ra": [1.0, 2.0, 3.0],
            "dec": [1.0, 2.0, 3.0],
            "optical_id": ["b1-long-name", None, "c22"],
        }
    )
    out = tmp_path / f"o{ext}"
    write_table(df, out)
    back = read_table(out)
    assert back["optical_id"].iloc[0] == "b1-long-name"
    assert back["optical_id"].iloc[2] == "c22"
    missing = back["optical_id"].iloc[1]
    if ext in (".fits", ".vot"):  # neither format has a null for text: missing text is empty
        assert pd.isna(missing) or missing == ""
    else:
        assert pd.isna(missing)


# ----------------------------------------------------------------------------- table or regions


def test_read_table_or_regions_reads_tables_region_files_and_frames(tmp_path):
    from xrbid.tables import read_table_or_regions

    pyregion = Path(__file__).resolve().parents[1] / "testdata" / "ds9-regions-pyregion"
    regs = read_table_or_regions(pyregion / "test01_fk5.reg", what="optical table")
    # the four shapes of the file, centres as written (deg)
    assert len(regs) == 4
    assert regs["ra"].iloc[1] == pytest.approx(171.10096) and regs["dec"].iloc[1] == pytest.approx(
        -59.250612
    )
    table = pd.DataFrame({"source_id": ["A"], "ra": [10.0], "dec": [20.0]})
    assert read_table_or_regions(table) is table
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    assert read_table_or_regions(path, required=["ra", "dec"])["ra"].tolist() == [10.0]
    with pytest.raises(ColumnError, match="no 'theta' column"):
        read_table_or_regions(path, required=["theta"], what="uncertainties")


def test_read_table_or_regions_refuses_a_region_file_without_sky_coordinates():
    from xrbid.tables import read_table_or_regions

    pyregion = Path(__file__).resolve().parents[1] / "testdata" / "ds9-regions-pyregion"
    with pytest.raises(InputError, match=r"has no sky coordinates .* fk5"):
        read_table_or_regions(pyregion / "test01_img.reg", what="optical table")
    with pytest.raises(InputError, match="expected a table"):
        read_table_or_regions(42, what="optical table")


def test_select_missing_ids_error_names_no_option(m101):
    # the library is called from commands without a --missing option and from `xrbid run`
    with pytest.raises(InputError) as exc:
        select_sources(m101, ["nonsense"])
    assert str(exc.value).endswith("IDs not in the table: 'nonsense'; check the IDs")
