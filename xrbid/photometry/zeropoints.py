"""Photometric zero points: ST and AB from PHOTFLAM/PHOTPLAM, Vega from AB and a per-filter offset.

The image's own PHOTFLAM/PHOTPLAM follow the calibration of its observation date, so ST and AB
are right for data of any epoch; Vega is ``ZP_AB - (m_AB - m_Vega)`` with the offset of the
filter from ``xrbid/data/hst_ab_minus_vega.csv``
(see `xrbid.photometry.reference_data.ab_minus_vega`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from astropy.io import fits

from xrbid.errors import CalibrationError, XrbidWarning

from .images import HSTImage
from .reference_data import ab_minus_vega, camera_key

__all__ = [
    "UnknownVegaFilterWarning",
    "ZeroPoints",
    "ab_zeropoint",
    "image_zeropoints",
    "magnitude",
    "magnitude_error",
    "st_zeropoint",
    "vega_zeropoint",
]

ST_OFFSET = 21.10  # STmag = -2.5 log10(F_lambda) - 21.10 (F_lambda in erg s-1 cm-2 A-1)
AB_PIVOT_TERM = 18.692  # ABmag = STmag - 5 log10(pivot / A) + 18.692


class UnknownVegaFilterWarning(XrbidWarning):
    """No AB - Vega offset is known for this camera/filter, so its Vega zero point is NaN."""


def st_zeropoint(photflam: float) -> float:
    """ST zero point: ``-2.5 log10(PHOTFLAM) - 21.10``.

    Examples
    --------
    >>> round(st_zeropoint(2.507987e-18), 4)
    22.9017
    """
    if not photflam > 0:
        raise CalibrationError(f"PHOTFLAM must be positive, got {photflam}")
    return -2.5 * math.log10(photflam) - ST_OFFSET


def ab_zeropoint(photflam: float, photplam: float) -> float:
    """AB zero point: ``ZP_ST - 5 log10(PHOTPLAM) + 18.692``.

    Examples
    --------
    >>> round(ab_zeropoint(2.507987e-18, 7995.937), 4)
    22.0793
    """
    if not photplam > 0:
        raise CalibrationError(f"PHOTPLAM must be positive, got {photplam}")
    return st_zeropoint(photflam) - 5.0 * math.log10(photplam) + AB_PIVOT_TERM


def vega_zeropoint(
    ab: float, instrument: str, detector: str, filter_name: str, *, warn: bool = True
) -> float:
    """Vega zero point ``ab - (m_AB - m_Vega)``; NaN (with a warning) when no offset is known.

    Parameters
    ----------
    ab : float
        The image's AB zero point (mag), from its PHOTFLAM/PHOTPLAM (`ab_zeropoint`).
    instrument, detector, filter_name : str
        Header values (INSTRUME, DETECTOR, filter), e.g. ``"ACS"``, ``"WFC"``, ``"F606W"``.
    warn : bool
        Issue `UnknownVegaFilterWarning` when the filter has no tabulated offset.

    Returns
    -------
    float
        The Vega zero point (mag), NaN when the offset is not tabulated.

    Examples
    --------
    >>> round(vega_zeropoint(26.486, "ACS", "WFC", "F606W"), 3)
    26.406
    """
    camera = camera_key(instrument, detector)
    filt = filter_name.strip().upper()
    offset = ab_minus_vega(camera, filt)
    if offset is None:
        if warn:
            warnings.warn(
                f"no AB-Vega offset known for {camera or 'unknown camera'} "
                f"{filt or 'unknown filter'} (the table covers ACS/WFC, WFC3/UVIS and WFPC2 "
                "broad bands); its Vega zero point is undefined: use AB or ST, or pass "
                "zeropoint= (--zeropoint)",
                UnknownVegaFilterWarning,
                stacklevel=2,
            )
        return math.nan
    return float(ab) - offset


@dataclass(frozen=True)
class ZeroPoints:
    """Zero points of one image (magnitude of a source giving 1 count per second).

    ``user`` is an explicit override (NaN when not given); ``photflam``/``photplam`` are the
    header values used.
    """

    st: float
    ab: float
    vega: float
    user: float = math.nan
    photflam: float = math.nan
    photplam: float = math.nan

    def to_dict(self) -> dict[str, float]:
        """Plain dict (for JSON summaries)."""
        return asdict(self)

    def for_system(self, system: str) -> float:
        """The zero point of ``system`` (``vega``, ``ab``, ``st`` or ``user``)."""
        try:
            return float(getattr(self, system.lower()))
        except AttributeError as exc:
            raise CalibrationError(
                f"unknown magnitude system {system!r}; use vega, ab, st or user"
            ) from exc


def _header_value(header: fits.Header, key: str, label: str) -> float:
    what = "ST/AB" if key == "PHOTFLAM" else "AB"
    if key not in header:
        raise CalibrationError(
            f"{label}: header keyword {key} is missing, so {what} zero points cannot be "
            "computed; pass zeropoint=... (--zeropoint) instead"
        )
    value = header[key]
    if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise CalibrationError(
            f"{label}: header keyword {key} = {value!r} is not a positive number"
        )
    return float(value)


def image_zeropoints(image: HSTImage, *, zeropoint: float | None = None) -> ZeroPoints:
    """ST, AB and Vega zero points of ``image`` from its header and the AB - Vega offsets.

    Parameters
    ----------
    image : HSTImage
        The image (its merged header carries PHOTFLAM/PHOTPLAM).
    zeropoint : float, optional
        An explicit zero point. When given, missing PHOTFLAM/PHOTPLAM are not an error
        (ST/AB are then NaN).

    Returns
    -------
    ZeroPoints

    Raises
    ------
    CalibrationError
        PHOTFLAM or PHOTPLAM missing (and no explicit ``zeropoint``).

    Examples
    --------
    >>> zp = image_zeropoints(load_image("a478hst-cutout.fits"))  # doctest: +SKIP
    >>> round(zp.st, 3), round(zp.ab, 3)  # doctest: +SKIP
    (22.902, 22.079)
    """
    user = math.nan if zeropoint is None else float(zeropoint)
    try:
        photflam = _header_value(image.header, "PHOTFLAM", image.label)
        photplam = _header_value(image.header, "PHOTPLAM", image.label)
    except CalibrationError:
        if zeropoint is None:
            raise
        return ZeroPoints(math.nan, math.nan, math.nan, user)
    ab = ab_zeropoint(photflam, photplam)
    vega = vega_zeropoint(
        ab, image.instrument, image.detector, image.filter, warn=zeropoint is None
    )
    return ZeroPoints(
        st=st_zeropoint(photflam),
        ab=ab,
        vega=vega,
        user=user,
        photflam=photflam,
        photplam=photplam,
    )


def magnitude(rate: np.ndarray, zeropoint: float) -> np.ndarray:
    """``-2.5 log10(rate) + zeropoint``; NaN for non-positive rates."""
    rate = np.asarray(rate, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            rate > 0, -2.5 * np.log10(np.where(rate > 0, rate, 1.0)) + zeropoint, np.nan
        )


def magnitude_error(flux: np.ndarray, flux_err: np.ndarray) -> np.ndarray:
    """``(2.5 / ln 10) * flux_err / flux``; NaN for non-positive fluxes."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, 2.5 / np.log(10.0) * np.asarray(flux_err, float) / flux, np.nan)
