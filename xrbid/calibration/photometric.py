"""Photometric calibration: zero point, colour terms, extinction and spatial terms.

The model is the textbook calibration equation (zero point, colour term, first-order
extinction) extended by the terms of a term-language specification (`xrbid.calibration.terms`):

.. math::

    m_\\mathrm{instr} - m_\\mathrm{std} = ZP + \\sum_k c_k \\, T_k(x, y, r, A, B, C, D, \\ldots)

where each :math:`T_k` is a monomial of the normalised position, the airmass, or the catalogue
colours. It is fitted by weighted linear least squares (weights 1/σ², σ² the sum of the squared
instrumental error, catalogue error and error floor) with
iterative sigma clipping on a robust (MAD) scale. Stepwise terms (``@``) are selected by
partial F-tests on the normal equations; the covariance of the final fit, scaled by its
reduced chi-square, gives the per-term uncertainties.

Positions are normalised as ``X = (x - x0) / s``, ``Y = (y - y0) / s``, ``R = sqrt(X² + Y²)``,
with ``(x0, y0)`` the centre of the stars' bounding box and ``s`` the larger half-side, unless
given explicitly (``xy_center``, ``xy_scale``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from xrbid.errors import CalibrationError, ColumnError, InputError

from .terms import Term, TermPlan, parse_terms

__all__ = [
    "PLOT_FORMATS",
    "PhotometricSolution",
    "TermFit",
    "check_plot_path",
    "choose_reference_columns",
    "fit_photometric",
    "join_reference",
    "magnitude_columns",
    "photometry_filter",
    "plot_residuals",
]

_COLOURS = "CDEF"


# --------------------------------------------------------------------------------------------
# results


@dataclass
class TermFit:
    """One row of the fit report: a coefficient of the model and how it got there.

    Attributes
    ----------
    name : str
        Parameter name: ``ZP``, a term (``PX``) or a per-image term (``PX:img``, ``ZP:img``).
    term : str
        The term without image (``ZP`` for the zero point).
    image : str or None
        The image of a per-image coefficient.
    status : {"zero point", "always", "kept", "dropped", "fixed"}
        ``kept``/``dropped`` are the stepwise decisions.
    coefficient, error : float
        Fitted value and its 1σ uncertainty. For a dropped term: the value it would take if
        added to the final model (it is not used by the model). For a fixed term: the value,
        with error 0.
    f_stat, p_value : float
        Partial F-test of the term's group against the final model: of removing it (terms in
        the model) or of adding it (dropped terms). NaN for the zero point and fixed terms.
    """

    name: str
    term: str
    image: str | None
    status: str
    coefficient: float
    error: float
    f_stat: float = math.nan
    p_value: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None)."""
        return {k: _clean(v) for k, v in self.__dict__.items()}


@dataclass
class PhotometricSolution:
    """A fitted photometric calibration.

    Attributes
    ----------
    plan : TermPlan
        The parsed and resolved term specification.
    coefficients : list of TermFit
        Report table, one row per coefficient (per image for per-image terms).
    ref_mag : str
        Catalogue column of the standard magnitude that was fitted.
    filters : tuple of str
        Catalogue columns whose differences define colours C, D, E, F.
    xy_center, xy_scale : tuple of float, float
        Normalisation of positions (``X = (x - x0)/s``).
    images : list of str
        Image identifiers of per-image coefficients (empty when nothing is per image).
    n_input, n_valid, n_used : int
        Rows given; rows with all needed values finite; rows kept by the clipping.
    rms : float
        Unweighted RMS of the residuals of the stars used (mag).
    chi2_red : float
        Reduced chi-square of the final fit (the covariance is scaled by it).
    dof : int
        Degrees of freedom of the final fit.
    criterion : str
        How stepwise terms were selected.
    alpha : float
        Significance level of the F-tests.
    clip : float
        Clipping threshold in robust standard deviations.
    """

    plan: TermPlan
    coefficients: list[TermFit]
    ref_mag: str
    filters: tuple[str, ...]
    columns: dict[str, str | None]
    xy_center: tuple[float, float]
    xy_scale: float
    images: list[str]
    zeropoint: str
    n_input: int
    n_valid: int
    n_used: int
    rms: float
    chi2_red: float
    dof: int
    criterion: str
    alpha: float
    clip: float
    used: np.ndarray = field(repr=False)
    valid: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    _free: list[_Param] = field(repr=False, default_factory=list)

    @property
    def n_clipped(self) -> int:
        """Valid stars rejected by the sigma clipping."""
        return self.n_valid - self.n_used

    @property
    def colours(self) -> dict[str, str]:
        """Colour definitions, e.g. ``{"C": "B - V"}``."""
        f = self.filters
        return {_COLOURS[i]: f"{f[i]} - {f[i + 1]}" for i in range(max(len(f) - 1, 0))}

    def __getitem__(self, name: str) -> TermFit:
        for row in self.coefficients:
            if row.name == name:
                return row
        raise KeyError(f"no coefficient {name!r}; have {[r.name for r in self.coefficients]}")

    @property
    def kept(self) -> list[str]:
        """Names of the terms in the final model (zero point and fixed terms excluded)."""
        return _unique(r.term for r in self.coefficients if r.status in ("always", "kept"))

    @property
    def dropped(self) -> list[str]:
        """Names of the stepwise terms left out of the final model."""
        return _unique(r.term for r in self.coefficients if r.status == "dropped")

    def report(self) -> pd.DataFrame:
        """The report table: term, image, status, coefficient, error, F, p."""
        return pd.DataFrame([r.__dict__ for r in self.coefficients])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of the fit."""
        return {
            "terms": self.plan.spec,
            "resolved_terms": self.plan.describe(),
            "resolution_notes": list(self.plan.notes),
            "ref_mag": self.ref_mag,
            "filters": list(self.filters),
            "colours": self.colours,
            "columns": dict(self.columns),
            "zeropoint": self.zeropoint,
            "xy_center": list(self.xy_center),
            "xy_scale": self.xy_scale,
            "images": list(self.images),
            "n_input": self.n_input,
            "n_valid": self.n_valid,
            "n_used": self.n_used,
            "n_clipped": self.n_clipped,
            "rms_mag": _clean(self.rms),
            "chi2_red": _clean(self.chi2_red),
            "dof": self.dof,
            "criterion": self.criterion,
            "alpha": self.alpha,
            "clip_sigma": self.clip,
            "kept": self.kept,
            "dropped": self.dropped,
            "coefficients": [r.to_dict() for r in self.coefficients],
            "covariance": {
                "parameters": [p.name for p in self._free],
                "matrix": self.covariance.tolist(),
            },
        }

    def model(self, table: pd.DataFrame) -> np.ndarray:
        """The fitted ``m_instr - m_std`` for each row of ``table`` (NaN where undefined)."""
        design, offset = self._design(table)
        return design @ self._beta() + offset

    def apply(self, table: pd.DataFrame) -> pd.DataFrame:
        """Calibrated magnitudes ``mag_cal = m_instr - model``, with their uncertainties.

        Parameters
        ----------
        table : pandas.DataFrame
            Stars with the columns the model needs (positions, airmass, colours, image) and the
            instrumental magnitude. It is not modified.

        Returns
        -------
        pandas.DataFrame
            A copy with ``mag_cal`` and ``mag_cal_err`` (instrumental error and model
            uncertainty in quadrature; the model part alone where there is no instrumental
            error column). Rows whose model is undefined (a colour or airmass missing, an image
            not in the fit) get NaN.
        """
        design, offset = self._design(table)
        model = design @ self._beta() + offset
        var_model = np.einsum("ij,jk,ik->i", design, self.covariance, design)
        mag = _numeric(table, self.columns["mag"])
        err_col = self.columns.get("mag_err")
        var = var_model + (_numeric(table, err_col) ** 2 if err_col else 0.0)
        out = table.copy()
        out["mag_cal"] = mag - model
        out["mag_cal_err"] = np.sqrt(var)
        return out

    # internals ------------------------------------------------------------------------------

    def _beta(self) -> np.ndarray:
        return np.array([self[p.name].coefficient for p in self._free])

    def _design(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        needed = self.plan.variables
        variables = _variables(table, needed, self.columns, self.filters, self.plan)
        xy = _normalised(variables, self.xy_center, self.xy_scale)
        codes = _image_codes(table, self.columns.get("image"), self.images)
        n = len(table)
        design = np.empty((n, len(self._free)))
        for j, p in enumerate(self._free):
            design[:, j] = p.column(xy, codes, n)
        offset = np.zeros(n)
        for t in self.plan.by_mode("fixed"):
            offset += t.value * _monomial(t.term, xy, n)
        return design, offset


@dataclass
class _Param:
    """One free parameter: a column of the design matrix."""

    name: str
    term: Term | None  # None: zero point
    image: int | None  # image code, None for global
    group: str  # parameters of one group enter and leave the model together

    def column(
        self, xy: dict[str, np.ndarray], codes: np.ndarray | None, n: int, cache: dict | None = None
    ) -> np.ndarray:
        values = np.ones(n) if self.term is None else _monomial(self.term, xy, n, cache)
        if self.image is None:
            return values
        with np.errstate(invalid="ignore"):
            return np.where(codes == self.image, values, 0.0) + np.where(codes < 0, np.nan, 0.0)


# --------------------------------------------------------------------------------------------
# inputs


def _resolve_column(df: pd.DataFrame, name: str | None) -> str | None:
    """Find ``name`` in ``df``: exactly, else by snake_case key (``B-V`` matches ``b_v``)."""
    if name is None or name in df.columns:
        return name
    key = re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")
    for col in df.columns:
        if re.sub(r"[^0-9a-z]+", "_", str(col).lower()).strip("_") == key:
            return str(col)
    return None


def _require(df: pd.DataFrame, name: str | None, why: str, source: str = "table") -> str:
    col = _resolve_column(df, name)
    if col is None:
        have = ", ".join(map(str, df.columns[:20]))
        raise ColumnError(f"{source} has no column {name!r}, needed for {why}; columns: {have}")
    return col


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    try:
        return pd.to_numeric(df[col], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {col!r} is not numeric ({exc}); fix or drop those rows") from exc


# --------------------------------------------------------------------------------------------
# choosing the catalogue columns

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
    wavelength, bluest first (``B, V, R`` gives C = B - V, D = V - R).

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


def _variables(
    df: pd.DataFrame,
    needed: set[str],
    columns: dict[str, str | None],
    filters: Sequence[str],
    plan: TermPlan,
) -> dict[str, np.ndarray]:
    """Raw variables (before position normalisation) for the terms of ``plan``."""
    out: dict[str, np.ndarray] = {}

    def users(var: str) -> str:
        names = [t.name for t in plan.terms if var in t.term.variables]
        return ", ".join(names)

    if needed & {"X", "Y", "R"}:
        why = f"the spatial terms ({users('X') or users('Y') or users('R')})"
        out["x"] = _numeric(df, _require(df, columns["x"], why))
        out["y"] = _numeric(df, _require(df, columns["y"], why))
    if needed & {"A", "B"}:
        why = f"the airmass terms ({users('A') or users('B')})"
        out["A"] = _numeric(df, _require(df, columns["airmass"], why))
    if "B" in needed:
        img = columns.get("image")
        if img is not None and img in df.columns:
            out["B"] = (
                out["A"]
                - pd.Series(out["A"]).groupby(df[img].to_numpy()).transform("mean").to_numpy()
            )
        else:
            out["B"] = out["A"] - np.nanmean(out["A"])
    for i, var in enumerate(_COLOURS):
        if var not in needed:
            continue
        if len(filters) < i + 2:
            raise CalibrationError(
                f"term {users(var)} uses colour {var} = filter {i + 1} - filter {i + 2}, but "
                f"{len(filters)} filter(s) were given ({', '.join(filters) or 'none'}); give at "
                f"least {i + 2} catalogue magnitude columns, bluest first (e.g. --filters B,V)"
            )
        why = f"colour {var} of term {users(var)}"
        a = _numeric(df, _require(df, filters[i], why))
        b = _numeric(df, _require(df, filters[i + 1], why))
        out[var] = a - b
    if "N" in needed:
        out["N"] = _numeric(df, _require(df, columns["mag"], f"term {users('N')}"))
    return out


def _normalised(
    raw: dict[str, np.ndarray], center: tuple[float, float], scale: float
) -> dict[str, np.ndarray]:
    xy = {k: v for k, v in raw.items() if k not in ("x", "y")}
    if "x" in raw:
        xy["X"] = (raw["x"] - center[0]) / scale
        xy["Y"] = (raw["y"] - center[1]) / scale
        xy["R"] = np.hypot(xy["X"], xy["Y"])
    return xy


def _monomial(
    term: Term, xy: dict[str, np.ndarray], n: int, cache: dict | None = None
) -> np.ndarray:
    cache = {} if cache is None else cache
    out = None
    for var, exp in term.powers:
        key = (var, exp)
        if key not in cache:
            cache[key] = xy[var] if exp == 1 else xy[var] * _power(xy, var, exp - 1, cache)
        out = cache[key] if out is None else out * cache[key]
    return np.ones(n) if out is None else out


def _power(xy: dict[str, np.ndarray], var: str, exp: int, cache: dict) -> np.ndarray:
    return _monomial(Term(((var, exp),)), xy, 0, cache)


def _image_codes(df: pd.DataFrame, col: str | None, images: list[str]) -> np.ndarray | None:
    if not images:
        return None
    if col is None or col not in df.columns:
        raise ColumnError(f"table has no image column {col!r}, needed for per-image terms")
    lookup = {name: i for i, name in enumerate(images)}
    codes = df[col].astype(str).map(lookup).fillna(-1).astype(int).to_numpy()
    return np.where(df[col].isna().to_numpy(), -1, codes)


# --------------------------------------------------------------------------------------------
# least squares on the normal equations


class _Degenerate(Exception):
    def __init__(self, index: int) -> None:
        self.index = index


def _solve(g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``g β = b`` for a symmetric positive-definite ``g``; return β and g⁻¹.

    Raises `_Degenerate` (with the index of the first dependent column) when the columns are
    linearly dependent to within 1e-10 after normalising the matrix to unit diagonal.
    """
    d = np.sqrt(np.diag(g))
    if np.any(d == 0) or not np.all(np.isfinite(d)):
        raise _Degenerate(int(np.flatnonzero(~(d > 0))[0]) if np.any(~(d > 0)) else 0)
    c = g / np.outer(d, d)
    try:
        chol = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise _Degenerate(_first_dependent(c)) from None
    if np.min(np.diag(chol)) ** 2 < 1e-10:
        raise _Degenerate(_first_dependent(c))
    inv_c = np.linalg.inv(c)
    inv = inv_c / np.outer(d, d)
    return inv @ b, inv


def _first_dependent(c: np.ndarray) -> int:
    for k in range(1, c.shape[0] + 1):
        if np.linalg.eigvalsh(c[:k, :k])[0] < 1e-10:
            return k - 1
    return c.shape[0] - 1


class _Normal:
    """Weighted normal equations (AᵀWA, AᵀWy, yᵀWy) of the rows in ``mask``.

    Built from the design and target already multiplied by sqrt(weight). `of` updates a
    previous system by the rows that left or joined it when they are few (clipping moves a
    few per cent of the stars), instead of summing over every row again.
    """

    def __init__(self, g: np.ndarray, b: np.ndarray, yy: float, mask: np.ndarray) -> None:
        self.g, self.b, self.yy, self.mask = g, b, yy, mask
        self.n = int(mask.sum())

    @classmethod
    def of(
        cls, a_s: np.ndarray, y_s: np.ndarray, mask: np.ndarray, previous: _Normal | None = None
    ) -> _Normal:
        if previous is not None:
            removed, added = previous.mask & ~mask, mask & ~previous.mask
            if removed.sum() + added.sum() < mask.sum() // 4:
                r, ry, ad, ay = a_s[removed], y_s[removed], a_s[added], y_s[added]
                return cls(
                    previous.g - r.T @ r + ad.T @ ad,
                    previous.b - r.T @ ry + ad.T @ ay,
                    previous.yy - float(ry @ ry) + float(ay @ ay),
                    mask.copy(),
                )
        sub, ys = a_s[mask], y_s[mask]
        return cls(sub.T @ sub, sub.T @ ys, float(ys @ ys), mask.copy())

    def chi2(self, cols: list[int]) -> float:
        if not cols:
            return self.yy
        beta, _ = _solve(self.g[np.ix_(cols, cols)], self.b[cols])
        return max(self.yy - float(self.b[cols] @ beta), 0.0)

    def f_test(self, small: list[int], big: list[int]) -> tuple[float, float]:
        """Partial F statistic and p-value of the columns in ``big`` but not ``small``."""
        chi_small, chi_big = self.chi2(small), self.chi2(big)
        k, dof = len(big) - len(small), self.n - len(big)
        if dof <= 0:
            return math.nan, math.nan
        if chi_big <= 0:
            return math.inf, 0.0
        f = max(chi_small - chi_big, 0.0) / k / (chi_big / dof)
        return f, float(stats.f.sf(f, k, dof))


# --------------------------------------------------------------------------------------------
# the fit


def fit_photometric(
    stars: pd.DataFrame,
    terms: str | TermPlan = "",
    *,
    ref_mag: str,
    filters: Sequence[str] = (),
    mag: str = "mag",
    mag_err: str | None = "mag_err",
    ref_mag_err: str | None = None,
    x: str = "x",
    y: str = "y",
    image: str | None = "image",
    airmass: str = "airmass",
    default: Literal["stepwise", "always"] = "stepwise",
    per_image_pointing: bool = False,
    zeropoint: Literal["global", "per-image"] = "global",
    alpha: float = 0.001,
    clip: float = 3.0,
    max_iter: int = 10,
    error_floor: float = 0.0,
    xy_center: tuple[float, float] | None = None,
    xy_scale: float | None = None,
) -> PhotometricSolution:
    """Fit ``m_instr - m_std`` as zero point + the terms of a term-language specification.

    Parameters
    ----------
    stars : pandas.DataFrame
        One row per measurement of a catalogue star: instrumental magnitude and error, the
        standard magnitude ``ref_mag`` (see `join_reference`), and the columns the terms need
        (``x``, ``y`` for X/Y/R; ``airmass`` for A/B; the ``filters`` for colours; ``image``
        for per-image terms). Not modified. Rows with a needed value missing are skipped.
    terms : str or TermPlan
        Term specification, e.g. ``'@.p2,&PC,#PA=0.12'`` (see `xrbid.calibration.terms`).
        Empty: zero point only. A `TermPlan` is used as it is (``default`` and
        ``per_image_pointing`` were applied when it was parsed).
    ref_mag : str
        Column of the standard (catalogue) magnitude in the filter being calibrated.
    filters : sequence of str
        Catalogue magnitude columns defining the colours, bluest first: C = filters[0] -
        filters[1] (``B - V`` for ``("B", "V")``), D = filters[1] - filters[2], ...
    mag, mag_err, ref_mag_err : str
        Instrumental magnitude, its error (None: equal weights) and the catalogue error (None:
        not used).
    x, y, image, airmass : str
        Column names of pixel position, image identifier and airmass.
    default : {"stepwise", "always"}
        Mode of unmarked terms (dophot3's ``--use-stepwise``).
    per_image_pointing : bool
        Add ``&*PX,&*PY`` (dophot3's ``-y``).
    zeropoint : {"global", "per-image"}
        One zero point, or one per image (then an airmass term is degenerate with them when
        the airmass is constant within an image).
    alpha : float
        Significance level of the stepwise F-tests: a stepwise term enters when the p-value of
        its partial F-test is below ``alpha`` and leaves when it rises above it.
    clip : float
        Clip stars whose weighted residual exceeds ``clip`` robust standard deviations
        (1.4826 × MAD); iterate up to ``max_iter`` times until the set of stars is stable.
    error_floor : float
        Added in quadrature to every star's error (mag).
    xy_center, xy_scale : optional
        Normalisation of positions; default: centre and larger half-side of the bounding box
        of the stars.

    Returns
    -------
    PhotometricSolution

    Raises
    ------
    TermSyntaxError
        If ``terms`` cannot be parsed.
    ColumnError
        If a column a term needs is missing.
    CalibrationError
        Colour terms without enough filters; too few stars for the number of parameters;
        terms that are linear combinations of others.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.uniform(0, 100, 200), "y": rng.uniform(0, 100, 200),
    ...                    "V": rng.uniform(15, 19, 200), "mag_err": 0.01})
    >>> df["mag"] = df["V"] - 25.0 + 0.05 * (df["x"] - 50) / 50 + rng.normal(0, 0.01, 200)
    >>> sol = fit_photometric(df, "@.p1", ref_mag="V", xy_center=(50, 50), xy_scale=50)
    >>> sol.kept, round(sol["ZP"].coefficient, 2), round(sol["PX"].coefficient, 2)
    (['PX'], -25.0, 0.05)
    """
    plan = (
        terms
        if isinstance(terms, TermPlan)
        else parse_terms(terms, default=default, per_image_pointing=per_image_pointing)
    )
    if zeropoint not in ("global", "per-image"):
        raise InputError(f"zeropoint must be 'global' or 'per-image', not {zeropoint!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    if clip <= 0:
        raise InputError(f"clip must be positive, got {clip}")
    n_input = len(stars)
    columns: dict[str, str | None] = {
        "mag": _require(stars, mag, "the instrumental magnitude (--mag-column)"),
        "mag_err": None if mag_err is None else _require(stars, mag_err, "the weights"),
        "ref_mag_err": None if ref_mag_err is None else _require(stars, ref_mag_err, "the weights"),
        "x": _resolve_column(stars, x) or x,
        "y": _resolve_column(stars, y) or y,
        "airmass": _resolve_column(stars, airmass) or airmass,
        "image": _resolve_column(stars, image) if image else None,
    }
    ref_col = _require(stars, ref_mag, "the standard magnitude (--ref-mag)")
    filters = tuple(_resolve_column(stars, f) or f for f in filters)

    per_image_needed = zeropoint == "per-image" or any(
        t.per_image for t in plan.terms if t.mode != "fixed"
    )
    if per_image_needed and columns["image"] is None:
        raise ColumnError(
            f"table has no image column {image!r}, needed for per-image terms "
            f"({', '.join(t.describe() for t in plan.terms if t.per_image) or 'zero points'})"
        )

    raw = _variables(stars, plan.variables, columns, filters, plan)
    m_instr = _numeric(stars, columns["mag"])
    m_std = _numeric(stars, ref_col)
    var = np.full(n_input, error_floor**2)
    for key in ("mag_err", "ref_mag_err"):
        if columns[key] is not None:
            var = var + _numeric(stars, columns[key]) ** 2
    if columns["mag_err"] is None and columns["ref_mag_err"] is None and error_floor == 0:
        var = np.ones(n_input)
    with np.errstate(invalid="ignore"):
        bad_err = np.isfinite(var) & (var <= 0)
    if bad_err.any():
        raise InputError(
            f"{int(bad_err.sum())} star(s) have zero magnitude error; fix the errors or pass "
            "an error floor (--error-floor 0.01)"
        )

    valid = np.isfinite(m_instr) & np.isfinite(m_std) & np.isfinite(var)
    for values in raw.values():
        valid &= np.isfinite(values)
    images: list[str] = []
    codes = None
    if per_image_needed:
        img = stars[columns["image"]].astype(str)
        valid &= stars[columns["image"]].notna().to_numpy()
        images = sorted(img[valid].unique())
        codes = _image_codes(stars, columns["image"], images)

    if "x" in raw and valid.any():
        xs, ys = raw["x"][valid], raw["y"][valid]
        if xy_center is None:
            xy_center = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
        if xy_scale is None:
            xy_scale = max(xs.max() - xs.min(), ys.max() - ys.min()) / 2 or 1.0
    xy_center = tuple(map(float, xy_center)) if xy_center is not None else (0.0, 0.0)
    xy_scale = float(xy_scale) if xy_scale is not None else 1.0
    xy = _normalised(raw, xy_center, xy_scale)

    # parameters: zero point(s), then each free term (one group per term)
    params: list[_Param] = []
    if zeropoint == "per-image":
        params += [_Param(f"ZP:{im}", None, i, "ZP") for i, im in enumerate(images)]
    else:
        params.append(_Param("ZP", None, None, "ZP"))
    for t in plan.terms:
        if t.mode == "fixed":
            continue
        if t.per_image:
            params += [_Param(f"{t.name}:{im}", t.term, i, t.name) for i, im in enumerate(images)]
        else:
            params.append(_Param(t.name, t.term, None, t.name))

    _check_counts(valid, codes, params, images)

    n = n_input
    fixed = np.zeros(n)
    for t in plan.by_mode("fixed"):
        fixed += t.value * _monomial(t.term, xy, n)
    target = m_instr - m_std - fixed
    design = _build_design(params, xy, codes, valid)
    offset0 = float(np.median(target[valid]))
    sw = np.where(valid, 1.0 / np.sqrt(np.where(valid, var, 1.0)), 0.0)
    a_s = design * sw[:, None]
    y_s = np.where(valid, target - offset0, 0.0) * sw

    groups = _groups(params, plan)
    base = [g for g in groups if groups[g]["mode"] in ("zero point", "always")]
    candidates = [g for g in groups if groups[g]["mode"] == "stepwise"]
    normal = _Normal.of(a_s, y_s, valid)
    _check_base(normal, params, _cols(groups, base))

    # robust start: clip with every candidate in the model, then select, then refit and repeat
    # until neither the selection nor the clipped set changes
    everything = _cols(groups, base + candidates)
    normal = _clip(a_s, y_s, valid, everything, clip, max_iter, normal)
    selected = list(base)
    for _ in range(5):
        selected = _stepwise(normal, groups, base, candidates, alpha)
        new = _clip(a_s, y_s, valid, _cols(groups, selected), clip, max_iter, normal)
        if np.array_equal(new.mask, normal.mask):
            break
        normal = new

    cols = _cols(groups, selected)
    mask = normal.mask
    n_used = normal.n
    if n_used <= len(cols):
        raise CalibrationError(
            f"only {n_used} stars survive the {clip:g}-sigma clipping for {len(cols)} free "
            f"parameters; need at least {len(cols) + 1}: add stars, drop terms or raise --clip"
        )
    beta, inv = _solve(normal.g[np.ix_(cols, cols)], normal.b[cols])
    chi2 = normal.chi2(cols)
    dof = n_used - len(cols)
    chi2_red = chi2 / dof
    cov = inv * chi2_red
    resid = (y_s[mask] - a_s[mask][:, cols] @ beta) / sw[mask]
    rms = float(np.sqrt(np.mean(resid**2)))

    coef = dict(zip(cols, beta))
    for j, p in enumerate(params):
        if p.term is None:
            coef[j] += offset0  # the zero points absorb the offset taken out of the target
    err = dict(zip(cols, np.sqrt(np.diag(cov))))
    rows = _report_rows(normal, groups, params, selected, coef, err, images)
    for t in plan.by_mode("fixed"):
        rows.append(TermFit(t.name, t.name, None, "fixed", float(t.value), 0.0))

    used = np.zeros(n, dtype=bool)
    used[mask] = True
    return PhotometricSolution(
        plan=plan,
        coefficients=rows,
        ref_mag=ref_col,
        filters=filters,
        columns=columns,
        xy_center=xy_center,
        xy_scale=xy_scale,
        images=images,
        zeropoint=zeropoint,
        n_input=n_input,
        n_valid=int(valid.sum()),
        n_used=n_used,
        rms=rms,
        chi2_red=float(chi2_red),
        dof=dof,
        criterion=f"partial F-test, alpha={alpha:g} to enter and to stay",
        alpha=alpha,
        clip=clip,
        used=used,
        valid=valid,
        covariance=cov,
        _free=[params[c] for c in cols],
    )


def _report_rows(
    normal: _Normal,
    groups: dict[str, dict[str, Any]],
    params: list[_Param],
    selected: list[str],
    coef: dict[int, float],
    err: dict[int, float],
    images: list[str],
) -> list[TermFit]:
    """One `TermFit` per free or candidate coefficient, with its F-test on the final model."""
    cols = _cols(groups, selected)
    rows: list[TermFit] = []
    for gname, info in groups.items():
        idx = info["cols"]
        if gname in selected:
            status = info["mode"] if info["mode"] != "stepwise" else "kept"
            if gname == "ZP":
                f_stat = p_value = math.nan
            else:
                reduced = [c for c in cols if c not in idx]
                f_stat, p_value = normal.f_test(reduced, cols)
            values = [(coef[c], err[c]) for c in idx]
        else:
            status = "dropped"
            bigger = cols + idx
            try:
                f_stat, p_value = normal.f_test(cols, bigger)
                b2, inv2 = _solve(normal.g[np.ix_(bigger, bigger)], normal.b[bigger])
                scale = normal.chi2(bigger) / max(normal.n - len(bigger), 1)
                values = [
                    (b2[len(cols) + k], math.sqrt(inv2[len(cols) + k, len(cols) + k] * scale))
                    for k in range(len(idx))
                ]
            except _Degenerate:
                f_stat, p_value = math.nan, math.nan
                values = [(math.nan, math.nan)] * len(idx)
        for c, (v, e) in zip(idx, values):
            p = params[c]
            rows.append(
                TermFit(
                    name=p.name,
                    term="ZP" if p.term is None else p.term.name,
                    image=None if p.image is None else images[p.image],
                    status=status,
                    coefficient=float(v),
                    error=float(e),
                    f_stat=float(f_stat),
                    p_value=float(p_value),
                )
            )
    return rows


def _build_design(
    params: list[_Param], xy: dict[str, np.ndarray], codes: np.ndarray | None, valid: np.ndarray
) -> np.ndarray:
    n = valid.size
    design = np.empty((n, len(params)))
    cache: dict = {}
    for j, p in enumerate(params):
        design[:, j] = p.column(xy, codes, n, cache)
    design[~valid] = 0.0
    return design


def _groups(params: list[_Param], plan: TermPlan) -> dict[str, dict[str, Any]]:
    modes = {t.name: t.mode for t in plan.terms}
    groups: dict[str, dict[str, Any]] = {}
    for j, p in enumerate(params):
        mode = "zero point" if p.term is None else modes[p.group]
        groups.setdefault(p.group, {"mode": mode, "cols": []})["cols"].append(j)
    return groups


def _cols(groups: dict[str, dict[str, Any]], names: Sequence[str]) -> list[int]:
    return [c for g in groups if g in names for c in groups[g]["cols"]]


def _names(params: list[_Param], cols: Sequence[int], limit: int = 8) -> str:
    names = [params[c].name for c in cols]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _check_counts(
    valid: np.ndarray, codes: np.ndarray | None, params: list[_Param], images: list[str]
) -> None:
    n_valid, n_par = int(valid.sum()), len(params)
    if n_valid < n_par + 1:
        raise CalibrationError(
            f"{n_valid} usable stars (all needed values present) for {n_par} free parameters "
            f"({_names(params, range(n_par))}); need at least {n_par + 1}: add stars or drop terms"
        )
    if codes is None:
        return
    counts = np.bincount(codes[valid], minlength=len(images))
    for i, name in enumerate(images):
        per = [j for j, p in enumerate(params) if p.image == i]
        if counts[i] < len(per):
            raise CalibrationError(
                f"image {name!r} has {counts[i]} usable stars for {len(per)} per-image "
                f"parameters ({_names(params, per)}); need at least {len(per)}: drop that "
                "image or its per-image terms"
            )


def _check_base(normal: _Normal, params: list[_Param], cols: list[int]) -> None:
    try:
        _solve(normal.g[np.ix_(cols, cols)], normal.b[cols])
    except _Degenerate as exc:
        bad = params[cols[exc.index]].name
        raise CalibrationError(
            f"{bad} cannot be told apart from {_names(params, cols[: exc.index])} on these stars "
            "(a linear combination of them, e.g. airmass constant within each image with "
            "per-image zero points, or P2R with P2X and P2Y): drop one of them"
        ) from None


def _fit_cols(normal: _Normal, cols: list[int]) -> np.ndarray:
    g, b = normal.g[np.ix_(cols, cols)], normal.b[cols]
    try:
        return _solve(g, b)[0]
    except _Degenerate:  # only while clipping with every candidate in: minimum-norm solution
        return np.linalg.lstsq(g, b, rcond=None)[0]


def _clip(
    a_s: np.ndarray,
    y_s: np.ndarray,
    valid: np.ndarray,
    cols: list[int],
    clip: float,
    max_iter: int,
    normal: _Normal,
) -> _Normal:
    """Iterative sigma clipping of the weighted residuals on a robust (MAD) scale.

    Starts from the rows of ``normal``; every valid row is tested again at each iteration, so
    a star clipped early can come back. Returns the normal equations of the final rows.
    """
    for _ in range(max_iter):
        beta = _fit_cols(normal, cols)
        z = y_s - a_s[:, cols] @ beta
        inside = z[normal.mask]
        centre = np.median(inside)
        scale = 1.4826 * np.median(np.abs(inside - centre))
        if not scale > 0:
            break
        new = valid & (np.abs(z - centre) <= clip * scale)
        if new.sum() <= len(cols) or np.array_equal(new, normal.mask):
            break
        normal = _Normal.of(a_s, y_s, new, normal)
    return normal


def _stepwise(
    normal: _Normal,
    groups: dict[str, dict[str, Any]],
    base: list[str],
    candidates: list[str],
    alpha: float,
) -> list[str]:
    """Forward-backward selection of candidate groups by partial F-tests."""
    current = list(base)
    seen = {frozenset(current)}
    for _ in range(4 * len(candidates) + 4):
        changed = False
        best = None
        for g in candidates:
            if g in current:
                continue
            try:
                f, p = normal.f_test(_cols(groups, current), _cols(groups, [*current, g]))
            except _Degenerate:
                continue
            if not math.isnan(p) and (best is None or (p, -f) < (best[1], -best[0])):
                best = (f, p, g)
        if best is not None and best[1] < alpha:
            current.append(best[2])
            changed = True
        worst = None
        for g in current:
            if g not in candidates:
                continue
            rest = [c for c in current if c != g]
            f, p = normal.f_test(_cols(groups, rest), _cols(groups, current))
            if worst is None or (p, -f) > (worst[1], -worst[0]):
                worst = (f, p, g)
        if worst is not None and worst[1] > alpha:
            current.remove(worst[2])
            changed = True
        state = frozenset(current)
        if not changed or state in seen:
            break
        seen.add(state)
    return [g for g in groups if g in current]


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------------------------
# residual plot


def plot_residuals(
    solution: PhotometricSolution,
    stars: pd.DataFrame,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> None:
    """Plot the fit residuals against standard magnitude, colour, x and y (PNG, atomic).

    Parameters
    ----------
    solution : PhotometricSolution
        The fit.
    stars : pandas.DataFrame
        The table that was fitted (same rows).
    path : str or path-like
        Output image; the format follows the extension (``.png``, ``.pdf``, ``.svg``).
    overwrite : bool
        Replace ``path`` if it exists.

    Examples
    --------
    >>> plot_residuals(sol, joined, "residuals.png")  # doctest: +SKIP
    """
    fmt = check_plot_path(path)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from xrbid._io import atomic_output

    cols = solution.columns
    observed = _numeric(stars, cols["mag"]) - _numeric(stars, solution.ref_mag)
    resid = observed - solution.model(stars)
    used, valid = solution.used, solution.valid
    clipped = valid & ~used
    panels: list[tuple[str, np.ndarray]] = [
        (f"standard magnitude {solution.ref_mag}", _numeric(stars, solution.ref_mag))
    ]
    f = solution.filters
    if len(f) >= 2 and all(c in stars.columns for c in f[:2]):
        colour = _numeric(stars, f[0]) - _numeric(stars, f[1])
        panels.append((f"colour C = {f[0]} - {f[1]}", colour))
    elif cols["airmass"] in stars.columns:
        panels.append(("airmass", _numeric(stars, cols["airmass"])))
    for axis in ("x", "y"):
        if cols[axis] in stars.columns:
            panels.append((f"{axis} (pixel)", _numeric(stars, cols[axis])))

    rows = (len(panels) + 1) // 2
    fig = Figure(figsize=(9, 3.5 * rows + 0.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(rows, 2)).ravel()
    size = 2 if used.sum() > 500 else 4
    low, high = _ylim(resid[used])
    # clipped stars beyond the axis are drawn on its edge as triangles pointing outwards
    shown = np.clip(resid, low, high)
    inside, above, below = (
        clipped & (resid > low) & (resid < high),
        clipped & (resid >= high),
        clipped & (resid <= low),
    )
    for ax, (label, values) in zip(axes, panels):
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.plot(values[used], resid[used], ".", ms=size, color="k", alpha=0.5, label="used")
        for sel, marker in ((inside, "x"), (above, "^"), (below, "v")):
            if sel.any():
                ax.plot(
                    values[sel], shown[sel], marker, ms=size + 1, color="tab:red", label="clipped"
                )
        ax.set_xlabel(label)
        ax.set_ylabel("observed - model (mag)")
        ax.set_ylim(low * 1.04, high * 1.04)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes[0].legend(unique.values(), unique.keys(), loc="upper right", fontsize="small")
    fixed = [f"{t.name}={t.value:g}" for t in solution.plan.by_mode("fixed")]
    fig.suptitle(
        f"terms: ZP{''.join(',' + t for t in solution.kept)}"
        f"{'; fixed ' + ','.join(fixed) if fixed else ''} | {solution.n_used} stars, "
        f"rms {solution.rms:.4f} mag, {solution.n_clipped} clipped"
    )
    with atomic_output(path, overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110)


PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")
"""File formats of the residual plot (by extension)."""


def check_plot_path(path: str | os.PathLike) -> str:
    """Return the plot format of ``path`` from its extension; `InputError` if unsupported."""
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower()
    if fmt not in PLOT_FORMATS:
        raise InputError(
            f"{path}: cannot draw a plot in format {fmt or '(no extension)'!r}; "
            f"end the name with one of .{', .'.join(PLOT_FORMATS)}"
        )
    return fmt


def _ylim(resid: np.ndarray) -> tuple[float, float]:
    if resid.size == 0:
        return -1.0, 1.0
    half = max(6 * 1.4826 * float(np.median(np.abs(resid - np.median(resid)))), 0.02)
    return -half, half
