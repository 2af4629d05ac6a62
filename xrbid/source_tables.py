"""The X-ray sources of a table: one row per source, a selection by ID, ID lists, and the
"table or DS9 region file" input of the commands that take positions."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from . import errors
from ._io import reading
from .errors import InputError
from .schema import require_columns

__all__ = ["read_ids", "read_table_or_regions", "select_sources", "unique_sources"]


def unique_sources(df: pd.DataFrame) -> pd.DataFrame:
    """Keep the first row of every source, in table order.

    Rows of one source need not be next to each other: the first row of each ``source_id``
    wherever it appears is kept, and the kept rows stay in their original order.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with a ``source_id`` column.

    Returns
    -------
    pandas.DataFrame
        One row per source, index renumbered from 0.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"source_id": ["a", "b", "a", "c", "b"], "counts": [1, 2, 3, 4, 5]})
    >>> unique_sources(df)["counts"].tolist()
    [1, 2, 4]
    """
    require_columns(df, ["source_id"], what="unique sources")
    out = df.loc[~df["source_id"].duplicated(keep="first").to_numpy()].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


def select_sources(
    df: pd.DataFrame,
    ids: Iterable[str],
    *,
    missing: Literal["error", "warn"] = "error",
) -> pd.DataFrame:
    """The rows of the given sources, in table order.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with a ``source_id`` column.
    ids : str or iterable of str
        Source ID(s); blanks around them are ignored.
    missing : {"error", "warn"}
        What to do about IDs not in the table: raise, or warn and go on. The error names
        neither choice (a caller offers its own way to go on, such as a command's option).

    Returns
    -------
    pandas.DataFrame
        Every row whose ``source_id`` is in ``ids``, in table order, index renumbered from 0.

    Raises
    ------
    InputError
        If ``missing="error"`` and some IDs are not in the table (all are listed), or if no
        ID is given.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"source_id": ["a", "b", "c"], "ra": [1.0, 2.0, 3.0]})
    >>> select_sources(df, ["c", " a "])["ra"].tolist()
    [1.0, 3.0]
    """
    if missing not in ("error", "warn"):
        raise InputError(f"missing must be 'error' or 'warn', not {missing!r}")
    require_columns(df, ["source_id"], what="selecting sources")
    if isinstance(ids, str):  # one ID, not its characters
        ids = [ids]
    wanted = list(dict.fromkeys(str(i).strip() for i in ids))
    wanted = [i for i in wanted if i]
    if not wanted:
        raise InputError("no source IDs given; give at least one ID")
    hit = df["source_id"].isin(wanted).to_numpy()
    found = set(df["source_id"].to_numpy()[hit])
    absent = [i for i in wanted if i not in found]
    if absent:
        shown = ", ".join(repr(i) for i in absent[:10])
        more = f" and {len(absent) - 10} more" if len(absent) > 10 else ""
        message = f"{len(absent)} of {len(wanted)} IDs not in the table: {shown}{more}"
        if missing == "error":
            raise InputError(f"{message}; check the IDs")
        warnings.warn(message, errors.XrbidWarning, stacklevel=2)
    out = df.loc[hit].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


def read_table_or_regions(
    source: pd.DataFrame | str | os.PathLike,
    *,
    what: str = "table",
    required: Sequence[str] = (),
) -> pd.DataFrame:
    """Positions from a table file, a DS9 region file (``.reg``) or a DataFrame.

    Parameters
    ----------
    source : DataFrame, str or path-like
        A DataFrame is used as it is; a ``.reg`` file is read with
        `xrbid.regions.read_regions` and keeps its regions in sky coordinates (``ra``,
        ``dec``); any other file with `read_table`.
    what : str
        How to call the input in messages (e.g. ``"optical table"``).
    required : sequence of str
        Canonical columns the result must have (see `xrbid.schema.require_columns`).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputError
        If ``source`` is neither, the file cannot be read, or a region file has no region in
        sky coordinates.
    ColumnError
        If a ``required`` column is missing.

    Examples
    --------
    >>> opt = read_table_or_regions("M101_daofind_f555w_acs_fk5.reg")  # doctest: +SKIP
    >>> opt[["ra", "dec"]].head()  # doctest: +SKIP
    """
    if isinstance(source, pd.DataFrame):
        df = source
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.suffix.lower() != ".reg":
            from .tables import read_table

            return read_table(path, required=required, what=what)
        from .regions import read_regions

        df = read_regions(path)
    else:
        raise InputError(f"{what}: expected a table (DataFrame or file path), got {type(source)}")
    if {"ra", "dec"} <= set(df.columns) and len(df) and "shape" in df.columns:
        sky = np.isfinite(pd.to_numeric(df["ra"], errors="coerce").to_numpy(float))
        if not sky.any():
            raise InputError(
                f"{what}: the region file has no sky coordinates (image or physical system); "
                "save the regions in fk5 from DS9 (Region > Save, coordinate system fk5)"
            )
        df = df[sky].reset_index(drop=True)
    name = what if isinstance(source, pd.DataFrame) else str(source)
    require_columns(df, required, what=what, source=name)
    return df


def read_ids(path: str | os.PathLike) -> list[str]:
    """Read source IDs from a text file: one per line; blank lines and ``#`` comments skipped.

    Parameters
    ----------
    path : str or path-like
        The text file.

    Returns
    -------
    list of str
        The IDs, in file order, without surrounding blanks.

    Examples
    --------
    >>> read_ids("calibrators.txt")  # doctest: +SKIP
    ['2CXO J140251.0+542420', '2CXO J140248.0+542403']
    """
    with reading(path, "ID list") as file:
        text = file.read_text(encoding="utf-8")
    ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise InputError(f"{file}: no IDs in the file; write one ID per line")
    return ids
