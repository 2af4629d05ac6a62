"""The inputs of an alignment: a table or DS9 region file, optionally one observation's rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import ColumnError

__all__ = ["obsid_values", "read_alignment_input"]


def read_alignment_input(path: str | Path, what: str, obsid: int | None = None) -> pd.DataFrame:
    """Read the positions of one side of an alignment, keeping the rows of one ObsID if asked.

    Parameters
    ----------
    path : str or Path
        A table (any format of :func:`xrbid.tables.read_table`) or a DS9 region file (``.reg``).
    what : str
        What the file holds, for messages (``"X-ray table"``, ``"reference table"``).
    obsid : int, optional
        Keep only the rows whose ``obsid`` column equals this Chandra ObsID.

    Returns
    -------
    pandas.DataFrame
        The rows kept, indexed from 0.

    Raises
    ------
    ColumnError
        If ``obsid`` is given and the file has no ``obsid`` column, or that column holds text
        that is not a number, or is empty (see :func:`obsid_values`).
    """
    from ..tables import read_table_or_regions

    path = Path(path)
    df = read_table_or_regions(path, what=what)
    if obsid is None:
        return df
    if "obsid" not in df.columns:
        raise ColumnError(f"{path}: --obsid given but the {what} has no obsid column")
    return df[obsid_values(df["obsid"], path, what) == obsid].reset_index(drop=True)


def obsid_values(column: pd.Series, path: str | Path, what: str) -> pd.Series:
    """The ``obsid`` column as numbers (NaN where a row has none).

    Parameters
    ----------
    column : pandas.Series
        The ``obsid`` column as read (numbers, or text from a CSV or region file).
    path, what : str or Path, str
        The file and what it holds, for messages.

    Returns
    -------
    pandas.Series of float

    Raises
    ------
    ColumnError
        If a non-empty value is not a number (naming its row, counted from 1), or if no row has
        an ObsID.
    """
    values = pd.to_numeric(column, errors="coerce")
    text = column.astype("string").str.strip()
    bad = values.isna() & column.notna() & (text.fillna("") != "")
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ColumnError(
            f"{path}: obsid {column.iloc[row]!r} (row {row + 1} of the {what}) is not a number; "
            "--obsid needs numeric ObsIDs"
        )
    if values.isna().all():
        raise ColumnError(
            f"{path}: the obsid column of the {what} is empty; fill it, or drop --obsid to use "
            "all rows"
        )
    return values
