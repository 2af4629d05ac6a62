"""Checks made before a value reaches DS9: sky positions, display stretches, whether a position
or a set of regions lies on the image shown."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError

SCALES = ("linear", "log", "sqrt", "asinh", "zscale")
"""Display stretches: a DS9 scale function with a 99.5 % clip of the pixel values, or zscale
(DS9's linear IRAF zscale limits)."""

DEFAULT_SCALE = "log"
CLIP_PERCENT = 99.5


def separation_arcsec(ra1: Any, dec1: Any, ra2: Any, dec2: Any) -> np.ndarray:
    """Angular separation in arcsec of positions in degrees (astropy's Vincenty formula)."""
    from astropy.coordinates import angular_separation

    rad = [np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2)]
    return np.degrees(angular_separation(*rad)) * 3600.0


def check_sky(ra: Any, dec: Any) -> tuple[float, float]:
    """(RA, Dec) as finite floats in degrees, RA wrapped into [0, 360); `InputError` otherwise."""
    try:
        ra, dec = float(ra), float(dec)
    except (TypeError, ValueError):
        raise InputError(f"RA/Dec must be numbers in degrees, not {ra!r}, {dec!r}") from None
    if not (math.isfinite(ra) and math.isfinite(dec)) or abs(dec) > 90:
        raise InputError(
            f"RA/Dec ({ra}, {dec}) is not a sky position in degrees (finite, |Dec| <= 90)"
        )
    return ra % 360.0, dec


def check_stretch(
    scale: str, limits: tuple[float, float] | None
) -> tuple[str, tuple[float, float] | None]:
    """Validate a display stretch (see :data:`SCALES`) and optional (low, high) pixel limits.

    Raises
    ------
    InputError
        Unknown scale, limits not finite or not increasing, or limits with ``zscale`` (which
        chooses its own).
    """
    if scale not in SCALES:
        raise InputError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if limits is None:
        return scale, None
    try:
        low, high = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise InputError(f"limits must be two numbers LOW HIGH, not {limits!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(f"limits must be finite with LOW < HIGH, not {low:g} {high:g}")
    if scale == "zscale":
        raise InputError(
            "zscale chooses its own limits; give --limits with linear, log, sqrt or asinh"
        )
    return scale, (low, high)


def format_angle(arcsec: float) -> str:
    """An angle in the unit that reads best: arcsec below 2 arcmin, arcmin below 2 deg."""
    if arcsec < 120:
        return f'{arcsec:.1f}"'
    if arcsec < 7200:
        return f"{arcsec / 60:.1f} arcmin"
    return f"{arcsec / 3600:.2f} deg"


def off_image_by(wcs, shape: tuple[int, int], ra: float, dec: float) -> float | None:
    """How far (arcsec) the position lies outside the image; None when it is on the image.

    The distance is to the nearest point of the image's edge (pixel centres from -0.5 to
    N - 0.5), measured on the sky. A position the projection cannot map (the far side of the
    sky for a tangent projection, or a SIP distortion far outside the chip) gets its distance
    from the image centre.
    """
    from ..photometry.image_coords import world_to_pixel

    rows, cols = shape
    px, py = world_to_pixel(wcs, [ra], [dec], shape)
    x, y = float(px[0]), float(py[0])
    if math.isfinite(x) and math.isfinite(y):
        if -0.5 < x < cols - 0.5 and -0.5 < y < rows - 0.5:
            return None
        ex, ey = np.clip(x, -0.5, cols - 0.5), np.clip(y, -0.5, rows - 0.5)
    else:
        ex, ey = (cols - 1) / 2, (rows - 1) / 2
    edge_ra, edge_dec = wcs.pixel_to_world_values(ex, ey)
    return float(separation_arcsec(ra, dec, edge_ra, edge_dec))


def on_image(wcs, shape: tuple[int, int], ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Which sky positions (deg) fall on an image of ``shape`` (ny, nx); False for those the
    WCS cannot place (non-finite, or a SIP inversion that does not converge far off the chip)."""
    from ..photometry.image_coords import world_to_pixel

    rows, cols = shape
    x, y = world_to_pixel(wcs, ra, dec, shape)
    with np.errstate(invalid="ignore"):
        return (x > -0.5) & (x < cols - 0.5) & (y > -0.5) & (y < rows - 0.5)


def field_mismatch(wcs, shape: tuple[int, int], regions) -> tuple[tuple, tuple, float] | None:
    """(image centre, regions centre, separation in arcmin) when none of the sky regions lies
    on the image; None when some do or when they have no sky positions."""
    from astropy.coordinates import SkyCoord

    sky = regions.loc[regions["ra"].notna() & regions["dec"].notna()]
    if len(sky) == 0:
        return None
    ra = sky["ra"].to_numpy(float)
    dec = sky["dec"].to_numpy(float)
    rows, cols = shape
    if on_image(wcs, shape, ra, dec).any():
        return None
    c_ra, c_dec = (float(v) for v in wcs.pixel_to_world_values((cols - 1) / 2, (rows - 1) / 2))
    # the mean direction of the regions (the mean of their unit vectors)
    mean = SkyCoord(ra, dec, unit="deg").cartesian.mean()
    centre = SkyCoord(mean, representation_type="cartesian").spherical
    r_ra, r_dec = float(centre.lon.deg) % 360.0, float(centre.lat.deg)
    apart = float(separation_arcsec(c_ra, c_dec, r_ra, r_dec)) / 60.0
    return (c_ra, c_dec), (r_ra, r_dec), apart
