"""Tables for papers: the best observations and the candidates as AASTeX, LaTeX or MRT.

Positions are sexagesimal to 0.01 s in RA and 0.1 arcsec in Dec, radii and separations to
0.01 arcsec, magnitudes and their errors to 0.01 mag. The writers are astropy's
(`astropy.io.ascii`): ``aastex`` (a ``deluxetable``), ``latex`` (a ``tabular``) and ``mrt``
(the machine-readable table the AAS journals ask for, with its byte-by-byte description).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.coordinates import Angle
from astropy.table import Column, MaskedColumn, Table

from ._io import atomic_output, check_output
from .errors import ColumnError, InputError
from .schema import require_columns

__all__ = ["PAPER_FORMATS", "paper_table", "table_kind", "write_paper_table"]

PAPER_FORMATS = ("aastex", "latex", "mrt")
"""Output formats (astropy.io.ascii writer names)."""

RA_DECIMALS = 2
"""Decimals of the RA seconds (0.01 s)."""
DEC_DECIMALS = 1
"""Decimals of the Dec arcseconds (0.1 arcsec)."""
RADIUS_FORMAT = "%.2f"
MAG_FORMAT = "%.2f"


def table_kind(df: pd.DataFrame) -> str:
    """``"candidates"`` for a counterpart table (``rank``), ``"best"`` for X-ray sources."""
    if "rank" in df.columns:
        return "candidates"
    if "pu_2sigma" in df.columns or "counts" in df.columns:
        return "best"
    raise ColumnError(
        "cannot tell what the table holds: give the best observations (`xrbid best`, with "
        "pu_2sigma) or the candidates (`xrbid counterparts`, with rank)"
    )


def _numbers(df: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(df[column], errors="coerce").to_numpy(float)


def _sexagesimal(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rounded ``hh:mm:ss.ss`` and ``±dd:mm:ss.s`` (rounding carries into minutes/hours)."""
    good = np.isfinite(ra) & np.isfinite(dec)
    ra_text = np.full(ra.shape, "", dtype=object)
    dec_text = np.full(dec.shape, "", dtype=object)
    if good.any():
        # round in seconds first so that 23:59:59.999 becomes 00:00:00.00, not 24:00:00.00
        scale = 10**RA_DECIMALS
        seconds = np.round(ra[good] / 15.0 * 3600.0 * scale) % (86400 * scale) / scale
        ra_text[good] = Angle(seconds * 15.0 / 3600.0, u.deg).to_string(
            unit=u.hourangle, sep=":", precision=RA_DECIMALS, pad=True
        )
        dec_text[good] = Angle(dec[good], u.deg).to_string(
            unit=u.deg, sep=":", precision=DEC_DECIMALS, pad=True, alwayssign=True
        )
    return ra_text, dec_text


def _position_columns(df: pd.DataFrame, fmt: str, ra_col: str, dec_col: str) -> list[Column]:
    ra, dec = _sexagesimal(_numbers(df, ra_col), _numbers(df, dec_col))
    if fmt != "mrt":
        return [
            Column(ra.astype(str), name="R.A. (J2000)", description="Right ascension"),
            Column(dec.astype(str), name="Decl. (J2000)", description="Declination"),
        ]
    # MRT: the AAS split columns RAh RAm RAs DE- DEd DEm DEs, from the rounded text so that
    # rounding carries (59.996 s -> next minute)
    if not np.any(ra != ""):  # no finite position at all
        raise InputError("no row has a finite position; check the ra/dec columns")
    return [
        *_split_sexagesimal(ra, _MRT_RA, RA_DECIMALS, signed=False),
        *_split_sexagesimal(dec, _MRT_DEC, DEC_DECIMALS, signed=True),
    ]


# name, unit and description of the three MRT columns of each coordinate
_MRT_RA = (
    ("RAh", u.h, "Hour of right ascension (J2000)"),
    ("RAm", u.min, "Minute of right ascension (J2000)"),
    ("RAs", u.s, "Second of right ascension (J2000)"),
)
_MRT_DEC = (
    ("DEd", u.deg, "Degree of declination (J2000)"),
    ("DEm", u.arcmin, "Arcminute of declination (J2000)"),
    ("DEs", u.arcsec, "Arcsecond of declination (J2000)"),
)


def _split_sexagesimal(
    text: np.ndarray, columns: tuple, decimals: int, *, signed: bool
) -> list[Column]:
    """The three MRT columns of one sexagesimal coordinate (``hh:mm:ss.ss`` / ``±dd:mm:ss.s``).

    Parameters
    ----------
    text : numpy.ndarray of str
        The rounded sexagesimal text of every row; ``""`` where the position is unknown,
        which is masked (blank) in the three columns.
    columns : tuple of (name, unit, description)
        The whole (hours or degrees), minutes and seconds columns.
    decimals : int
        Decimals of the seconds.
    signed : bool
        Keep the whole part as signed text (``"-00"`` keeps the sign of -0.5 deg; the MRT
        writer splits it into ``DE-`` and ``DEd``) instead of a two-digit integer.
    """
    missing = np.asarray(text == "", dtype=bool)  # no finite position: blank in the table
    parts = pd.Series(np.where(missing, "0:0:0", text)).str.split(":", expand=True)
    whole = parts[0].to_numpy(dtype=str) if signed else pd.to_numeric(parts[0]).to_numpy(int)
    values = (whole, pd.to_numeric(parts[1]).to_numpy(int), pd.to_numeric(parts[2]).to_numpy(float))
    formats = (None if signed else "%02d", "%02d", f"%0{3 + decimals}.{decimals}f")
    # masked only where needed: the MRT marks a masked column as one that may be blank ("?")
    masked = {"mask": missing} if missing.any() else {}
    kind = MaskedColumn if masked else Column
    return [
        kind(v, name, unit=unit, format=fmt, description=description, **masked)
        for v, (name, unit, description), fmt in zip(values, columns, formats)
    ]


def _label(fmt: str, tex: str, plain: str) -> str:
    return plain if fmt == "mrt" else tex


def _float(
    df: pd.DataFrame, column: str, name: str, unit: Any, fmt_str: str, description: str
) -> Column:
    values = _numbers(df, column)
    return MaskedColumn(
        values,
        mask=~np.isfinite(values),
        name=name,
        unit=unit,
        format=fmt_str,
        description=description,
    )


def _name_column(df: pd.DataFrame, fmt: str) -> Column:
    return Column(
        df["source_id"].to_numpy(dtype=str),
        name=_label(fmt, "Source", "Name"),
        description="X-ray source name",
    )


def _best_columns(df: pd.DataFrame, fmt: str) -> list[Column]:
    require_columns(
        df,
        ["source_id", "ra", "dec", "pu_1sigma", "pu_2sigma"],
        what="a paper table of the best observations",
        source="the source table",
        hint="give the output of `xrbid best`",
    )
    cols = [_name_column(df, fmt), *_position_columns(df, fmt, "ra", "dec")]
    if "obsid" in df.columns:
        obsid = pd.to_numeric(df["obsid"], errors="coerce")
        cols.append(
            MaskedColumn(
                obsid.fillna(-1).to_numpy(int),
                mask=obsid.isna().to_numpy(),
                name="ObsID",
                description="Chandra observation of the best position",
            )
        )
    if "theta" in df.columns:
        cols.append(
            _float(
                df, "theta", _label(fmt, r"$\theta$", "theta"), u.arcmin, "%.2f", "Off-axis angle"
            )
        )
    if "counts" in df.columns:
        cols.append(
            _float(
                df,
                "counts",
                _label(fmt, "Counts", "Counts"),
                u.ct,
                "%.1f",
                "Net source counts (broad band)",
            )
        )
    cols += [
        _float(
            df,
            "pu_1sigma",
            _label(fmt, r"$r_{1\sigma}$", "r1sig"),
            u.arcsec,
            RADIUS_FORMAT,
            "1-sigma positional-uncertainty radius",
        ),
        _float(
            df,
            "pu_2sigma",
            _label(fmt, r"$r_{2\sigma}$", "r2sig"),
            u.arcsec,
            RADIUS_FORMAT,
            "2-sigma positional-uncertainty radius",
        ),
    ]
    return cols


def _filters(df: pd.DataFrame) -> list[str]:
    recorded = df.attrs.get("filters") if isinstance(df.attrs, dict) else None
    if recorded:
        return [str(f).upper() for f in recorded if f"{str(f).lower()}_mag" in df.columns]
    return [
        c[: -len("_mag")].upper()
        for c in df.columns
        if c.endswith("_mag") and not c.endswith("_abs_mag") and "_" not in c[: -len("_mag")]
    ]


def _candidate_columns(df: pd.DataFrame, fmt: str) -> list[Column]:
    require_columns(
        df,
        ["source_id", "rank", "ra", "dec"],
        what="a paper table of the candidates",
        source="the candidate table",
        hint="give the output of `xrbid counterparts` or `xrbid phot counterparts`",
    )
    cols = [
        _name_column(df, fmt),
        Column(
            pd.to_numeric(df["rank"]).to_numpy(int),
            name=_label(fmt, "No.", "Cand"),
            description="Candidate number (1 = nearest the X-ray position)",
        ),
        *_position_columns(df, fmt, "ra", "dec"),
    ]
    if "separation" in df.columns:
        cols.append(
            _float(
                df,
                "separation",
                _label(fmt, "Sep.", "Sep"),
                u.arcsec,
                RADIUS_FORMAT,
                "Distance from the X-ray position",
            )
        )
    system = _system(df)
    for f in _filters(df):
        key = f.lower()
        cols.append(
            _float(
                df,
                f"{key}_mag",
                f,
                u.mag,
                MAG_FORMAT,
                f"{f} magnitude{f' ({system})' if system else ''}",
            )
        )
        if f"{key}_mag_err" in df.columns:
            cols.append(
                _float(
                    df,
                    f"{key}_mag_err",
                    _label(fmt, f"$\\sigma_{{{f}}}$", f"e_{f}"),
                    u.mag,
                    MAG_FORMAT,
                    f"Uncertainty of the {f} magnitude",
                )
            )
    return cols


def _system(df: pd.DataFrame) -> str:
    info = df.attrs.get("photometry", {}) if isinstance(df.attrs, dict) else {}
    systems = {str(v.get("system", "")) for v in info.values() if isinstance(v, dict)} - {""}
    names = {"vega": "Vega", "ab": "AB", "st": "ST"}
    return names.get(systems.pop().lower(), "") if len(systems) == 1 else ""


def paper_table(df: pd.DataFrame, fmt: str = "aastex", kind: str | None = None) -> Table:
    """The columns of a paper table, with units, descriptions and output formats.

    Parameters
    ----------
    df : pandas.DataFrame
        The best observations (`xrbid.selection.best_observations`: ``source_id``, ``ra``,
        ``dec``, ``pu_1sigma``, ``pu_2sigma``; ``obsid``, ``theta``, ``counts`` when present)
        or the candidates (`xrbid.selection.find_counterparts`, with magnitudes from
        `xrbid.photometry.photometer_counterparts` when present).
    fmt : {"aastex", "latex", "mrt"}
        The target: LaTeX headers (``$r_{1\\sigma}$``) and one sexagesimal column per
        coordinate for ``aastex``/``latex``; plain labels and the split ``RAh RAm RAs DE-
        DEd DEm DEs`` columns for ``mrt``.
    kind : {"best", "candidates"}, optional
        What ``df`` holds (default: ``"candidates"`` when it has ``rank``, else ``"best"``).

    Returns
    -------
    astropy.table.Table

    Raises
    ------
    ColumnError
        If a needed column is missing.
    InputError
        If ``fmt`` or ``kind`` is unknown.
    """
    if fmt not in PAPER_FORMATS:
        raise InputError(f"unknown table format {fmt!r}; use one of {', '.join(PAPER_FORMATS)}")
    kind = kind or table_kind(df)
    if kind == "best":
        cols = _best_columns(df, fmt)
    elif kind == "candidates":
        cols = _candidate_columns(df, fmt)
    else:
        raise InputError(f"unknown table kind {kind!r}; use best or candidates")
    return Table(cols)


def write_paper_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    fmt: str = "aastex",
    kind: str | None = None,
    caption: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a paper table with astropy's ``aastex``, ``latex`` or ``mrt`` writer, atomically.

    Parameters
    ----------
    df, fmt, kind
        See `paper_table`.
    path : str or path-like
        Output file (e.g. ``table1.tex``, or ``table1.txt`` for an MRT).
    caption : str, optional
        Table caption (``aastex``/``latex``) or title (``mrt``).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ColumnError, InputError
        See `paper_table`.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> write_paper_table(best, "table1.tex", fmt="aastex", caption="X-ray sources")
    ... # doctest: +SKIP
    """
    check_output(path, overwrite)
    table = paper_table(df, fmt, kind)
    kwargs: dict[str, Any] = {"format": f"ascii.{fmt}"}
    if caption and fmt != "mrt":
        kwargs["caption"] = caption
    if fmt == "mrt" and caption:
        table.meta["title"] = caption
    if fmt != "mrt":
        kwargs["formats"] = {c.name: c.format for c in table.itercols() if c.format}
    with atomic_output(path, overwrite) as tmp:
        table.write(tmp, overwrite=True, **kwargs)
    return Path(path)
