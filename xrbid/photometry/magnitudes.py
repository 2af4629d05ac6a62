"""Calibrated, aperture-corrected magnitudes of positions on one image."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u

from xrbid.errors import CalibrationError, InputError, XrbidWarning

from .apcorr import ApertureCorrection, eef, eef_correction, empirical_aperture_correction
from .apertures import aperture_photometry, flux_column
from .background import estimate_background
from .detection import detect_sources, length_in_pixels
from .images import HSTImage, as_image
from .zeropoints import image_zeropoints, magnitude, magnitude_error

__all__ = ["NoInfiniteApertureWarning", "measure_magnitudes", "use_sky_positions"]

SYSTEMS = ("vega", "ab", "st")


class NoInfiniteApertureWarning(XrbidWarning):
    """No EEF for this camera/filter: magnitudes are corrected to the large aperture only."""


def use_sky_positions(image: HSTImage, positions: pd.DataFrame, *, pixels: bool = False) -> bool:
    """Whether to place the apertures at the table's ``ra``/``dec`` rather than its ``x``/``y``.

    Sky positions are exact on any image with a WCS (the table may come from another
    filter's image), while ``x``/``y`` only fit the image they were measured on; so the sky
    is used whenever the image has a WCS and every row has ``ra`` and ``dec``, unless
    ``pixels`` asks for the pixel columns.

    Parameters
    ----------
    image : HSTImage
        The image to measure.
    positions : pandas.DataFrame
        The positions table.
    pixels : bool
        Use ``x``/``y`` whatever the table holds.

    Returns
    -------
    bool
        The ``use_sky`` argument of `measure_magnitudes`.
    """
    return (
        not pixels
        and image.wcs is not None
        and {"ra", "dec"} <= set(positions.columns)
        and bool(positions[["ra", "dec"]].notna().all().all())
    )


def measure_magnitudes(
    image: HSTImage | np.ndarray | str | os.PathLike,
    positions: pd.DataFrame | np.ndarray | Sequence,
    *,
    radius: float | u.Quantity = 3.0,
    annulus: tuple[float, float] | None = None,
    large_radius: float | u.Quantity | None = None,
    apcorr: str | float | ApertureCorrection | None = "auto",
    eef_value: float | None = None,
    zeropoint: float | None = None,
    fwhm: float | u.Quantity = 2.0,
    sources: pd.DataFrame | None = None,
    use_sky: bool = False,
    **phot_kwargs: Any,
) -> pd.DataFrame:
    """Aperture photometry calibrated to Vega, AB and ST magnitudes, aperture-corrected.

    ``mag_<system> = -2.5 log10(rate(r)) + ZP_<system> + apcorr_emp + apcorr_inf`` where
    ``rate`` is the background-subtracted count rate in the measurement aperture ``radius``,
    ``apcorr_emp`` the empirical correction from ``radius`` to ``large_radius`` and
    ``apcorr_inf = 2.5 log10(EEF(large_radius))`` the EEF term to infinity.

    Parameters
    ----------
    image : HSTImage, numpy.ndarray or path
        The image.
    positions : pandas.DataFrame, numpy.ndarray or sequence
        Where to measure (see `aperture_photometry`).
    radius : float or Quantity
        Measurement aperture radius (pixels, or an angle).
    annulus : (float, float), optional
        Background annulus in pixels (default ``(large_radius + 3, large_radius + 8)``).
    large_radius : float or Quantity, optional
        The large aperture of the empirical correction (default: 0.4 arcsec when the image
        has a WCS, else 10 pixels).
    apcorr : "auto", float, ApertureCorrection or None
        ``"auto"``: measure the empirical correction on stars of this image (detected with
        ``fwhm`` unless ``sources`` is given); a float: that correction in magnitudes (total,
        used instead of both terms); None: no aperture correction.
    eef_value : float, optional
        The EEF at ``large_radius`` (overrides the shipped table).
    zeropoint : float, optional
        An explicit zero point; adds the ``mag`` column in that system (``user``).
    fwhm : float or Quantity
        FWHM for detecting the aperture-correction stars.
    sources : pandas.DataFrame, optional
        Detections to choose the aperture-correction stars from.
    use_sky : bool
        Place apertures from ``ra``/``dec`` even if ``x``/``y`` are present.
    **phot_kwargs
        Passed to `aperture_photometry` (``extended_radius``, ``progress``, ...).

    Returns
    -------
    pandas.DataFrame
        The `aperture_photometry` columns plus ``rate`` and ``rate_err`` (per second),
        ``mag_vega``, ``mag_ab``, ``mag_st`` (and ``mag`` with an explicit zero point),
        ``mag_err`` (statistical and aperture-correction errors in quadrature). ``attrs``
        record the zero points and the aperture correction.

    Examples
    --------
    >>> m = measure_magnitudes("HST-HDFS.fits", sources, radius=3)  # doctest: +SKIP
    >>> m[["mag_ab", "mag_err"]].describe()  # doctest: +SKIP
    """
    img = as_image(image)
    r_small = length_in_pixels(radius, img, "radius")
    if large_radius is None:
        r_large = 0.4 / img.pixel_scale if img.pixel_scale else 10.0
    else:
        r_large = length_in_pixels(large_radius, img, "large radius")
    r_large = max(r_large, r_small)
    annulus = annulus or (r_large + 3.0, r_large + 8.0)
    zps = image_zeropoints(img, zeropoint=zeropoint)
    if phot_kwargs.get("error") is None and phot_kwargs.get("background") is None:
        phot_kwargs["background"] = estimate_background(
            img.data, box_size=phot_kwargs.get("box_size", 64), mask=phot_kwargs.get("mask")
        )

    apc_info: dict[str, Any] = {"mode": "none", "value": 0.0, "error": 0.0}
    if isinstance(apcorr, str) and apcorr.lower() == "auto":
        if r_large <= r_small:
            emp = None
            apc_info.update(mode="auto", empirical=0.0)
        else:
            if sources is None:
                sources = detect_sources(
                    img, fwhm=fwhm, threshold_sigma=5.0, background=phot_kwargs.get("background")
                )
            emp = empirical_aperture_correction(
                img,
                sources,
                r_small=r_small,
                r_large=r_large,
                annulus=annulus,
                background=phot_kwargs.get("background"),
            )
            apc_info.update(mode="auto", empirical=emp.to_dict())
        dm_emp = 0.0 if emp is None else emp.value
        err_emp = 0.0 if emp is None else emp.error
        dm_inf = _infinite_term(img, r_large, eef_value)
        apc_info.update(
            value=dm_emp + (0.0 if math.isnan(dm_inf) else dm_inf),
            error=err_emp,
            infinite=dm_inf,
        )
    elif isinstance(apcorr, ApertureCorrection):
        dm_inf = _infinite_term(img, apcorr.r_large, eef_value)
        apc_info.update(
            mode="given",
            empirical=apcorr.to_dict(),
            infinite=dm_inf,
            value=apcorr.value + (0.0 if math.isnan(dm_inf) else dm_inf),
            error=apcorr.error,
        )
    elif apcorr is not None:
        try:
            value = float(apcorr)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"apcorr must be 'auto', a number (mag) or None, got {apcorr!r}"
            ) from exc
        apc_info.update(mode="value", value=value)

    phot = aperture_photometry(
        img, positions, radii=[r_small], annulus=annulus, use_sky=use_sky, **phot_kwargs
    )
    flux = phot[flux_column(r_small)].to_numpy(float)
    flux_err = phot[flux_column(r_small, "flux_err")].to_numpy(float)
    rate, rate_err = img.to_rate(flux), img.to_rate(flux_err)
    phot["rate"], phot["rate_err"] = rate, rate_err
    dm = float(apc_info["value"])
    for system in SYSTEMS:
        phot[f"mag_{system}"] = magnitude(rate, zps.for_system(system)) + dm
    if zeropoint is not None:
        phot["mag"] = magnitude(rate, float(zeropoint)) + dm
    stat = magnitude_error(rate, rate_err)
    phot["mag_err"] = np.sqrt(stat**2 + float(apc_info["error"]) ** 2)
    phot.attrs.update(
        {
            "zeropoints": zps.to_dict(),
            "apcorr": apc_info,
            "radius_pix": r_small,
            "large_radius_pix": r_large,
            "annulus_pix": list(annulus),
            "filter": img.filter,
        }
    )
    return phot


def _infinite_term(img: HSTImage, r_large: float, eef_value: float | None) -> float:
    if eef_value is not None:
        return eef_correction(float(eef_value))
    scale = img.pixel_scale
    try:
        if scale is None:
            raise CalibrationError(f"{img.label}: no WCS, so the EEF radius in arcsec is unknown")
        value = eef(img.instrument, img.detector, img.filter, r_large * scale)
    except CalibrationError as exc:
        warnings.warn(
            f"{exc}; magnitudes are corrected to the {r_large:.1f}-pixel aperture only",
            NoInfiniteApertureWarning,
            stacklevel=3,
        )
        return math.nan
    return eef_correction(value)
