"""The Parquet reader (xrbid._parquet) against astropy's ``Table.read`` of the same file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import MaskedColumn, Table

from xrbid._parquet import read_parquet
from xrbid.tables import _table_to_frame, read_table, write_table


def astropy_frame(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = Table.read(path, format="parquet")
    units = {n: c.unit.to_string() for n, c in tab.columns.items() if c.unit is not None}
    return _table_to_frame(tab), units


def test_m101_with_masked_columns_same_as_astropy(m101_vot, tmp_path):
    m101 = read_table(m101_vot)
    m101["obsid"] = pd.array(np.where(np.arange(len(m101)) % 3, 1000, 0), dtype="Int32")
    m101.loc[::3, "obsid"] = pd.NA
    m101.loc[::5, "likelihood"] = np.nan
    path = write_table(m101, tmp_path / "m101.parquet")
    fast, units = read_parquet(path)
    slow, slow_units = astropy_frame(path)
    assert "obsid.mask" in pq.read_schema(path).names  # astropy stores the masks beside
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert units == slow_units and units["theta"] == "arcmin"
    # read_table gives back what was written, nulls included
    pd.testing.assert_frame_equal(read_table(path), m101.astype({"obsid": "Int64"}))


def test_text_stays_in_arrow_memory(m101_vot, tmp_path):
    path = write_table(read_table(m101_vot), tmp_path / "m101.parquet")
    fast, _ = read_parquet(path)
    assert fast["source_id"].dtype == pd.StringDtype("pyarrow", na_value=np.nan)
    assert fast["source_id"].iloc[0] == "2CXO J140312.5+542056"


def test_nulls_written_by_pyarrow(tmp_path):
    path = tmp_path / "nulls.parquet"
    table = pa.table(
        {
            "name": pa.array(["a", None, "c"]),
            "n": pa.array([1, None, 3], pa.int16()),
            "k": pa.array([7, 8, 9], pa.int64()),
            "flag": pa.array([True, None, False]),
            "x": pa.array([1.5, None, np.nan]),
        }
    )
    pq.write_table(table, path)
    fast, units = read_parquet(path)
    # (astropy 8 cannot read null strings written by pyarrow: the expectation is by hand)
    expected = pd.DataFrame(
        {
            "name": pd.array(["a", np.nan, "c"], dtype="str"),
            "n": pd.array([1, pd.NA, 3], dtype="Int16"),
            "k": np.array([7, 8, 9], dtype=np.int64),
            "flag": pd.array([True, pd.NA, False], dtype="boolean"),
            "x": [1.5, np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(fast, expected, check_exact=True)
    assert units == {}


def test_pandas_index_column_is_not_data(tmp_path):
    path = tmp_path / "indexed.parquet"
    pd.DataFrame({"ra": [1.0, 2.0]}, index=pd.Index([5, 9], name="row")).to_parquet(path)
    assert pq.read_schema(path).names == ["ra", "row"]  # pandas keeps a named index as data
    df = pd.DataFrame({"ra": [1.0, 2.0]}, index=[5, 9])
    df.to_parquet(path)
    fast, _ = read_parquet(path)
    assert list(fast.columns) == ["ra"] and fast["ra"].tolist() == [1.0, 2.0]


@pytest.mark.filterwarnings("ignore")
def test_mixin_columns_left_to_astropy(tmp_path):
    from astropy import units as u
    from astropy.time import Time

    tab = Table({"t": Time([60000.0, 60001.0], format="mjd"), "q": [1.0, 2.0] * u.arcsec})
    tab["m"] = MaskedColumn([1, 2], mask=[True, False])
    path = tmp_path / "mixins.parquet"
    tab.write(path)
    assert read_parquet(path) is None


@pytest.mark.parametrize(
    "meta",
    [b"{{{: [\n", b"- a\n- list\n", b"\xff\xfe", b"datatype: 5\nmeta: 7\n",
     b"datatype: []\nmeta:\n  __serialized_columns__: [1]\n"],
    ids=["not-yaml", "list", "not-utf8", "scalars", "serialized-list"],
)  # fmt: skip
def test_damaged_astropy_metadata_is_a_one_line_error(tmp_path, meta):
    from xrbid.errors import InputError

    path = tmp_path / "masked.parquet"
    Table({"ra": MaskedColumn([1.0, 2.0], mask=[True, False])}).write(path)
    table = pq.read_table(path)
    damaged = tmp_path / "damaged.parquet"
    pq.write_table(table.replace_schema_metadata({b"table_meta_yaml": meta}), damaged)
    before = damaged.read_bytes()
    with pytest.raises(ValueError, match="table_meta_yaml"):
        read_parquet(damaged)
    with pytest.raises(InputError, match=r"metadata .*is broken"):
        read_table(damaged)
    assert damaged.read_bytes() == before


def test_list_and_struct_columns_are_a_one_line_error(tmp_path):
    from xrbid.errors import InputError

    for name, column in [("l", pa.array([[1], [2, 3]])), ("st", pa.array([{"x": 1}, {"x": 2}]))]:
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"ra": [1.0, 2.0], name: column}), path)
        with pytest.raises(InputError, match=f"column '{name}' holds arrays"):
            read_table(path)
