"""The inputs of an alignment: the rows of one ObsID of the shipped Chandra astromon table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from xrbid.align.reading import obsid_values, read_alignment_input
from xrbid.errors import ColumnError

ASTROMON = "chandra-astromon/astromon_xray_src.ecsv"


def test_one_obsid_is_kept_in_file_order(testdata):
    path = testdata / ASTROMON
    raw = Table.read(path)  # read without xrbid, to count the rows of ObsID 14536
    want = np.asarray(raw["obsid"]) == 14536
    assert want.sum() == 75  # the largest observation of the file
    df = read_alignment_input(path, "X-ray table", obsid=14536)
    assert len(df) == 75
    assert list(df.index) == list(range(75))
    np.testing.assert_allclose(df["ra"], np.asarray(raw["ra"])[want])


def test_without_obsid_every_row_is_read(testdata):
    df = read_alignment_input(testdata / ASTROMON, "X-ray table")
    assert len(df) == len(Table.read(testdata / ASTROMON))


def test_no_obsid_column_names_the_file(testdata):
    path = testdata / "ds9-regions-pyregion" / "test01_fk5.reg"
    with pytest.raises(ColumnError, match="no obsid column"):
        read_alignment_input(path, "optical table", obsid=1)


def test_text_obsid_names_its_row(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("ra,dec,obsid\n10.0,20.0,14536\n10.1,20.1,abc\n")
    with pytest.raises(ColumnError, match=r"'abc' \(row 2 of the X-ray table\) is not a number"):
        read_alignment_input(path, "X-ray table", obsid=14536)


def test_empty_obsid_column_is_an_error():
    column = pd.Series([None, "", "  "], dtype=object)
    with pytest.raises(ColumnError, match="obsid column of the reference table is empty"):
        obsid_values(column, "ref.csv", "reference table")


def test_obsid_values_are_numbers_with_gaps():
    values = obsid_values(pd.Series(["14536", None, " 13276 "]), "x.csv", "X-ray table")
    assert values.iloc[0] == 14536 and np.isnan(values.iloc[1]) and values.iloc[2] == 13276
