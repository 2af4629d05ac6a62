"""Astrometric calibration: fit an image's WCS to a reference catalogue (e.g. Gaia).

The steps, each a function:

1. `match_to_reference` — pair catalogue stars with detections after a voted coarse offset;
2. `fit_wcs` — least-squares fit of the WCS in the tangent plane, with sigma clipping
   (both in `xrbid.calibration.astrometry_fit`, where the method is described);
3. `write_wcs` — write the corrected WCS into a copy of the FITS file, the old one kept as an
   alternate WCS (`xrbid.calibration.wcs_write`).

`calibrate_wcs` runs all three on an image file (detecting its stars with
`xrbid.photometry.detect_sources`); the residual plot is in
`xrbid.calibration.astrometry_plot`. The public names of all three modules are re-exported here.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from astropy.io import fits

from ..errors import CalibrationError
from ..schema import require_columns
from .astrometry_fit import FIT_GEOMETRIES, WCSFit, fit_wcs, match_to_reference
from .astrometry_plot import plot_residuals, plot_wcs_residuals
from .wcs_write import write_wcs

__all__ = [
    "FIT_GEOMETRIES",
    "WCSFit",
    "calibrate_wcs",
    "fit_wcs",
    "match_to_reference",
    "plot_residuals",
    "plot_wcs_residuals",
    "write_wcs",
]


def calibrate_wcs(
    image: str | os.PathLike,
    reference: pd.DataFrame,
    output: str | os.PathLike,
    *,
    ext: int | str | None = None,
    fit: str = "rscale",
    fwhm: float = 2.5,
    threshold_sigma: float = 5.0,
    search_radius: float = 5.0,
    match_radius: float = 0.5,
    clip_sigma: float = 3.0,
    sip_degree: int = 3,
    overwrite: bool = False,
) -> WCSFit:
    """Detect the stars of ``image``, fit its WCS to ``reference`` and write the corrected copy.

    Parameters
    ----------
    image : path-like
        HST FITS image (read only).
    reference : pandas.DataFrame
        Catalogue with ``ra``, ``dec`` (deg) at the image's epoch, e.g. from
        `xrbid.archives.query_gaia` with ``epoch`` set. A ``pm_missing`` column (Gaia) or the
        absence of proper-motion columns is reported in the notes.
    output : path-like
        The corrected copy.
    ext : int or str, optional
        Image extension (default: the first SCI, else the first 2-D image).
    fit, search_radius, match_radius, clip_sigma, sip_degree
        See `fit_wcs`.
    fwhm, threshold_sigma
        Star detection (see `xrbid.photometry.detect_sources`).
    overwrite : bool
        Replace ``output`` if it exists.

    Returns
    -------
    WCSFit

    Examples
    --------
    >>> from xrbid.archives import query_gaia  # doctest: +SKIP
    >>> gaia = query_gaia((63.3515, 10.4643), 60, epoch="1999-08-18")  # doctest: +SKIP
    >>> calibrate_wcs("a478.fits", gaia, "a478_wcs.fits", fit="shift")  # doctest: +SKIP
    """
    from ..photometry import detect_sources, load_image

    require_columns(
        reference,
        ["ra", "dec"],
        what="the WCS fit",
        source="the reference catalogue",
        hint="give RA/Dec in degrees, e.g. from xrbid.archives.query_gaia",
    )
    from .._io import check_output

    check_output(output, overwrite)
    img = load_image(image, ext=ext)
    if img.wcs is None:
        raise CalibrationError(f"{image}: the image has no celestial WCS to correct")
    stars = detect_sources(img, fwhm=fwhm, threshold_sigma=threshold_sigma)
    result = fit_wcs(
        img.wcs,
        stars[["x", "y"]].to_numpy(float),
        reference["ra"].to_numpy(float),
        reference["dec"].to_numpy(float),
        fit=fit,
        search_radius=search_radius,
        match_radius=match_radius,
        clip_sigma=clip_sigma,
        sip_degree=sip_degree,
        shape=img.data.shape,
    )
    if "pm_missing" in reference.columns:
        used_refs = result.matches.loc[result.matches.used, "ref_index"].to_numpy()
        n_missing = int(reference["pm_missing"].to_numpy(bool)[used_refs].sum())
        if n_missing:
            result.notes.append(
                f"{n_missing} of the stars used have no proper motion in the catalogue "
                "(kept at their catalogue position)"
            )
    elif not {"pmra", "pmdec"} <= set(reference.columns):
        result.notes.append(
            "the reference catalogue has no proper motions: positions used as given"
        )
    ext_name = img.ext if ext is None else ext
    write_wcs(
        image,
        output,
        result.wcs,
        ext=_hdu_of(image, ext_name),
        history=(
            f"xrbid calib wcs: {result.fit} fit to {result.n_used} stars, "
            f"rms {result.rms_arcsec:.4f} arcsec"
        ),
        overwrite=overwrite,
    )
    return result


def _hdu_of(image: str | os.PathLike, ext: Any) -> int | str:
    """The HDU (index or 'NAME,VER') that `load_image` read, as `write_wcs` wants it."""
    text = str(ext).strip()
    if text.lower() == "primary":
        return 0
    if text.isdigit():
        return int(text)
    if "," in text:
        return text
    with fits.open(image) as hdul:
        for i, h in enumerate(hdul):
            if h.name == text.upper():
                return i
    raise CalibrationError(f"{image}: cannot tell which extension to write ({ext!r}); give --ext")
