"""Tables of X-ray sources: reading and writing by file extension, and the canonical schema.

Every table inside xrbid is a `pandas.DataFrame` whose columns follow one **canonical schema**
(:data:`SCHEMA`): fixed names with fixed units, whatever the file they came from. Readers map
the names used by the Chandra Source Catalog (CSCview and TAP exports: ``name``, ``ra``,
``src_cnts_aper_b``, ``err_ellipse_r0``, ...) and by XRBID-style DataFrames (``CSC ID``,
``RA``, ``Counts``, ``1Sig``, ...) onto it; writers can emit either the canonical names or the
XRBID headers.

Name matching ignores case, spaces, underscores and punctuation, so ``CSC ID``, ``csc_id`` and
``Csc-Id`` are the same name. Columns the schema does not know keep their name, turned into
snake_case (``F555W Mag`` -> ``f555w_mag``).

Two schema entries have a *fallback* alias, used only when none of the entry's other names is in
the table: ``theta_mean`` for ``theta`` (the per-observation off-axis angle is preferred; when
both are present ``theta_mean`` is kept as its own column) and ``likelihood_class`` for
``likelihood``.

Formats follow the extension: ``.csv`` and ``.frame`` (CSV), ``.ecsv``, ``.fits``/``.fit``,
``.vot``/``.xml`` (VOTable, columns read by ``name=``, not ``ID=``) and ``.parquet``. ECSV,
FITS, VOTable and Parquet files carry the units of the columns.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._io import atomic_output, check_output
from .errors import ColumnError, InputError

__all__ = [
    "FORMATS",
    "SCHEMA",
    "ColumnSpec",
    "check_table_output",
    "normalize_columns",
    "read_ids",
    "read_table",
    "require_columns",
    "select_sources",
    "unique_sources",
    "write_table",
]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the canonical schema.

    Attributes
    ----------
    name : str
        Canonical name.
    unit : str or None
        Unit of the values (an astropy unit string); None for unitless columns.
    description : str
        What the column holds.
    csc : tuple of str
        Names in Chandra Source Catalog exports (CSCview, TAP).
    xrbid : str or None
        The XRBID-style header written by ``write_table(..., headers="xrbid")``.
    aliases : tuple of str
        Other accepted names.
    fallback : tuple of str
        Names used only when no other name of this column is present.
    """

    name: str
    unit: str | None
    description: str
    csc: tuple[str, ...] = ()
    xrbid: str | None = None
    aliases: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()

    def accepted_names(self) -> list[str]:
        """All names this column is read from, canonical first, fallbacks last."""
        names = [self.name, *self.csc]
        if self.xrbid:
            names.append(self.xrbid)
        names += [*self.aliases, *self.fallback]
        return list(dict.fromkeys(names))


def _limits(name: str, unit: str | None, what: str, csc: str, xrbid: str) -> list[ColumnSpec]:
    """A measured column and its 68% lower/upper confidence limits."""
    band = csc.endswith("_b")  # CSC puts the band letter last: src_cnts_aper_lolim_b
    lo_csc = f"{csc[:-2]}_lolim_b" if band else f"{csc}_lolim"
    hi_csc = f"{csc[:-2]}_hilim_b" if band else f"{csc}_hilim"
    return [
        ColumnSpec(name, unit, what, (csc,), xrbid),
        ColumnSpec(f"{name}_lolim", unit, f"{what}, 68% lower limit", (lo_csc,), f"{xrbid} lolim"),
        ColumnSpec(f"{name}_hilim", unit, f"{what}, 68% upper limit", (hi_csc,), f"{xrbid} hilim"),
    ]


SCHEMA: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "source_id",
        None,
        "Source name, e.g. '2CXO J140312.5+542056' (one source may have several rows)",
        ("name",),
        "CSC ID",
    ),
    ColumnSpec("ra", "deg", "Right ascension (ICRS)", ("ra",), "RA"),
    ColumnSpec("dec", "deg", "Declination (ICRS)", ("dec",), "Dec"),
    ColumnSpec(
        "theta",
        "arcmin",
        "Off-axis angle of the source in the observation",
        ("theta",),
        "Theta",
        fallback=("theta_mean",),
    ),
    *_limits(
        "counts",
        "count",
        "Aperture-corrected net counts, broad band (0.5-7.0 keV)",
        "src_cnts_aper_b",
        "Counts",
    ),
    ColumnSpec(
        "err_r0",
        "arcsec",
        "Major radius of the 95% position error ellipse",
        ("err_ellipse_r0",),
        "Err Ellipse Major",
    ),
    ColumnSpec(
        "err_r1",
        "arcsec",
        "Minor radius of the 95% position error ellipse",
        ("err_ellipse_r1",),
        "Err Ellipse Minor",
    ),
    ColumnSpec(
        "err_ang",
        "deg",
        "Position angle of the error ellipse major axis (from north)",
        ("err_ellipse_ang",),
        "Err Ellipse Angle",
    ),
    ColumnSpec("exptime", "s", "Exposure (live) time of the observation", ("livetime",), "ExpTime"),
    ColumnSpec("obsid", None, "Chandra observation ID", ("obsid",), "ObsID"),
    ColumnSpec(
        "significance", None, "Detection significance (S/N)", ("significance",), "Significance"
    ),
    ColumnSpec(
        "likelihood",
        None,
        "Detection likelihood (or its class, TRUE/MARGINAL)",
        ("likelihood",),
        "Likelihood",
        fallback=("likelihood_class",),
    ),
    ColumnSpec(
        "pu_1sigma", "arcsec", "1-sigma positional-uncertainty radius", (), "1Sig", ("pu_1sig",)
    ),
    ColumnSpec(
        "pu_2sigma", "arcsec", "2-sigma positional-uncertainty radius", (), "2Sig", ("pu_2sig",)
    ),
    ColumnSpec(
        "separation",
        "arcsec",
        "Distance from the search position (CSCview cone searches)",
        ("separation",),
        "Separation",
    ),
    *_limits(
        "flux",
        "erg / (s cm2)",
        "Aperture-corrected energy flux, broad band (0.5-7.0 keV)",
        "flux_aper_b",
        "Flux",
    ),
    *_limits(
        "hard_hs",
        None,
        "Hardness ratio, hard (2.0-7.0 keV) vs soft (0.5-1.2 keV) photon flux",
        "hard_hs",
        "HS Ratio",
    ),
    *_limits(
        "hard_hm",
        None,
        "Hardness ratio, hard (2.0-7.0 keV) vs medium (1.2-2.0 keV) photon flux",
        "hard_hm",
        "HM Ratio",
    ),
    *_limits(
        "hard_ms",
        None,
        "Hardness ratio, medium (1.2-2.0 keV) vs soft (0.5-1.2 keV) photon flux",
        "hard_ms",
        "MS Ratio",
    ),
)
"""The canonical schema: every column xrbid knows by name, with its unit and accepted names."""

_BY_NAME: dict[str, ColumnSpec] = {spec.name: spec for spec in SCHEMA}

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

_UNITS_ATTR = "units"  # DataFrame.attrs key: units of columns outside the schema
_FITS_BOOL_KEY = "XRBBOOL"  # FITS header keyword: boolean columns stored as 1/0 with nulls


def _key(name: str) -> str:
    """Comparison key of a column name: lower case, runs of non-alphanumerics -> '_'."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def _snake(name: str, position: int) -> str:
    return _key(name) or f"col{position}"


_PRIMARY: dict[str, str] = {}
_FALLBACK: dict[str, str] = {}
for _spec in SCHEMA:
    for _alias in [_spec.name, *_spec.csc, _spec.xrbid or "", *_spec.aliases]:
        if _alias:
            _PRIMARY[_key(_alias)] = _spec.name
    for _alias in _spec.fallback:
        _FALLBACK[_key(_alias)] = _spec.name


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        raise InputError(
            f"{path}: unknown table extension {path.suffix or '(none)'!r}; use one of {known}"
        )
    return fmt


# --------------------------------------------------------------------------------------------
# schema mapping


def normalize_columns(df: pd.DataFrame, *, source: str = "table") -> pd.DataFrame:
    """Rename the columns of ``df`` to the canonical schema.

    Known names (CSC native, XRBID headers, canonical) become canonical names; other columns
    become snake_case. ``theta_mean`` becomes ``theta`` only when the table has no per-observation
    ``theta`` (likewise ``likelihood_class`` -> ``likelihood``). Source IDs are stored as
    strings without surrounding blanks.

    Parameters
    ----------
    df : pandas.DataFrame
        The table as read. It is not modified.
    source : str
        How to call the table in error messages (usually its path).

    Returns
    -------
    pandas.DataFrame
        A new frame with canonical column names.

    Raises
    ------
    ColumnError
        If two columns end up with the same name (for example ``ra`` and ``RA``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"CSC ID": ["2CXO J140312.5+542056"], "RA": [210.80], "Dec": [54.35],
    ...                    "theta_mean": [2.69]})
    >>> list(normalize_columns(df).columns)
    ['source_id', 'ra', 'dec', 'theta']
    """
    originals = [str(c) for c in df.columns]
    keys = [_key(c) for c in originals]
    present = {_PRIMARY[k] for k in keys if k in _PRIMARY}
    new_names = []
    for i, (orig, key) in enumerate(zip(originals, keys)):
        if key in _PRIMARY:
            new_names.append(_PRIMARY[key])
        elif key in _FALLBACK and _FALLBACK[key] not in present:
            new_names.append(_FALLBACK[key])
        else:
            new_names.append(_snake(orig, i))

    seen: dict[str, str] = {}
    for orig, new in zip(originals, new_names):
        if new in seen:
            raise ColumnError(
                f"{source}: columns {seen[new]!r} and {orig!r} both mean {new!r}; "
                "remove or rename one of them"
            )
        seen[new] = orig

    out = df.copy(deep=False)
    out.columns = new_names
    out.attrs = {k: v for k, v in df.attrs.items() if k != _UNITS_ATTR}
    units = df.attrs.get(_UNITS_ATTR, {})
    out.attrs[_UNITS_ATTR] = {
        new: units[orig] for orig, new in zip(originals, new_names) if orig in units
    }
    if "source_id" in out.columns:
        out["source_id"] = _clean_ids(out["source_id"])
    return out


def _clean_ids(ids: pd.Series) -> pd.Series:
    missing = ids.isna()
    text = ids.astype(str).str.strip()
    if missing.any():
        text = text.where(~missing)
    return text


def require_columns(
    df: pd.DataFrame, columns: Iterable[str], *, what: str = "this step", source: str = "table"
) -> None:
    """Check that ``df`` has the canonical ``columns``.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with canonical column names.
    columns : iterable of str
        Canonical names that must be present.
    what : str
        What needs them (used in the message), e.g. ``"unique sources"``.
    source : str
        How to call the table in the message (usually its path).

    Raises
    ------
    ColumnError
        Naming the first missing column and the names it would have been read from.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"ra": [1.0]}), ["ra", "dec"], what="a region file")
    Traceback (most recent call last):
    ...
    xrbid.errors.ColumnError: table has no 'dec' column, needed for a region file; ...
    """
    for col in columns:
        if col not in df.columns:
            spec = _BY_NAME.get(col)
            accepted = spec.accepted_names() if spec else [col]
            raise ColumnError(
                f"{source} has no {col!r} column, needed for {what}; "
                f"add a column named one of: {', '.join(accepted)}"
            )


def _units_of(df: pd.DataFrame) -> dict[str, str]:
    """Units of every column of ``df`` that has one: schema units first, then ``attrs``."""
    units = dict(df.attrs.get(_UNITS_ATTR, {}))
    for col in df.columns:
        spec = _BY_NAME.get(col)
        if spec is not None:
            if spec.unit is None:
                units.pop(col, None)
            else:
                units[col] = spec.unit
    return {c: u for c, u in units.items() if c in df.columns and u}


def _to_canonical_units(df: pd.DataFrame, units: dict[str, str], source: str) -> None:
    """Convert schema columns whose file unit differs from the schema unit (in place)."""
    from astropy import units as u

    for col, unit_text in units.items():
        spec = _BY_NAME.get(col)
        if spec is None or spec.unit is None or col not in df.columns:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", u.UnitsWarning)
                file_unit = u.Unit(unit_text, parse_strict="silent")
            target = u.Unit(spec.unit)
        except ValueError:
            continue
        if isinstance(file_unit, u.UnrecognizedUnit) or file_unit == target:
            continue
        try:
            factor = file_unit.to(target)
        except u.UnitConversionError:
            raise ColumnError(
                f"{source}: column {col!r} is in {unit_text}, which cannot be converted to "
                f"{spec.unit}; fix the column's unit"
            ) from None
        df[col] = df[col].to_numpy(dtype=float) * factor


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

    if raw.shape[1] == 0:
        raise InputError(f"{path}: the table has no columns; check the file")
    if len(raw) == 0 and not allow_empty:
        raise InputError(f"{path}: the table has no rows; check the file or the query")

    raw.attrs[_UNITS_ATTR] = units
    df = normalize_columns(raw, source=str(path))
    _to_canonical_units(df, df.attrs[_UNITS_ATTR], str(path))
    df.attrs[_UNITS_ATTR] = {c: u for c, u in df.attrs[_UNITS_ATTR].items() if c not in _BY_NAME}
    if required:
        require_columns(df, required, what=what, source=str(path))
    return df


def _target(name: str) -> str | None:
    """The canonical column a file column maps to, if any."""
    key = _key(name)
    return _PRIMARY.get(key) or _FALLBACK.get(key)


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
    df = _table_to_frame(tab)
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


def _table_to_frame(tab) -> pd.DataFrame:
    """An astropy Table as a DataFrame: masked floats -> NaN, masked ints/bools -> nullable."""
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
        else:
            values = data
        columns[name] = values
    return pd.DataFrame(columns)


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
    from astropy.table import MaskedColumn, Table

    tab = Table()
    fits_bools: list[str] = []
    for name in df.columns:
        series = df[name]
        if isinstance(series.dtype, pd.CategoricalDtype):  # e.g. pu_method: write the labels
            series = series.astype(series.cat.categories.dtype)
        na = series.isna().to_numpy()
        if pd.api.types.is_bool_dtype(series.dtype):
            if na.any() and fmt == "fits":
                # FITS readers turn a null logical into True or False: store 1/0 with a null
                # and name the column in the header so that reading gives booleans again.
                values = series.fillna(False).to_numpy(dtype=np.int16)
                tab[name] = MaskedColumn(values, mask=na)
                fits_bools.append(name)
            elif na.any():
                tab[name] = MaskedColumn(series.fillna(False).to_numpy(dtype=bool), mask=na)
            else:
                tab[name] = series.to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(series.dtype):
            if na.any():
                tab[name] = MaskedColumn(series.fillna(0).to_numpy(dtype=np.int64), mask=na)
            else:
                tab[name] = series.to_numpy(dtype=np.int64)
        elif pd.api.types.is_float_dtype(series.dtype):
            tab[name] = series.to_numpy(dtype=float)
        elif pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
            # Missing values become "" under the mask; going through a list keeps numpy from
            # sizing the string dtype on the missing-value marker (which truncates to <U1).
            text = np.array(series.astype(object).where(~na, "").tolist(), dtype=str)
            tab[name] = MaskedColumn(text, mask=na) if na.any() else text
        else:
            tab[name] = series.to_numpy()
        if name in units:
            tab[name].unit = units[name]
    if fits_bools:
        tab.meta[_FITS_BOOL_KEY] = ",".join(fits_bools)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "ecsv":
            tab.write(tmp, format="ascii.ecsv", overwrite=True)
        elif fmt == "votable":
            tab.write(tmp, format="votable", overwrite=True)
        elif fmt == "fits":
            tab.write(tmp, format="fits", overwrite=True)
        else:
            tab.write(tmp, format="parquet", overwrite=True)


# --------------------------------------------------------------------------------------------
# sources


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
        What to do about IDs not in the table: raise, or warn and go on.

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
            raise InputError(f"{message}; check the IDs (or accept them with --missing warn)")
        warnings.warn(message, UserWarning, stacklevel=2)
    out = df.loc[hit].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


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
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder; give a text file of IDs") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied; check the file's permissions") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file of IDs") from None
    ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise InputError(f"{path}: no IDs in the file; write one ID per line")
    return ids
