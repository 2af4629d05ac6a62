"""Reference-catalogue bands: which catalogue columns are magnitudes, which band a filter is.

Chooses the standard-magnitude column and the colour filters of a photometric calibration
(`choose_reference_columns`) and attaches catalogue columns to stars by position
(`join_reference`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xrbid.errors import CalibrationError, ColumnError

from ._design import _COLOURS, _numeric, _require, _resolve_column
from .terms import TermPlan, parse_terms  # noqa: F401  (parse_terms: used in the examples)

__all__ = [
    "choose_reference_columns",
    "join_reference",
    "magnitude_columns",
    "photometry_filter",
]

# Effective wavelengths (nm) of the standard bands a reference catalogue names its magnitude
# columns after: Johnson-Cousins (Bessell 2005, ARA&A 43, 293), SDSS (Fukugita et al. 1996),
# 2MASS and Gaia (G, BP, RP). Only their order matters here (bluest first for the colours).
_BAND_NM = {
    "U": 366, "B": 438, "V": 545, "R": 641, "I": 798,
    "u": 355, "g": 469, "r": 617, "i": 748, "z": 893,
    "J": 1235, "H": 1662, "K": 2159, "Ks": 2159,
    "BP": 511, "G": 622, "RP": 777,
}  # fmt: skip
# The standard band an HST filter is conventionally calibrated onto (Holtzman et al. 1995,
# PASP 107, 1065; Sirianni et al. 2005, PASP 117, 1049).
_HST_STANDARD = {
    "F336W": "U", "F435W": "B", "F439W": "B", "F450W": "B", "F475W": "g", "F555W": "V",
    "F547M": "V", "F550M": "V", "F606W": "V", "F625W": "r", "F675W": "R", "F702W": "R",
    "F775W": "i", "F791W": "I", "F814W": "I", "F850LP": "z",
}  # fmt: skip
_HST_RE = re.compile(r"F(\d{3})(W|M|N|LP|X)$", re.IGNORECASE)
_MAG_AFFIX = re.compile(r"^(?:mag[_-]?)|(?:[_-]?mag)$", re.IGNORECASE)
_ERROR_NAME = re.compile(r"(^e_|^err|err$|_err_|error|sigma|_unc$|^unc_)", re.IGNORECASE)


def _band(column: str) -> str:
    """The band a magnitude column is named after: ``Vmag``, ``mag_V``, ``V_mag`` -> ``V``."""
    return _MAG_AFFIX.sub("", str(column)) or str(column)


def _band_nm(band: str) -> float | None:
    """Effective wavelength (nm) of ``band``, or None if it is not a recognised band."""
    if band in _BAND_NM:
        return float(_BAND_NM[band])
    if band.upper() in _BAND_NM and band.lower() not in _BAND_NM:  # 'v' is V; 'r' is SDSS r
        return float(_BAND_NM[band.upper()])
    hst = _HST_RE.match(band)
    if hst and int(hst.group(1)) >= 200:  # F1xx are near-IR (x10 nm) or far-UV: ambiguous
        return float(hst.group(1))
    return None


def magnitude_columns(reference: pd.DataFrame) -> list[str]:
    """Columns of a reference catalogue that hold magnitudes.

    A column counts when it is numeric, is not an error column (``e_V``, ``V_err``,
    ``Vmag_sigma``, ...), and its name is a recognised band (``V``, ``g``, ``Ks``, ``F555W``,
    ...), optionally with a ``mag`` prefix or suffix (``Vmag``, ``mag_V``), or contains
    ``mag``.

    Parameters
    ----------
    reference : pandas.DataFrame
        Reference catalogue.

    Returns
    -------
    list of str
        The magnitude columns, in table order.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"ra": [1.0], "dec": [2.0], "Vmag": [17.0], "e_Vmag": [0.01]})
    >>> magnitude_columns(ref)
    ['Vmag']
    """
    out = []
    for col in map(str, reference.columns):
        if _ERROR_NAME.search(col) or not pd.api.types.is_numeric_dtype(reference[col]):
            continue
        if _band_nm(_band(col)) is not None or "mag" in col.lower():
            out.append(col)
    return out


def photometry_filter(stars: pd.DataFrame) -> str | None:
    """The filter a photometry table says it was measured in, if it says so.

    Looks at ``stars.attrs["filter"]`` (set by `xrbid.photometry`) and at a ``filter``
    column holding a single value.

    Parameters
    ----------
    stars : pandas.DataFrame
        Photometry table.

    Returns
    -------
    str or None
        The filter name, or None when the table names none (or several).

    Examples
    --------
    >>> import pandas as pd
    >>> photometry_filter(pd.DataFrame({"mag": [1.0, 2.0], "filter": ["F555W", "F555W"]}))
    'F555W'
    """
    if stars.attrs.get("filter"):
        return str(stars.attrs["filter"])
    col = _resolve_column(stars, "filter")
    if col is not None:
        values = pd.unique(stars[col].dropna().astype(str).str.strip())
        if len(values) == 1 and values[0]:
            return str(values[0])
    return None


def _match_band(candidates: Sequence[str], wanted: str) -> list[str]:
    """Candidates named after band ``wanted``: exact name first, then case-insensitive."""
    exact = [c for c in candidates if _band(c) == wanted]
    if exact or wanted.lower() in _BAND_NM:
        return exact  # 'r' (SDSS) must not match 'R' (Cousins)
    return [c for c in candidates if _band(c).lower() == wanted.lower()]


def choose_reference_columns(
    stars: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    ref_mag: str | None = None,
    filter_name: str | None = None,
    filters: Sequence[str] = (),
    plan: TermPlan | None = None,
) -> tuple[str, tuple[str, ...], list[str]]:
    """Choose the standard-magnitude column and the colour filters when they are not given.

    The standard magnitude is, in this order: ``ref_mag``; the catalogue magnitude column
    named after the photometry's filter (``filter_name``, else `photometry_filter`), directly
    (``F555W``) or through the standard band that HST filter is calibrated onto (F555W -> V);
    the catalogue's only magnitude column. The colour filters, when the terms of ``plan`` use
    colours and ``filters`` is empty, are all the catalogue's magnitude columns ordered by
    wavelength, bluest first (``B, V, R`` gives C = V - B, D = R - V in dophot3's convention).

    Parameters
    ----------
    stars : pandas.DataFrame
        Photometry table.
    reference : pandas.DataFrame
        Reference catalogue.
    ref_mag : str, optional
        Standard-magnitude column given by the user (kept as is).
    filter_name : str, optional
        Filter of the photometry given by the user (e.g. ``F555W`` or ``V``).
    filters : sequence of str
        Colour filters given by the user (kept as is).
    plan : TermPlan, optional
        The terms to fit; its colour terms (C, D, ...) say how many filters are needed.

    Returns
    -------
    ref_mag : str
        The standard-magnitude column.
    filters : tuple of str
        The colour filters.
    notes : list of str
        How each derived choice was made (empty when nothing was derived).

    Raises
    ------
    CalibrationError
        When a choice cannot be derived: the message names the option to add and the
        candidate columns.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"ra": [1.0], "dec": [2.0], "B": [17.5], "V": [17.0]})
    >>> stars = pd.DataFrame({"ra": [1.0], "dec": [2.0], "mag": [-8.0], "filter": ["F555W"]})
    >>> choose_reference_columns(stars, ref, plan=parse_terms("&PC"))[:2]
    ('V', ('B', 'V'))
    """
    used = plan.variables if plan is not None else set()
    n_colours = max((i + 1 for i, v in enumerate(_COLOURS) if v in used), default=0)
    candidates = magnitude_columns(reference)
    listed = ", ".join(candidates) or "none found"
    notes: list[str] = []
    if ref_mag is None:
        named = filter_name or photometry_filter(stars)
        if named is not None:
            hits = _match_band(candidates, named)
            via = named
            if not hits and named.upper() in _HST_STANDARD:
                via = _HST_STANDARD[named.upper()]
                hits = _match_band(candidates, via)
            if len(hits) != 1:
                raise CalibrationError(
                    f"the photometry is in filter {named} but the reference catalogue has "
                    f"{'several' if hits else 'no'} magnitude column(s) for "
                    f"{named if via == named else f'{named} ({via})'}: add --ref-mag COLUMN "
                    f"(candidates: {listed})"
                )
            ref_mag = hits[0]
            notes.append(f"--ref-mag {ref_mag} from filter {named}")
        elif len(candidates) == 1:
            ref_mag = candidates[0]
            notes.append(f"--ref-mag {ref_mag}, the catalogue's only magnitude column")
        else:
            raise CalibrationError(
                "cannot tell which reference column is the standard magnitude (the photometry "
                "table names no filter): add --ref-mag COLUMN or --filter NAME "
                f"(candidates: {listed})"
            )
    filters = tuple(filters)
    if n_colours and not filters:
        nm = {c: _band_nm(_band(c)) for c in candidates}
        unknown = [c for c, w in nm.items() if w is None]
        if unknown or len(candidates) < n_colours + 1:
            raise CalibrationError(
                f"the terms use {n_colours} colour(s), which need {n_colours + 1} catalogue "
                "magnitude columns in wavelength order: add --filters F1,F2,... bluest first "
                f"(candidates: {listed})"
            )
        filters = tuple(sorted(candidates, key=lambda c: nm[c]))
        notes.append(f"--filters {','.join(filters)} from the catalogue, bluest first")
    return ref_mag, filters, notes


def join_reference(
    stars: pd.DataFrame,
    reference: pd.DataFrame,
    columns: Sequence[str],
    *,
    max_sep: float = 1.0,
    image: str | None = None,
) -> pd.DataFrame:
    """Attach reference-catalogue columns to each star by nearest position.

    Parameters
    ----------
    stars : pandas.DataFrame
        Photometry with ``ra``, ``dec`` (deg). Not modified.
    reference : pandas.DataFrame
        Reference catalogue with ``ra``, ``dec`` and the ``columns`` to copy. Not modified.
    columns : sequence of str
        Catalogue columns to copy (standard magnitudes, their errors, filters for colours).
    max_sep : float
        Largest separation of a match, arcsec.
    image : str, optional
        Image column of ``stars``. When given, a catalogue star matched by several stars of the
        same image keeps only the nearest one (the others get no match).

    Returns
    -------
    pandas.DataFrame
        A copy of ``stars`` with the copied columns (NaN where unmatched), ``ref_index`` (row of
        the catalogue, -1 if none) and ``ref_sep`` (arcsec).

    Raises
    ------
    CalibrationError
        If no star lies within ``max_sep`` of a catalogue star.
    ColumnError
        If a column is missing, or a copied column already exists in ``stars``.

    Examples
    --------
    >>> import pandas as pd
    >>> stars = pd.DataFrame({"ra": [10.0, 10.1], "dec": [20.0, 20.0], "mag": [-8.0, -7.0]})
    >>> ref = pd.DataFrame({"ra": [10.0], "dec": [20.00005], "V": [17.2]})
    >>> join_reference(stars, ref, ["V"])["V"].tolist()
    [17.2, nan]
    """
    from xrbid.sky import match_nearest

    for col in ("ra", "dec"):
        _require(stars, col, "matching stars to the catalogue", "photometry table")
        _require(reference, col, "matching stars to the catalogue", "reference catalogue")
    src = [_require(reference, c, "the calibration", "reference catalogue") for c in columns]
    clash = [c for c in src if c in stars.columns]
    if clash:
        raise ColumnError(
            f"photometry table already has column {clash[0]!r} that would be copied from the "
            "catalogue; rename it, or pass the table without --ref if it is already joined"
        )
    idx, sep = match_nearest(
        _numeric(stars, "ra"),
        _numeric(stars, "dec"),
        _numeric(reference, "ra"),
        _numeric(reference, "dec"),
        max_sep,
    )
    if image is not None and (idx >= 0).any():
        key = pd.DataFrame({"img": stars[image].to_numpy(), "ref": idx, "sep": sep})
        key = key[key["ref"] >= 0].sort_values("sep", kind="stable")
        dup = key.index[key.duplicated(["img", "ref"], keep="first")]
        idx[dup] = -1
        sep[dup] = np.nan
    if not (idx >= 0).any():
        raise CalibrationError(
            f"no star of the photometry table lies within {max_sep:g} arcsec of a catalogue "
            "star: check that the table and the catalogue cover the same field (and their "
            "astrometry), or raise --max-sep"
        )
    out = stars.copy()
    found = idx >= 0
    for col in src:
        values = np.full(len(out), np.nan)
        values[found] = _numeric(reference, col)[idx[found]]
        out[col] = values
    out["ref_index"] = idx
    out["ref_sep"] = sep
    return out
