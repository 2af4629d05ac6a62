"""Photometric calibration of a table: choose the catalogue columns, join, fit, apply.

`calibrate_photometry` runs the steps of ``xrbid calib phot``. The pieces live in their own
modules and are re-exported here, the documented public face of the photometric calibration:

- `xrbid.calibration.photometric_fit`: the fit (`fit_photometric`, the model and its solution);
- `xrbid.calibration.reference`: the reference-catalogue bands (`choose_reference_columns`,
  `join_reference`);
- `xrbid.calibration.photometric_plot`: the residual plot (`plot_photometric_residuals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from .photometric_fit import fit_photometric
from .photometric_plot import (
    PLOT_FORMATS,
    check_plot_path,
    plot_photometric_residuals,
    plot_residuals,
)
from .photometric_solution import PhotometricSolution, TermFit
from .reference import (
    choose_reference_columns,
    join_reference,
    magnitude_columns,
    photometry_filter,
)
from .terms import TermPlan, parse_terms

__all__ = [
    "PLOT_FORMATS",
    "PhotometricSolution",
    "TermFit",
    "calibrate_photometry",
    "check_plot_path",
    "choose_reference_columns",
    "fit_photometric",
    "join_reference",
    "magnitude_columns",
    "photometry_filter",
    "plot_photometric_residuals",
    "plot_residuals",
]


def calibrate_photometry(
    stars: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    terms: str | TermPlan = "",
    *,
    ref_mag: str | None = None,
    filter_name: str | None = None,
    filters: Sequence[str] = (),
    ref_mag_err: str | None = None,
    max_sep: float = 1.0,
    mag: str = "mag",
    mag_err: str | None = "mag_err",
    x: str = "x",
    y: str = "y",
    image: str = "image",
    airmass: str = "airmass",
    zeropoint: Literal["global", "per-image"] = "global",
    alpha: float = 0.001,
    clip: float = 3.0,
    error_floor: float = 0.0,
    colour_convention: Literal["dophot3", "index"] = "dophot3",
) -> tuple[pd.DataFrame, PhotometricSolution, list[str]]:
    """Calibrate a photometry table against a reference catalogue: choose, join, fit, apply.

    The steps of ``xrbid calib phot``: the standard-magnitude column and the colour filters
    are chosen when not given (`choose_reference_columns`), the catalogue columns are joined
    to the stars by position (`join_reference`, when ``reference`` is given), the calibration
    is fitted (`fit_photometric`) and applied to every row.

    Parameters
    ----------
    stars : pandas.DataFrame
        Photometry: instrumental magnitudes, ``ra``/``dec`` (deg) for the join, and the
        columns the terms need. Not modified.
    reference : pandas.DataFrame, optional
        Catalogue of standard magnitudes. None: ``stars`` already holds the catalogue
        columns.
    terms : str or TermPlan
        Term specification (see `fit_photometric`).
    ref_mag, filter_name, filters : optional
        Standard-magnitude column, filter of the photometry, colour filters bluest first (see
        `choose_reference_columns`).
    ref_mag_err : str, optional
        Catalogue magnitude error column.
    max_sep : float
        Largest star-catalogue separation of a match, arcsec.
    mag, mag_err, x, y, image, airmass, zeropoint, alpha, clip, error_floor
        See `fit_photometric`; ``image`` is also used by the join when ``stars`` has it.
    colour_convention : {"dophot3", "index"}
        See `fit_photometric`.

    Returns
    -------
    table : pandas.DataFrame
        ``stars`` (joined to the catalogue) with ``mag_cal``, ``mag_cal_err``,
        ``calib_residual`` (``mag_cal`` minus the standard magnitude, mag) and
        ``calib_used`` (kept by the clipping).
    solution : PhotometricSolution
        The fit.
    notes : list of str
        How the derived column choices were made.

    Raises
    ------
    ColumnError, CalibrationError, InputError
        As `choose_reference_columns`, `join_reference` and `fit_photometric`.

    Examples
    --------
    >>> table, sol, notes = calibrate_photometry(phot, standards, "&PC,@.p2",
    ...                                          ref_mag="V", filters=("B", "V"),
    ...                                          mag="mag_vega")  # doctest: +SKIP
    """
    plan = terms if isinstance(terms, TermPlan) else parse_terms(terms)
    ref = reference if reference is not None else stars.drop(columns=mag, errors="ignore")
    ref_mag, filter_list, notes = choose_reference_columns(
        stars, ref, ref_mag=ref_mag, filter_name=filter_name, filters=tuple(filters), plan=plan
    )
    if reference is not None:
        wanted = [ref_mag, *filter_list, *([ref_mag_err] if ref_mag_err else [])]
        stars = join_reference(
            stars,
            reference,
            list(dict.fromkeys(wanted)),
            max_sep=max_sep,
            image=image if image in stars.columns else None,
        )
    solution = fit_photometric(
        stars,
        plan,
        ref_mag=ref_mag,
        filters=filter_list,
        mag=mag,
        mag_err=mag_err,
        ref_mag_err=ref_mag_err,
        x=x,
        y=y,
        image=image,
        airmass=airmass,
        zeropoint=zeropoint,
        alpha=alpha,
        clip=clip,
        error_floor=error_floor,
        colour_convention=colour_convention,
    )
    out = solution.apply(stars)
    out["calib_residual"] = out["mag_cal"] - out[solution.ref_mag]
    out["calib_used"] = solution.used
    return out, solution, notes
