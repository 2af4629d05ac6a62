"""The canonical column schema of xrbid tables, and the mapping of file column names onto it.

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
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ColumnError, InputError

__all__ = [
    "SCHEMA",
    "ColumnSpec",
    "canonical_name",
    "normalize_columns",
    "numeric_column",
    "require_columns",
    "sky_positions",
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
    unit_spellings : tuple of str
        Other spellings of exactly ``unit`` (the same unit, scale 1) that files use, such as
        CSC's ``erg/s/cm^2`` for ``erg / (s cm2)``. A file column whose unit is written as
        ``unit`` or one of these is read as it is, without parsing the unit with
        `astropy.units`; the tests check every spelling against `astropy.units`.
    """

    name: str
    unit: str | None
    description: str
    csc: tuple[str, ...] = ()
    xrbid: str | None = None
    aliases: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()
    unit_spellings: tuple[str, ...] = ()

    def accepted_names(self) -> list[str]:
        """All names this column is read from, canonical first, fallbacks last."""
        names = [self.name, *self.csc]
        if self.xrbid:
            names.append(self.xrbid)
        names += [*self.aliases, *self.fallback]
        return list(dict.fromkeys(names))


def _limits(
    name: str, unit: str | None, what: str, csc: str, xrbid: str, spellings: tuple[str, ...] = ()
) -> list[ColumnSpec]:
    """A measured column and its 68% lower/upper confidence limits."""
    band = csc.endswith("_b")  # CSC puts the band letter last: src_cnts_aper_lolim_b
    lo_csc = f"{csc[:-2]}_lolim_b" if band else f"{csc}_lolim"
    hi_csc = f"{csc[:-2]}_hilim_b" if band else f"{csc}_hilim"
    lo, hi = f"{what}, 68% lower limit", f"{what}, 68% upper limit"
    return [
        ColumnSpec(name, unit, what, (csc,), xrbid, unit_spellings=spellings),
        ColumnSpec(
            f"{name}_lolim", unit, lo, (lo_csc,), f"{xrbid} lolim", unit_spellings=spellings
        ),
        ColumnSpec(
            f"{name}_hilim", unit, hi, (hi_csc,), f"{xrbid} hilim", unit_spellings=spellings
        ),
    ]


# Spellings of the schema units seen in files: CSC's VOTables (CSCview and TAP) and astropy's
# own generic, FITS and VOUnit renderings of the unit (what other tools write).
_DEG = ("degree",)
_COUNT = ("ct",)
_FLUX = ("erg/s/cm^2", "erg/s/cm2", "erg s-1 cm-2", "erg cm-2 s-1", "erg.s**-1.cm**-2")


SCHEMA: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "source_id",
        None,
        "Source name, e.g. '2CXO J140312.5+542056' (one source may have several rows)",
        ("name",),
        "CSC ID",
    ),
    ColumnSpec("ra", "deg", "Right ascension (ICRS)", ("ra",), "RA", unit_spellings=_DEG),
    ColumnSpec("dec", "deg", "Declination (ICRS)", ("dec",), "Dec", unit_spellings=_DEG),
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
        _COUNT,
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
        unit_spellings=_DEG,
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
        _FLUX,
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

UNITS_ATTR = "units"
"""`DataFrame.attrs` key holding the units of columns outside the schema."""


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


def canonical_name(name: str) -> str | None:
    """The canonical column a file column name maps to, or None if the schema does not know it.

    Examples
    --------
    >>> canonical_name("CSC ID"), canonical_name("err_ellipse_r0"), canonical_name("F555W")
    ('source_id', 'err_r0', None)
    """
    key = _key(name)
    return _PRIMARY.get(key) or _FALLBACK.get(key)


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
    out.attrs = {k: v for k, v in df.attrs.items() if k != UNITS_ATTR}
    units = df.attrs.get(UNITS_ATTR, {})
    out.attrs[UNITS_ATTR] = {
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
    df: pd.DataFrame,
    columns: Iterable[str],
    *,
    what: str = "this step",
    source: str = "table",
    hint: str | None = None,
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
    hint : str, optional
        What the user should do, ending the message; default: the names the missing column
        would have been read from.

    Raises
    ------
    ColumnError
        Naming the first missing column, what needs it, and what to do.

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
            if hint is None:
                spec = _BY_NAME.get(col)
                accepted = spec.accepted_names() if spec else [col]
                hint = f"add a column named one of: {', '.join(accepted)}"
            raise ColumnError(f"{source} has no {col!r} column, needed for {what}; {hint}")


def numeric_column(
    df: pd.DataFrame, name: str, *, what: str | None = None, coerce: bool = False
) -> np.ndarray:
    """The values of column ``name`` as floats (missing values as NaN).

    Parameters
    ----------
    df : pandas.DataFrame
        The table; it must have the column (check with `require_columns` first).
    name : str
        The column.
    what : str, optional
        What the column means, for the message (e.g. ``"source counts"``).
    coerce : bool
        Turn values that are not numbers into NaN instead of refusing them.

    Returns
    -------
    numpy.ndarray of float, shape (len(df),)

    Raises
    ------
    InputError
        If a value present in the column is not a number (unless ``coerce``), naming how many
        and the first one.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_column(pd.DataFrame({"counts": ["12", None, 3]}), "counts").tolist()
    [12.0, nan, 3.0]
    """
    column = df[name]
    if column.dtype.kind == "f":  # numpy floats: no conversion, no copy
        return column.to_numpy(dtype=float)
    if coerce:
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    try:
        return pd.to_numeric(column, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        pass
    parsed = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero((parsed.isna() & column.notna()).to_numpy())
    first = f" (first: row {int(bad[0])}, value {column.iloc[int(bad[0])]!r})" if bad.size else ""
    meaning = f" ({what})" if what else ""
    raise InputError(
        f"column {name!r}{meaning} must be numeric: {bad.size} row(s) are not numbers{first}; "
        "fix or drop those rows"
    )


def sky_positions(df: pd.DataFrame, source: str = "table") -> tuple[np.ndarray, np.ndarray]:
    """RA and Dec (degrees) of every row of a table in the canonical schema.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with ``ra`` and ``dec`` columns in degrees.
    source : str
        How to call the table in messages (its path or its role).

    Returns
    -------
    ra, dec : numpy.ndarray of float, shape (len(df),)

    Raises
    ------
    ColumnError
        If ``ra`` or ``dec`` is missing.
    InputError
        If a row has no valid RA/Dec (missing, or not a number), naming how many and the first;
        or if a Dec lies outside [-90, 90] (the columns are not in degrees).

    Examples
    --------
    >>> import pandas as pd
    >>> ra, dec = sky_positions(pd.DataFrame({"ra": [210.8], "dec": ["54.35"]}))
    >>> float(ra[0]), float(dec[0])
    (210.8, 54.35)
    """
    require_columns(
        df,
        ["ra", "dec"],
        what="positions",
        source=source,
        hint="there are no sky coordinates without it; give a table with RA/Dec in degrees, "
        "or a region file in fk5/icrs coordinates",
    )
    ra = numeric_column(df, "ra", coerce=True)
    dec = numeric_column(df, "dec", coerce=True)
    bad = ~(np.isfinite(ra) & np.isfinite(dec))
    if bad.any():
        raise InputError(
            f"{source}: {int(bad.sum())} row(s) have no valid RA/Dec (first: row "
            f"{int(np.flatnonzero(bad)[0])}); remove them first"
        )
    if np.any(np.abs(dec) > 90):
        raise InputError(f"{source}: Dec outside [-90, 90]; the coordinates must be in degrees")
    return ra, dec


def _units_of(df: pd.DataFrame) -> dict[str, str]:
    """Units of every column of ``df`` that has one: schema units first, then ``attrs``."""
    units = dict(df.attrs.get(UNITS_ATTR, {}))
    for col in df.columns:
        spec = _BY_NAME.get(col)
        if spec is not None:
            if spec.unit is None:
                units.pop(col, None)
            else:
                units[col] = spec.unit
    return {c: u for c, u in units.items() if c in df.columns and u}


def _to_canonical_units(df: pd.DataFrame, units: dict[str, str], source: str) -> None:
    """Convert schema columns whose file unit differs from the schema unit (in place).

    A unit written as the schema unit or one of its declared spellings
    (`ColumnSpec.unit_spellings`) needs no conversion, and is recognised without
    `astropy.units`, whose import costs a table read of a CSC file (every unit of which is
    such a spelling) more than the read itself. Any other unit text is parsed by astropy.
    """
    todo = {}
    for col, unit_text in units.items():
        spec = _BY_NAME.get(col)
        if spec is None or spec.unit is None or col not in df.columns:
            continue
        if unit_text != spec.unit and unit_text not in spec.unit_spellings:
            todo[col] = (spec, unit_text)
    if not todo:
        return
    from astropy import units as u

    for col, (spec, unit_text) in todo.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", u.UnitsWarning)
                file_unit = u.Unit(unit_text, parse_strict="silent")
        except ValueError:
            file_unit = None
        if file_unit is None or isinstance(file_unit, u.UnrecognizedUnit):
            # nothing to convert with: the values are used as they are, and the user is told,
            # since a unit of another scale ('ARCSEC' for theta) would make them wrong
            from . import errors

            warnings.warn(
                f"{source}: column {col!r} has the unit {unit_text!r}, which astropy does not "
                f"know; its values are taken to be in {spec.unit}",
                errors.XrbidWarning,
                stacklevel=3,
            )
            continue
        target = u.Unit(spec.unit)
        if file_unit == target:
            continue
        try:
            factor = file_unit.to(target)
        except u.UnitConversionError:
            raise ColumnError(
                f"{source}: column {col!r} is in {unit_text}, which cannot be converted to "
                f"{spec.unit}; fix the column's unit"
            ) from None
        df[col] = df[col].to_numpy(dtype=float) * factor
