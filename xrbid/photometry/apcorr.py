"""Aperture corrections: EEF-based (to an infinite aperture) and empirical (small to large).

A magnitude measured in a small aperture misses the light outside it. Two corrections bring it
to a total magnitude:

* the **empirical** small-to-large correction, measured on bright isolated stars of the same
  image: ``dm_emp = m(r_large) - m(r_small) = -2.5 log10(F_large / F_small)`` (negative);
* the **EEF** term from the large aperture to infinity, from the published encircled-energy
  fraction at ``r_large``: ``dm_inf = 2.5 log10(EEF(r_large))`` (negative).

``m_total = m(r_small) + dm_emp + dm_inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from astropy.stats import mad_std
from photutils.background import Background2D
from scipy.spatial import cKDTree

from xrbid.errors import CalibrationError

from .apertures import aperture_photometry, flux_column
from .images import HSTImage
from .reference_data import camera_key, eef_table

__all__ = ["ApertureCorrection", "eef", "eef_correction", "empirical_aperture_correction"]


def eef(instrument: str, detector: str, filter_name: str, radius_arcsec: float) -> float:
    """Encircled-energy fraction at ``radius_arcsec`` from the shipped table (linear interp.).

    Raises
    ------
    CalibrationError
        No table for the camera or filter, or the radius is outside the table.

    Examples
    --------
    >>> eef("WFC3", "UVIS", "F814W", 0.40)
    0.9022
    """
    camera = camera_key(instrument, detector)
    table = eef_table(camera)
    filt = filter_name.strip().upper()
    if table is None or filt not in table.index:
        raise CalibrationError(
            f"no encircled-energy table for {camera or 'unknown camera'} {filt or '?'} "
            "(shipped: ACS/WFC and WFC3/UVIS); give the EEF yourself (eef=, --eef) or an "
            "aperture correction (--apcorr VALUE)"
        )
    radii = np.asarray(table.columns, dtype=float)
    if not radii[0] <= radius_arcsec <= radii[-1]:
        raise CalibrationError(
            f"radius {radius_arcsec:.3f} arcsec is outside the EEF table "
            f"({radii[0]}-{radii[-1]} arcsec)"
        )
    return float(np.interp(radius_arcsec, radii, table.loc[filt].to_numpy(float)))


def eef_correction(eef_value: float) -> float:
    """``2.5 log10(EEF)``: the (negative) magnitude correction from an aperture to infinity.

    Examples
    --------
    >>> round(eef_correction(0.9022), 4)
    -0.1117
    """
    if not 0 < eef_value <= 1:
        raise CalibrationError(f"an encircled-energy fraction must be in (0, 1], got {eef_value}")
    return 2.5 * math.log10(eef_value)


@dataclass
class ApertureCorrection:
    """Empirical small-to-large aperture correction measured on stars of one image.

    Attributes
    ----------
    value : float
        Median of ``m(r_large) - m(r_small)`` over the stars used (mag; negative).
    scatter : float
        Robust standard deviation (1.4826 x MAD) of the per-star values (mag).
    error : float
        Uncertainty of the median, ``1.2533 * scatter / sqrt(n)``.
    n_stars : int
        Stars used.
    r_small, r_large : float
        The two radii (pixels).
    stars : pandas.DataFrame
        The stars used with their per-star corrections.
    """

    value: float
    scatter: float
    error: float
    n_stars: int
    r_small: float
    r_large: float
    stars: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Summary without the star table."""
        return {
            "value": self.value,
            "scatter": self.scatter,
            "error": self.error,
            "n_stars": self.n_stars,
            "r_small": self.r_small,
            "r_large": self.r_large,
        }


def empirical_aperture_correction(
    image: HSTImage,
    sources: pd.DataFrame,
    *,
    r_small: float,
    r_large: float,
    annulus: tuple[float, float] | None = None,
    isolation: float | None = None,
    min_snr: float = 50.0,
    max_roundness: float = 0.3,
    flatness: float = 0.03,
    max_stars: int = 200,
    min_stars: int = 3,
    background: Background2D | None = None,
) -> ApertureCorrection:
    """Measure ``m(r_large) - m(r_small)`` on bright, isolated, unsaturated, round stars.

    Stars are chosen automatically from ``sources`` (a `detect_sources` table): no neighbour
    within ``isolation`` pixels (default: the annulus inner radius), not saturated or near an
    edge or bad pixel, |roundness| below ``max_roundness``, S/N above ``min_snr`` in the small
    aperture, and a flat growth curve — the flux between ``r_large`` and ``r_large + 2`` pixels
    changes by less than ``flatness`` (fraction), so the large aperture holds nearly all the
    light and the annulus is not contaminated. The brightest ``max_stars`` are used.

    Parameters
    ----------
    image : HSTImage
        The image.
    sources : pandas.DataFrame
        Detected sources (``x``, ``y``; ``roundness1``/``roundness2`` or ``roundness`` used
        when present).
    r_small, r_large : float
        Aperture radii in pixels.
    annulus : (float, float), optional
        Background annulus (default ``(r_large + 3, r_large + 8)``).
    background : photutils.background.Background2D, optional
        A background already estimated on this image, to reuse.

    Returns
    -------
    ApertureCorrection

    Raises
    ------
    CalibrationError
        Fewer than ``min_stars`` stars pass the cuts.

    Examples
    --------
    >>> ac = empirical_aperture_correction(img, detect_sources(img, fwhm=2), r_small=2,
    ...                                    r_large=6)  # doctest: +SKIP
    >>> ac.value, ac.scatter, ac.n_stars  # doctest: +SKIP
    """
    if not 0 < r_small < r_large:
        raise CalibrationError(f"need 0 < r_small < r_large, got {r_small}, {r_large}")
    annulus = annulus or (r_large + 3.0, r_large + 8.0)
    isolation = annulus[0] if isolation is None else float(isolation)
    src = sources.reset_index(drop=True)
    xy = src[["x", "y"]].to_numpy(float)
    if len(xy) == 0:
        raise CalibrationError(
            f"{image.label}: no detected sources to measure an aperture correction"
        )
    tree = cKDTree(xy)
    isolated = tree.query_ball_point(xy, isolation, return_length=True) == 1
    round_ok = np.ones(len(src), dtype=bool)
    for col in ("roundness1", "roundness2", "roundness"):
        if col in src:
            round_ok &= np.abs(src[col].to_numpy(float)) < max_roundness
    cand = src[isolated & round_ok]
    if len(cand) < min_stars:
        raise CalibrationError(
            f"{image.label}: only {len(cand)} isolated round stars (need {min_stars}) for an "
            "empirical aperture correction; pass --apcorr VALUE"
        )
    r_check = r_large + 2.0
    phot = aperture_photometry(
        image,
        cand[["x", "y"]],
        radii=[r_small, r_large, r_check],
        annulus=annulus,
        crowding_radius=isolation,
        background=background,
    )
    f_s = phot[flux_column(r_small)].to_numpy(float)
    e_s = phot[flux_column(r_small, "flux_err")].to_numpy(float)
    f_l = phot[flux_column(r_large)].to_numpy(float)
    f_c = phot[flux_column(r_check)].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = f_s / e_s
        growth = np.abs(f_c / f_l - 1.0)
        good = (
            (snr >= min_snr)
            & (growth < flatness)
            & (f_l > f_s)
            & (f_s > 0)
            & ~phot["flag_saturated"].to_numpy()
            & ~phot["flag_edge"].to_numpy()
        )
    stars = phot[good].copy()
    if len(stars) < min_stars:
        raise CalibrationError(
            f"{image.label}: only {len(stars)} bright isolated unsaturated stars with a flat "
            f"growth curve (need {min_stars}) for an empirical aperture correction; pass "
            "--apcorr VALUE"
        )
    stars["snr"] = snr[good]
    stars = stars.nlargest(max_stars, "snr")
    dm = -2.5 * np.log10(stars[flux_column(r_large)] / stars[flux_column(r_small)])
    stars["apcorr"] = dm.to_numpy(float)
    values = stars["apcorr"].to_numpy(float)
    median = float(np.median(values))
    scatter = float(mad_std(values))
    return ApertureCorrection(
        value=median,
        scatter=scatter,
        error=float(1.2533 * scatter / math.sqrt(len(values))),
        n_stars=len(values),
        r_small=float(r_small),
        r_large=float(r_large),
        stars=stars,
    )
