"""Sky positions to pixels of an HST image, safe for positions far outside its distortion model."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from astropy.wcs import WCS

__all__ = ["world_to_pixel"]


#: Positions further than this from the image (degrees, or three image diagonals when that is
#: more) are not inverted through the distortion model: SIP polynomials mean nothing there.
_FAR_DEG = 1.0


def world_to_pixel(
    wcs: WCS, ra: np.ndarray, dec: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel x, y of sky positions, NaN where a position cannot be placed.

    A table of X-ray sources from a wide cone is mostly far outside one HST chip, where the
    iterative inversion of a SIP distortion (`astropy.wcs.WCS.all_world2pix`) may not
    converge, and astropy then raises for the whole table. Here the positions whose inversion
    diverges or does not round-trip to 1e-3 pixel, non-finite ones, and those more than 1 deg
    (or three image diagonals) from the image centre are NaN; all others are exact.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    ra, dec : array_like, shape (N,)
        Sky positions, degrees.
    shape : (int, int)
        (ny, nx) of the image.

    Returns
    -------
    x, y : numpy.ndarray, shape (N,)
        0-based pixel coordinates (NaN where not placeable).
    """
    from astropy.wcs import NoConvergence

    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    x = np.full(ra.shape, np.nan)
    y = np.full(ra.shape, np.nan)
    ny, nx = shape
    c_ra, c_dec = (float(v) for v in wcs.all_pix2world((nx - 1) / 2.0, (ny - 1) / 2.0, 0))
    corner_ra, corner_dec = (float(v) for v in wcs.all_pix2world(-0.5, -0.5, 0))
    half_diagonal = _separation_deg(c_ra, c_dec, corner_ra, corner_dec)
    ok = np.isfinite(ra) & np.isfinite(dec)
    far = max(_FAR_DEG, 6.0 * half_diagonal)
    ok[ok] = _separation_deg(c_ra, c_dec, ra[ok], dec[ok]) <= far
    if not ok.any():
        return x, y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            px, py = wcs.all_world2pix(ra[ok], dec[ok], 0, maxiter=50, tolerance=1e-6)
        except NoConvergence as exc:
            px, py = np.asarray(exc.best_solution, float).T
            failed = np.zeros(px.shape, bool)
            if exc.divergent is not None:
                failed[np.asarray(exc.divergent)] = True
            if exc.slow_conv is not None:
                failed[np.asarray(exc.slow_conv)] = True
            px, py = np.where(failed, np.nan, px), np.where(failed, np.nan, py)
        back_ra, back_dec = wcs.all_pix2world(px, py, 0)
    miss = _separation_deg(ra[ok], dec[ok], back_ra, back_dec) * 3600.0
    from astropy.wcs.utils import proj_plane_pixel_scales

    scale = float(np.min(proj_plane_pixel_scales(wcs))) * 3600.0  # arcsec per pixel
    good = np.isfinite(miss) & (miss <= 1e-3 * scale)
    x[ok] = np.where(good, px, np.nan)
    y[ok] = np.where(good, py, np.nan)
    return x, y


def _separation_deg(ra1: Any, dec1: Any, ra2: Any, dec2: Any) -> np.ndarray:
    """Great-circle distance in degrees (haversine, exact at small and large angles)."""
    r1, d1, r2, d2 = (np.radians(np.asarray(v, float)) for v in (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))
