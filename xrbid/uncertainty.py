"""X-ray positional uncertainty radii: Kim et al. 2007 combined with the alignment scatter.

Kim et al. 2007 (ApJS 169, 401) fit the Chandra positional error as a function of the
off-axis angle θ (arcmin) and the source counts (their eqs. 12 and 14, with C = log10 counts):

* 95% radius: log10 r = 0.1145 θ - 0.4958 C + 0.1932 for 0 < C <= 2.1393,
  and 0.0968 θ - 0.2064 C - 0.4260 for 2.1393 < C <= 3.3;
* 68% radius: log10 r = 0.1137 θ - 0.4600 C - 0.2398 for 0 < C <= 2.1227,
  and 0.1031 θ - 0.1945 C - 0.8034 for 2.1227 < C <= 3.3.

The scatter of the astrometric alignment, s = sqrt(σx² + σy²), is added in quadrature:
1σ = sqrt(r68² + s²) and 2σ = sqrt(r95² + (2 s)²).

Each row records the rule it used in ``pu_method``:

``kim07``
    the equations, as published;
``kim07_clamped``
    finite counts above 10**3.3 (C > 3.3, beyond the fit's bright end): evaluated at C = 3.3;
``ellipse``
    no usable θ or counts (NaN, ±inf, counts <= 1): the CSC 95% error-ellipse major radius
    ``err_r0`` is the 2σ X-ray term and ``err_r0 / 2`` the 1σ term;
``zero``
    no usable θ or counts and a zero X-ray term (the XRBID guide's behaviour, ``fallback="zero"``):
    the radius is the alignment scatter alone;
``none``
    no usable θ or counts and no error ellipse either: the radii are NaN (a warning says how
    many rows).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import errors
from .errors import InputError
from .schema import numeric_column, require_columns

__all__ = [
    "C_MAX",
    "PU_METHODS",
    "kim07_radii",
    "method_counts",
    "positional_uncertainty",
    "sigma_astro_of",
]

C_MAX = 3.3
"""Largest log10(counts) in the Kim et al. 2007 fit; brighter sources are evaluated here."""

THETA_SUSPICIOUS = 30.0
"""Off-axis angles above this many arcmin are beyond the ACIS field: probably the wrong unit."""

PU_METHODS = ("kim07", "kim07_clamped", "ellipse", "zero", "none")
"""The values of the ``pu_method`` column, in the order summaries list them."""

Fallback = Literal["ellipse", "zero", "none"]

# (slope in theta, slope in C, intercept, upper C limit of the branch) for each branch.
_R95_FAINT = (0.1145, -0.4958, 0.1932, 2.1393)
_R95_BRIGHT = (0.0968, -0.2064, -0.4260, C_MAX)
_R68_FAINT = (0.1137, -0.4600, -0.2398, 2.1227)
_R68_BRIGHT = (0.1031, -0.1945, -0.8034, C_MAX)


def _branches(theta: np.ndarray, c: np.ndarray, faint: tuple, bright: tuple) -> np.ndarray:
    a_f, b_f, k_f, c_break = faint
    a_b, b_b, k_b, _ = bright
    log_r = np.where(c <= c_break, a_f * theta + b_f * c + k_f, a_b * theta + b_b * c + k_b)
    return 10.0**log_r


def kim07_radii(theta: Any, counts: Any, *, clamp: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The Kim et al. 2007 68% and 95% X-ray positional error radii (eqs. 14 and 12).

    Parameters
    ----------
    theta : array_like
        Off-axis angle in arcmin.
    counts : array_like
        Source counts (CSC ``src_cnts_aper_b``).
    clamp : bool
        Evaluate sources brighter than 10**3.3 counts at C = 3.3 (the fit's bright end). When
        false they get NaN, like every row outside 0 < C <= 3.3 or with NaN θ. Counts that
        are not finite (±inf) are missing values and always get NaN.

    Returns
    -------
    r68, r95 : numpy.ndarray
        Radii in arcsec; NaN where the equations do not apply.

    Examples
    --------
    >>> r68, r95 = kim07_radii([3.416463], [7.59189])
    >>> print(f"{r68[0]:.4f} {r95[0]:.4f}")
    0.5542 1.4057
    """
    theta = np.asarray(theta, dtype=float)
    counts = np.asarray(counts, dtype=float)
    theta, counts = np.broadcast_arrays(theta, counts)
    shape = theta.shape
    r68, r95, _ = _radii(theta.ravel(), _log_counts(counts.ravel()), clamp)
    return r68.reshape(shape), r95.reshape(shape)


def _log_counts(counts: np.ndarray) -> np.ndarray:
    """log10 of the counts; NaN for ±inf counts (missing values, never clamped)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.log10(counts)
    c[np.isinf(counts)] = np.nan  # log10(inf) = inf would pass for a very bright source
    return c


def _radii(theta: np.ndarray, c: np.ndarray, clamp: bool) -> tuple[np.ndarray, ...]:
    """r68, r95 (NaN where the equations do not apply) and the rows evaluated at C = 3.3."""
    bright = c > C_MAX
    if clamp:
        c = np.minimum(c, C_MAX)  # NaN stays NaN
    usable = np.isfinite(theta) & (c > 0) & (c <= C_MAX)
    with np.errstate(over="ignore", invalid="ignore"):
        r68 = _branches(theta, c, _R68_FAINT, _R68_BRIGHT)
        r95 = _branches(theta, c, _R95_FAINT, _R95_BRIGHT)
    r68[~usable] = np.nan
    r95[~usable] = np.nan
    return r68, r95, bright & usable


_MAX_SCATTER = 324000.0  # arcsec: 90 deg, so that the 2-sigma radius stays below 180 deg


def sigma_astro_of(sigma_astro: Any) -> tuple[float, float]:
    """The alignment scatter (σx, σy) in arcsec, from any of the forms users hold it in.

    Parameters
    ----------
    sigma_astro : pair of float, mapping, object, str or path
        ``(σx, σy)`` in arcsec; a mapping or an object with ``std_x`` and ``std_y`` (an
        alignment solution); or the path of the alignment solution JSON written by
        ``xrbid align`` (keys ``std_x`` and ``std_y`` at the top level).

    Returns
    -------
    (float, float)
        σx and σy in arcsec.

    Raises
    ------
    InputError
        If it is not two finite numbers between 0 and 324000 arcsec (90 deg), or the JSON
        lacks the keys.

    Examples
    --------
    >>> sigma_astro_of((0.3813, 0.3037))
    (0.3813, 0.3037)
    >>> sigma_astro_of({"std_x": 0.2, "std_y": 0.1})
    (0.2, 0.1)
    """
    where = "sigma_astro"
    if isinstance(sigma_astro, str | os.PathLike):
        from .align.solution import read_solution_data

        where = str(sigma_astro)
        sigma_astro = read_solution_data(sigma_astro)
    if isinstance(sigma_astro, Mapping):
        missing = [k for k in ("std_x", "std_y") if k not in sigma_astro]
        if missing:
            raise InputError(
                f"{where} has no {' and '.join(missing)}; give the alignment solution written "
                "by `xrbid align` or the scatter as (std_x, std_y) in arcsec"
            )
        values: Sequence[Any] = (sigma_astro["std_x"], sigma_astro["std_y"])
    elif hasattr(sigma_astro, "std_x") and hasattr(sigma_astro, "std_y"):
        values = (sigma_astro.std_x, sigma_astro.std_y)
    else:
        try:
            values = list(np.ravel(np.asarray(sigma_astro, dtype=float)))
        except (TypeError, ValueError):
            raise InputError(
                f"{where} must be two numbers (std_x, std_y) in arcsec, got {sigma_astro!r}"
            ) from None
        if len(values) != 2:
            raise InputError(
                f"{where} must be two numbers (std_x, std_y) in arcsec, got {len(values)}; "
                "give e.g. 0.2223,0.3037"
            )
    if any(v is None for v in values):
        raise InputError(
            f"{where}: the alignment scatter is missing (std_x/std_y null: no matched pairs?); "
            "redo the alignment or give the scatter as (std_x, std_y) in arcsec"
        )
    try:
        sx, sy = (float(v) for v in values)
    except (TypeError, ValueError):
        raise InputError(f"{where}: std_x and std_y must be numbers, got {values!r}") from None
    if not (np.isfinite(sx) and np.isfinite(sy)) or sx < 0 or sy < 0:
        raise InputError(
            f"{where}: std_x and std_y must be finite and >= 0 arcsec, got ({sx}, {sy})"
        )
    if sx > _MAX_SCATTER or sy > _MAX_SCATTER:
        # The 2-sigma radius is 2 * hypot(sx, sy): beyond half the sky it means nothing,
        # and for huge values it is not even a finite number.
        raise InputError(
            f"{where}: std_x and std_y must be at most {_MAX_SCATTER:g} arcsec (90 deg), "
            f"got ({sx:g}, {sy:g}); give the scatter in arcsec"
        )
    return sx, sy


def _column(df: pd.DataFrame, name: str, what: str) -> np.ndarray:
    require_columns(
        df,
        [name],
        what=f"positional uncertainties ({what})",
        source="the table",
        hint="positional uncertainties need 'theta' (arcmin) and 'counts' (read the table with "
        "xrbid.tables.read_table so CSC names such as theta_mean and src_cnts_aper_b are mapped)",
    )
    return numeric_column(df, name, what=what)


def positional_uncertainty(
    df: pd.DataFrame,
    sigma_astro: Any,
    *,
    fallback: Fallback = "ellipse",
    clamp: bool = True,
) -> pd.DataFrame:
    """Add the 1σ and 2σ positional uncertainty radii (arcsec) to a CSC table.

    Parameters
    ----------
    df : pandas.DataFrame
        Table in the canonical schema with ``theta`` (arcmin) and ``counts``; ``err_r0``
        (arcsec, CSC 95% error-ellipse major radius) is used by ``fallback="ellipse"``.
    sigma_astro : pair of float, mapping, object, str or path
        The alignment scatter (σx, σy) in arcsec, or an alignment solution (object, mapping or
        JSON file) holding ``std_x`` and ``std_y``; see `sigma_astro_of`.
    fallback : {"ellipse", "zero", "none"}
        X-ray term of rows the equations do not cover (θ NaN, counts NaN, ±inf or <= 1):
        ``"ellipse"`` uses ``err_r0`` as the 2σ term and ``err_r0/2`` as the 1σ term (rows
        without ``err_r0`` get NaN, method ``none``); ``"zero"`` uses no X-ray term, which
        reproduces the XRBID guide's published radii; ``"none"`` leaves them NaN.
    clamp : bool
        Evaluate rows with counts above 10**3.3 at C = 3.3 (method ``kim07_clamped``). When
        false they are treated like rows the equations do not cover (as the XRBID guide's code
        does).

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with ``pu_1sigma``, ``pu_2sigma`` (arcsec) and ``pu_method`` (a
        categorical whose categories are `PU_METHODS`; files get its labels as text); the input
        is not modified.

    Raises
    ------
    ColumnError
        If ``theta`` or ``counts`` is missing.
    InputError
        If any count is negative, θ is negative, or ``sigma_astro`` is not two numbers.

    Warns
    -----
    XrbidWarning
        If θ exceeds 30 arcmin (probably not arcmin), rows end up with NaN radii, or the
        alignment solution was measured more than 1 deg from the table's centre (another
        field's scatter).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"theta": [3.416463, float("nan")], "counts": [7.59189, 0.0]})
    >>> out = positional_uncertainty(t, (0.3813, 0.3037), fallback="zero")
    >>> out[["pu_1sigma", "pu_2sigma", "pu_method"]].round(6).to_numpy().tolist()
    [[0.738103, 1.710737, 'kim07'], [0.487466, 0.974933, 'zero']]
    """
    if fallback not in ("ellipse", "zero", "none"):
        raise InputError(f"fallback must be 'ellipse', 'zero' or 'none', got {fallback!r}")
    sx, sy = sigma_astro_of(sigma_astro)
    s = float(np.hypot(sx, sy))
    _check_same_field(df, sigma_astro)

    theta = _column(df, "theta", "off-axis angle, arcmin")
    counts = _column(df, "counts", "source counts")
    # ±inf counts are missing values (like NaN): they take the fallback rule, never the clamp.
    counts = np.where(np.isfinite(counts), counts, np.nan)
    if np.any(counts < 0):
        n = int(np.sum(counts < 0))
        raise InputError(
            f"{n} rows have negative counts; counts must be source counts "
            "(CSC src_cnts_aper_b), not a flux or a log"
        )
    if np.any(theta < 0):
        n = int(np.sum(theta < 0))
        raise InputError(f"{n} rows have a negative off-axis angle theta; theta is in arcmin")
    if np.any(theta > THETA_SUSPICIOUS):
        warnings.warn(
            f"{int(np.sum(theta > THETA_SUSPICIOUS))} rows have theta > {THETA_SUSPICIOUS:g} "
            f"(max {np.nanmax(theta):.4g}); theta must be in arcmin: check the unit",
            errors.XrbidWarning,
            stacklevel=2,
        )

    r68, r95, clamped = _radii(theta, _log_counts(counts), clamp)
    covered = np.isfinite(r68)

    # X-ray terms of the rows the equations do not cover, and their method codes
    code = {m: np.int8(i) for i, m in enumerate(PU_METHODS)}
    if fallback == "ellipse" and "err_r0" in df.columns:
        r0 = _column(df, "err_r0", "95% error-ellipse major radius, arcsec")
        r0 = np.where(r0 >= 0, r0, np.nan)
        fall68, fall95 = r0 / 2.0, r0
        fall_code = np.where(np.isfinite(r0), code["ellipse"], code["none"])
    elif fallback == "zero":
        fall68, fall95, fall_code = 0.0, 0.0, code["zero"]
    else:
        fall68, fall95, fall_code = np.nan, np.nan, code["none"]
    x68 = np.where(covered, r68, fall68)
    x95 = np.where(covered, r95, fall95)
    codes = np.where(covered, code["kim07"], fall_code).astype(np.int8)
    codes[clamped & covered] = code["kim07_clamped"]

    out = df.copy(deep=False)  # copy-on-write: new columns never reach df
    out["pu_1sigma"] = np.hypot(x68, s)
    out["pu_2sigma"] = np.hypot(x95, 2.0 * s)
    out["pu_method"] = pd.Categorical.from_codes(codes, categories=list(PU_METHODS))
    n_none = int(np.count_nonzero(codes == code["none"]))
    if n_none:
        warnings.warn(
            f"{n_none} rows have no usable theta/counts and no error ellipse (err_r0): their "
            "radii are NaN (pu_method 'none'); use fallback='zero' to give them the alignment "
            "scatter alone",
            errors.XrbidWarning,
            stacklevel=2,
        )
    return out


def method_counts(df: pd.DataFrame) -> dict[str, int]:
    """How many rows used each ``pu_method``, in the order of `PU_METHODS` (zeros left out).

    Examples
    --------
    >>> import pandas as pd
    >>> method_counts(pd.DataFrame({"pu_method": ["kim07", "zero", "kim07"]}))
    {'kim07': 2, 'zero': 1}
    """
    counts = df["pu_method"].value_counts()
    return {m: int(counts[m]) for m in PU_METHODS if counts.get(m, 0)}


def _solution_centre(sigma_astro: Any) -> tuple[float, float] | None:
    """The tangent point (ra0, dec0) of an alignment solution given as ``sigma_astro``, if any."""
    if isinstance(sigma_astro, str | os.PathLike):
        from .align.solution import read_solution_data

        sigma_astro = read_solution_data(sigma_astro)
    if isinstance(sigma_astro, Mapping):
        ra0, dec0 = sigma_astro.get("ra0"), sigma_astro.get("dec0")
    else:
        ra0, dec0 = getattr(sigma_astro, "ra0", None), getattr(sigma_astro, "dec0", None)
    try:
        ra0, dec0 = float(ra0), float(dec0)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return (ra0, dec0) if np.isfinite(ra0) and np.isfinite(dec0) else None


def _check_same_field(df: pd.DataFrame, sigma_astro: Any) -> None:
    """Warn when the scatter comes from an alignment of another field than the table's."""
    from .align.solution import FIELD_LIMIT_ARCSEC

    centre = _solution_centre(sigma_astro)
    if centre is None or not {"ra", "dec"} <= set(df.columns):
        return
    ra = pd.to_numeric(df["ra"], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(df["dec"], errors="coerce").to_numpy(float)
    if not (np.isfinite(ra) & np.isfinite(dec)).any():
        return
    from .sky import fields_apart

    distance, text = fields_apart(
        ra, dec, [centre[0]], [centre[1]], "the table", "the alignment solution"
    )
    if distance * 60.0 > FIELD_LIMIT_ARCSEC:
        warnings.warn(
            f"the alignment solution comes from another field: {text}; its scatter may not "
            "hold for these sources (align this field's calibrators first)",
            errors.XrbidWarning,
            stacklevel=3,
        )
