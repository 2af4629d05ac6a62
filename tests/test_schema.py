"""The one check of needed columns and the one numeric-column reader of xrbid.schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xrbid.errors import ColumnError, InputError
from xrbid.schema import canonical_name, numeric_column, require_columns, sky_positions


def test_require_columns_names_the_missing_column_and_what_needs_it():
    df = pd.DataFrame({"ra": [1.0]})
    require_columns(df, ["ra"], what="a region file")  # present: no error
    with pytest.raises(ColumnError) as info:
        require_columns(df, ["ra", "dec"], what="a region file", source="m101.ecsv")
    message = str(info.value)
    assert message.startswith("m101.ecsv has no 'dec' column, needed for a region file;")
    # the default advice lists the names the column is read from (the schema's aliases)
    assert "DEC" in message.upper() and "add a column named one of" in message


def test_require_columns_hint_replaces_the_default_advice():
    with pytest.raises(ColumnError, match=r"needed for the search circles; run xrbid pu$"):
        require_columns(
            pd.DataFrame({"ra": [1.0]}),
            ["pu_2sigma"],
            what="the search circles",
            hint="run xrbid pu",
        )


def test_numeric_column_reads_text_numbers_and_keeps_missing_values():
    df = pd.DataFrame({"counts": ["12", None, "3.5"], "theta": [1.0, np.nan, 2.0]})
    assert numeric_column(df, "counts").tolist()[0] == 12.0
    assert np.isnan(numeric_column(df, "counts")[1])
    assert numeric_column(df, "counts")[2] == 3.5
    theta = numeric_column(df, "theta")
    assert theta.dtype == np.float64 and np.isnan(theta[1]) and theta[2] == 2.0


def test_numeric_column_names_how_many_cells_are_not_numbers_and_the_first():
    df = pd.DataFrame({"counts": [1.0, "many", 3.0, "lots"]})
    with pytest.raises(InputError) as info:
        numeric_column(df, "counts", what="source counts")
    assert str(info.value) == (
        "column 'counts' (source counts) must be numeric: 2 row(s) are not numbers "
        "(first: row 1, value 'many'); fix or drop those rows"
    )
    coerced = numeric_column(df, "counts", coerce=True)
    assert coerced[0] == 1.0 and coerced[2] == 3.0 and np.isnan(coerced[[1, 3]]).all()


def test_canonical_name_maps_csc_and_xrbid_headers():
    assert canonical_name("CSC ID") == "source_id"
    assert canonical_name("err_ellipse_r0") == "err_r0"
    assert canonical_name("F555W mag") is None


def test_sky_positions_reads_ra_and_dec_in_degrees_also_from_text():
    ra, dec = sky_positions(pd.DataFrame({"ra": [210.8, "150.1"], "dec": ["54.35", -2.2]}))
    assert ra.dtype == dec.dtype == np.float64
    assert ra.tolist() == [210.8, 150.1]
    assert dec.tolist() == [54.35, -2.2]


def test_sky_positions_names_the_missing_column():
    with pytest.raises(ColumnError, match=r"^cat.ecsv has no 'dec' column, needed for positions;"):
        sky_positions(pd.DataFrame({"ra": [1.0]}), "cat.ecsv")


@pytest.mark.parametrize("bad", [np.nan, None, "n/a"])
def test_sky_positions_counts_rows_without_a_position_and_names_the_first(bad):
    df = pd.DataFrame({"ra": [1.0, 2.0, bad, 4.0, bad], "dec": [1.0, 2.0, 3.0, 4.0, 5.0]})
    with pytest.raises(InputError, match=r"^cat: 2 row\(s\) have no valid RA/Dec \(first: row 2\)"):
        sky_positions(df, "cat")


def test_sky_positions_refuses_a_dec_beyond_the_pole():
    # a Dec of 120 means the columns are not degrees (e.g. hours and degrees swapped)
    with pytest.raises(InputError, match=r"Dec outside \[-90, 90\]"):
        sky_positions(pd.DataFrame({"ra": [10.0], "dec": [120.0]}), "cat")
    sky_positions(pd.DataFrame({"ra": [0.0, 359.9], "dec": [-90.0, 90.0]}))  # the poles are fine
