"""Reading and writing tables by file extension.

Tables are read into the canonical schema of `xrbid.schema` (:data:`SCHEMA`, re-exported
here): `read_table` maps the column names of the file onto it and converts values to the
schema units.

Formats follow the extension: ``.csv`` and ``.frame`` (CSV), ``.ecsv``, ``.fits``/``.fit``,
``.vot``/``.xml`` (VOTable, columns read by ``name=``, not ``ID=``) and ``.parquet``. ECSV,
FITS, VOTable and Parquet files carry the units of the columns.

The source helpers (`unique_sources`, `select_sources`, `read_ids`, `read_table_or_regions`)
live in `xrbid.source_tables` and are re-exported here.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._io import atomic_output, check_output
from .errors import ColumnError, InputError
from .schema import (
    _BY_NAME,
    SCHEMA,
    UNITS_ATTR,
    ColumnSpec,
    _to_canonical_units,
    _units_of,
    canonical_name,
    normalize_columns,
    require_columns,
)
from .source_tables import read_ids, read_table_or_regions, select_sources, unique_sources

__all__ = [
    "FORMATS",
    "SCHEMA",
    "ColumnSpec",
    "check_table_output",
    "normalize_columns",
    "read_ids",
    "read_table",
    "read_table_or_regions",
    "require_columns",
    "select_sources",
    "table_to_frame",
    "unique_sources",
    "write_table",
]

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".frame": "csv",
    ".ecsv": "ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".vot": "votable",
    ".xml": "votable",
    ".parquet": "parquet",
}
"""File extensions read and written, and the format each means."""

_FITS_BOOL_KEY = "XRBBOOL"  # FITS header keyword: boolean columns stored as 1/0 with nulls


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        raise InputError(
            f"{path}: unknown table extension {path.suffix or '(none)'!r}; use one of {known}"
        )
    return fmt


# --------------------------------------------------------------------------------------------
# reading


def read_table(
    path: str | os.PathLike,
    *,
    table: int | None = None,
    required: Sequence[str] = (),
    what: str = "this step",
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Read a table file into a DataFrame with canonical column names.

    Parameters
    ----------
    path : str or path-like
        The file; its extension gives the format (see :data:`FORMATS`). ``.frame`` and other
        CSV files written by pandas with their unnamed index column are read without it.
    table : int, optional
        Which table of a VOTable holding several (0-based). Required in that case.
    required : sequence of str
        Canonical columns the table must have (checked with :func:`require_columns`).
    what : str
        What the required columns are needed for (used in error messages).
    allow_empty : bool
        Accept a table without rows (a search that found nothing); refused by default.

    Returns
    -------
    pandas.DataFrame
        Columns renamed to the canonical schema; values converted to the schema units where
        the file says they are in another unit. Units of other columns are kept in
        ``df.attrs["units"]``.

    Raises
    ------
    InputError
        Unreadable or missing file, unknown extension, a table without rows (unless
        ``allow_empty``), or a VOTable with
        several tables and no ``table`` given.
    ColumnError
        Duplicate names after mapping, or a ``required`` column missing.

    Examples
    --------
    >>> df = read_table("testdata/csc-m101/cscresults_M101.vot")  # doctest: +SKIP
    >>> df[["source_id", "ra", "dec", "theta", "counts"]].iloc[0]  # doctest: +SKIP
    """
    path = Path(path)
    fmt = _format_of(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a table file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied; check the file's permissions")

    try:
        if fmt == "csv":
            raw, units = _read_csv(path), {}
        else:
            raw, units = _read_astropy(path, fmt, table)
    except (InputError, ColumnError):
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise InputError(f"{path}: cannot read as {fmt} ({exc}); check the file") from exc
    except Exception as exc:  # a header card or metadata block that cannot be parsed
        from ._io import input_error

        err = input_error(exc, path, f"{fmt} table")
        if err is None:
            raise
        raise err from exc

    if raw.shape[1] == 0:
        raise InputError(f"{path}: the table has no columns; check the file")
    if len(raw) == 0 and not allow_empty:
        raise InputError(f"{path}: the table has no rows; check the file or the query")

    raw.attrs[UNITS_ATTR] = units
    df = normalize_columns(raw, source=str(path))
    _to_canonical_units(df, df.attrs[UNITS_ATTR], str(path))
    df.attrs[UNITS_ATTR] = {c: u for c, u in df.attrs[UNITS_ATTR].items() if c not in _BY_NAME}
    if required:
        require_columns(df, required, what=what, source=str(path))
    return df


def _target(name: str) -> str | None:
    """The canonical column a file column maps to, if any."""
    return canonical_name(name)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
        names = [str(n) for n in header.iloc[0]]
        repeated = sorted({n for n in names if n and names.count(n) > 1})
        if repeated:
            raise ColumnError(
                f"{path}: column {repeated[0]!r} appears more than once; rename or remove one"
            )
        # IDs stay text even when they look like numbers (leading zeros, '007')
        ids = {n: str for n in names if _target(n) == "source_id"}
        df = pd.read_csv(path, dtype=ids)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; check the file") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a valid CSV table ({exc})") from None
    if len(df.columns) and str(df.columns[0]).startswith("Unnamed: 0"):
        # pandas' DataFrame.to_csv writes the row index as a leading column without a name.
        df = df.iloc[:, 1:]
    for name in df.columns:
        column = df[name]
        if pd.api.types.is_object_dtype(column.dtype):
            # True/False with blanks: pandas leaves objects; make the column nullable boolean
            present = column.dropna()
            if len(present) and present.map(type).eq(bool).all():
                df[name] = column.astype("boolean")
        elif pd.api.types.is_bool_dtype(column.dtype) and _target(name) == "likelihood":
            # pandas reads a column of CSC likelihood classes that are all TRUE as booleans
            df[name] = np.where(column.to_numpy(), "TRUE", "FALSE")
            df[name] = df[name].astype("str")
    return df


def _read_astropy(path: Path, fmt: str, table: int | None) -> tuple[pd.DataFrame, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit-string and VOTable pedantry warnings
        if fmt == "parquet":
            from ._parquet import read_parquet

            fast = read_parquet(path)
            if fast is not None:
                return fast
        if fmt == "votable" and table in (None, 0):
            from ._votable import read_tabledata

            fast = read_tabledata(path)
            if fast is not None:
                return fast
        if fmt == "votable":
            tab = _read_votable(path, table)
        elif fmt == "fits":
            tab = _read_fits(path, table)
        else:
            from astropy.table import Table

            tab = Table.read(path, format="ascii.ecsv" if fmt == "ecsv" else fmt)
    units = {name: col.unit.to_string() for name, col in tab.columns.items() if col.unit}
    df = table_to_frame(tab)
    for name in str(tab.meta.get(_FITS_BOOL_KEY, "")).split(","):
        if name in df.columns:
            df[name] = df[name].astype("boolean")
    return df, units


def _read_votable(path: Path, table: int | None):
    from astropy.io import votable

    tables = list(votable.parse(str(path)).iter_tables())
    if not tables:
        raise InputError(f"{path}: the VOTable holds no table; check the file")
    if table is None:
        if len(tables) > 1:
            names = "; ".join(f"{i}: {t.name or t.ID or 'unnamed'}" for i, t in enumerate(tables))
            raise InputError(
                f"{path} holds {len(tables)} tables ({names}); take one out with "
                f"`xrbid csc load {path} --table N -o OUT` (read_table(..., table=N) in Python)"
            )
        table = 0
    if not 0 <= table < len(tables):
        raise InputError(f"{path}: no table {table}; it holds tables 0 to {len(tables) - 1}")
    return tables[table].to_table(use_names_over_ids=True)


def _read_fits(path: Path, table: int | None):
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=False) as hdul:
        hdus = [i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU | fits.TableHDU)]
        if not hdus:
            raise InputError(f"{path}: the FITS file holds no table; check the file")
        if table is None:
            if len(hdus) > 1:
                raise InputError(
                    f"{path} holds {len(hdus)} tables (HDUs {hdus}); take one out with "
                    f"`xrbid csc load {path} --table N -o OUT`, N counting tables from 0 "
                    "(read_table(..., table=N) in Python)"
                )
            table = 0
        if not 0 <= table < len(hdus):
            raise InputError(f"{path}: no table {table}; it holds tables 0 to {len(hdus) - 1}")
        return Table.read(hdul, hdu=hdus[table])


def table_to_frame(tab) -> pd.DataFrame:
    """An astropy Table as a DataFrame, the way every xrbid reader returns tables.

    Masked floats become NaN, masked integers and booleans pandas' nullable types, and text
    (including the bytes columns of FITS tables) pandas' ``str`` dtype, decoded once here so
    that labels and IDs never show up as ``b'...'``.

    Parameters
    ----------
    tab : astropy.table.Table
        One value per cell (array-valued columns are refused).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputError
        A column holds arrays.
    """
    columns = {}
    for name, col in tab.columns.items():
        if col.ndim > 1:
            raise InputError(f"column {name!r} holds arrays; xrbid reads one value per cell")
        mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
        data = np.asarray(col)
        kind = data.dtype.kind
        if kind in "SU":
            values = pd.array(data.astype(str), dtype="str")
            if mask.any():
                values[mask] = np.nan
        elif kind == "f":
            values = data.astype(data.dtype.newbyteorder("="), copy=True)
            if mask.any():
                values[mask] = np.nan
        elif kind == "b":
            values = pd.array(data, dtype="boolean") if mask.any() else data.copy()
            if mask.any():
                values[mask] = pd.NA
        elif kind in "iu":
            data = data.astype(data.dtype.newbyteorder("="))
            if mask.any():
                values = pd.array(
                    data, dtype=f"{'Int' if kind == 'i' else 'UInt'}{data.itemsize * 8}"
                )
                values[mask] = pd.NA
            else:
                values = data.copy()
        elif kind == "O" and any(isinstance(v, bytes) for v in data[:1000]):
            values = pd.array(
                [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in data],
                dtype="str",
            )
            if mask.any():
                values[mask] = np.nan
        else:
            values = data
        columns[name] = values
    return pd.DataFrame(columns)


_table_to_frame = table_to_frame  # the name the tests of the fast readers compare against


# --------------------------------------------------------------------------------------------
# writing


def check_table_output(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check, before any work is done, that a table may be written to ``path``.

    Parameters
    ----------
    path : str or path-like
        The output file.
    overwrite : bool
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        Unknown extension, or a folder that does not exist.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> check_table_output("m101.ecsv", overwrite=True)  # doctest: +SKIP
    PosixPath('m101.ecsv')
    """
    path = Path(path)
    _format_of(path)
    return check_output(path, overwrite)


Headers = Literal["canonical", "xrbid"]


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    headers: Headers = "canonical",
) -> Path:
    """Write a table; the format follows the extension of ``path``.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with canonical column names.
    path : str or path-like
        Output file (see :data:`FORMATS`). ``.frame`` files are written the way XRBID writes
        them (CSV with the row index as an unnamed first column); ``.csv`` without index.
    overwrite : bool
        Replace ``path`` if it exists.
    headers : {"canonical", "xrbid"}
        Column names to write: the canonical names, or the XRBID-style headers (``CSC ID``,
        ``RA``, ``Dec``, ``Counts``, ``1Sig``, ...) for columns that have one.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    InputError
        Unknown extension, or a folder that does not exist.

    Examples
    --------
    >>> write_table(df, "m101.ecsv", overwrite=True)  # doctest: +SKIP
    >>> write_table(df, "m101_renamed.frame", headers="xrbid")  # doctest: +SKIP
    """
    path = Path(path)
    fmt = _format_of(path)
    if headers not in ("canonical", "xrbid"):
        raise InputError(f"headers must be 'canonical' or 'xrbid', not {headers!r}")
    units = _units_of(df)
    names = {c: c for c in df.columns}
    if headers == "xrbid":
        names = {c: (_BY_NAME[c].xrbid if c in _BY_NAME and _BY_NAME[c].xrbid else c) for c in df}
    out = df.rename(columns=names)
    units = {names[c]: u for c, u in units.items()}

    with atomic_output(path, overwrite) as tmp:
        try:
            if fmt == "csv":
                out.to_csv(tmp, index=path.suffix.lower() == ".frame")
            else:
                _write_astropy(out, units, tmp, fmt)
        except (ValueError, TypeError, UnicodeError) as exc:
            raise InputError(
                f"cannot write the table as {fmt} to {path} ({exc}); try another format"
            ) from exc
    return path


def _write_astropy(df: pd.DataFrame, units: dict[str, str], tmp: Path, fmt: str) -> None:
    from ._ecsv import astropy_table, write_ecsv

    columns, fits_bools = _file_columns(df, units, fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "ecsv":
            write_ecsv(columns, tmp)  # astropy's bytes, without importing astropy.table
            return
        tab = astropy_table(columns)
        if fits_bools:
            tab.meta[_FITS_BOOL_KEY] = ",".join(fits_bools)
        if fmt == "votable":
            tab.write(tmp, format="votable", overwrite=True)
        elif fmt == "fits":
            tab.write(tmp, format="fits", overwrite=True)
        else:
            tab.write(tmp, format="parquet", overwrite=True)


def _file_columns(df: pd.DataFrame, units: dict[str, str], fmt: str):
    """The columns written for ``df`` (masks for missing values) and FITS's boolean columns."""
    from ._ecsv import EcsvColumn

    columns: list[EcsvColumn] = []
    fits_bools: list[str] = []
    # numpy float columns (NaN for missing values, no mask) are converted together: most of a
    # table's columns, each of which would otherwise pay pandas' per-column overhead
    floats = [n for n, dtype in df.dtypes.items() if _plain_float(dtype)]
    if df.columns.has_duplicates:  # df[name] is then a table: left to the general path below
        floats = []
    float_values = dict(zip(floats, df[floats].to_numpy(dtype=float).T)) if floats else {}
    for name in df.columns:
        if name in float_values:
            columns.append(EcsvColumn(str(name), float_values[name], None, units.get(name)))
            continue
        series = df[name]
        if isinstance(series.dtype, pd.CategoricalDtype):  # e.g. pu_method: write the labels
            series = series.astype(series.cat.categories.dtype)
        na = series.isna().to_numpy()
        mask = na if na.any() else None
        if pd.api.types.is_bool_dtype(series.dtype):
            if mask is not None and fmt == "fits":
                # FITS readers turn a null logical into True or False: store 1/0 with a null
                # and name the column in the header so that reading gives booleans again.
                values = series.fillna(False).to_numpy(dtype=np.int16)
                fits_bools.append(name)
            else:
                values = series.fillna(False).to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(series.dtype):
            values = series.fillna(0).to_numpy(dtype=np.int64)
        elif pd.api.types.is_float_dtype(series.dtype):
            values, mask = series.to_numpy(dtype=float), None  # missing values are NaN
        elif pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
            # Missing values become "" under the mask; going through a list keeps numpy from
            # sizing the string dtype on the missing-value marker (which truncates to <U1).
            values = np.array(series.astype(object).where(~na, "").tolist(), dtype=str)
        else:
            values, mask = series.to_numpy(), None
        columns.append(EcsvColumn(str(name), values, mask, units.get(name)))
    return columns, fits_bools


def _plain_float(dtype: object) -> bool:
    """Whether ``dtype`` is numpy's float32 or float64 (not pandas' nullable Float64)."""
    return isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize in (4, 8)
