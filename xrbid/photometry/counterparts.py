"""Photometry of counterpart candidates in several filters: one row per candidate."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u

from xrbid.errors import ColumnError, InputError

from .images import HSTImage, as_image
from .magnitudes import measure_magnitudes
from .reference_data import ab_minus_vega, camera_key
from .zeropoints import UnknownVegaFilterWarning

__all__ = ["check_filter", "color_columns", "photometer_counterparts"]

FLAGS = ("flag_saturated", "flag_edge", "flag_crowded", "flag_outside")


def _pivot(img: HSTImage) -> float:
    value = img.header.get("PHOTPLAM")
    return float(value) if isinstance(value, int | float) else float("inf")


def check_filter(name: str, image: HSTImage) -> None:
    """Refuse an image given under another filter's name than its header says.

    The header filter is read from ``FILTER``, ``FILTER1``/``FILTER2`` (ACS) or ``FILTNAM1``/
    ``FILTNAM2`` (WFPC2); an image whose header names no filter is accepted under any name.

    Raises
    ------
    InputError
        ``name`` is not the header's filter (nor one of a crossed pair's).
    """
    header = image.filter.strip().upper()
    if not header:
        return
    if name.strip().upper() not in {header, *header.split("+")}:
        raise InputError(
            f"{name}={image.label}: the image header says the filter is {header}, not "
            f"{name}; give it as {header.split('+')[0]}={_spec(image)}"
        )


def _spec(image: HSTImage) -> str:
    """The ``IMAGE[ext]`` / ``IMAGE[chip=N]`` argument that loads ``image`` again."""
    if image.ext == "primary":
        return image.path
    if image.ext.startswith("chip "):
        return f"{image.path}[chip={image.ext.split()[1]}]"
    return f"{image.path}[{image.ext}]"


def _vega_fallback(images: Mapping[str, HSTImage], explicit: set[str]) -> str:
    """``"vega"``, or ``"ab"`` with one warning when a filter has no known AB - Vega offset.

    Colours need one system for all filters, so one unknown offset moves every filter to AB.
    """
    unknown = [
        f"{camera_key(img.instrument, img.detector) or 'unknown camera'} {filt}"
        for filt, img in images.items()
        if filt not in explicit
        and ab_minus_vega(camera_key(img.instrument, img.detector), filt) is None
    ]
    if not unknown:
        return "vega"
    warnings.warn(
        f"no AB-Vega offset known for {', '.join(unknown)}: magnitudes of all filters are AB, "
        "not Vega (pass --system ab to say so, or --zeropoint FILTER=ZP)",
        UnknownVegaFilterWarning,
        stacklevel=3,
    )
    return "ab"


def color_columns(filters: list[str]) -> list[tuple[str, str]]:
    """Adjacent (blue, red) filter pairs in the order given (sorted by pivot wavelength)."""
    return list(itertools.pairwise(filters))


def photometer_counterparts(
    candidates: pd.DataFrame,
    images_by_filter: Mapping[str, HSTImage | str | os.PathLike],
    *,
    radius: float | u.Quantity = 3.0,
    annulus: tuple[float, float] | None = None,
    apcorr: str | float | Mapping[str, Any] | None = "auto",
    system: str = "vega",
    zeropoints: Mapping[str, float] | None = None,
    distance_modulus: float | None = None,
    fwhm: float | u.Quantity = 2.0,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Magnitudes of each counterpart candidate in each filter, with flags and colours.

    Parameters
    ----------
    candidates : pandas.DataFrame
        One row per candidate with ``ra``, ``dec`` (deg), e.g. the output of
        `xrbid.selection.find_counterparts` (its ``source_id`` is kept).
    images_by_filter : mapping
        Filter name -> image (path or `HSTImage`), e.g. ``{"F555W": "f555w.fits"}``.
    radius : float or Quantity
        Measurement aperture (pixels, or an angle).
    annulus : (float, float), optional
        Background annulus in pixels (see `measure_magnitudes`).
    apcorr : "auto", float, mapping or None
        Aperture correction for all filters, or per filter ``{"F555W": -0.3, ...}``.
    system : {"vega", "ab", "st"}
        Magnitude system of the ``<filter>_mag`` columns (``"user"`` with ``zeropoints``).
        ``"vega"`` becomes ``"ab"`` for all filters, with one `UnknownVegaFilterWarning`, when
        a filter has no tabulated AB - Vega offset (``attrs["photometry"][f]["system"]``
        records the system used).
    zeropoints : mapping, optional
        Explicit zero points per filter (used instead of the header/table ones).
    distance_modulus : float, optional
        When given, ``<filter>_abs_mag = <filter>_mag - distance_modulus`` is added.
    fwhm : float or Quantity
        FWHM for detecting aperture-correction stars (``apcorr="auto"``).
    progress : callable, optional
        Called with 1 after each filter.

    Returns
    -------
    pandas.DataFrame
        The candidate columns plus, per filter (lower case, e.g. ``f555w``): ``<f>_x``,
        ``<f>_y`` (0-based pixels), ``<f>_flux`` (count rate), ``<f>_mag``, ``<f>_mag_err``,
        ``<f>_flag_saturated``, ``<f>_flag_edge``, ``<f>_flag_crowded``, ``<f>_flag_outside``;
        colours ``<f1>_<f2>`` and ``<f1>_<f2>_err`` of adjacent filters ordered by pivot
        wavelength (blue minus red); ``<f>_abs_mag`` with a distance modulus. ``attrs`` hold
        the zero points and aperture corrections used per filter.

    Examples
    --------
    >>> phot = photometer_counterparts(cands, {"F606W": "f606w.fits", "F814W": "f814w.fits"},
    ...                                radius=0.15 * u.arcsec)  # doctest: +SKIP
    >>> phot[["source_id", "f606w_mag", "f606w_f814w"]]  # doctest: +SKIP
    """
    missing = [c for c in ("ra", "dec") if c not in candidates.columns]
    if missing:
        raise ColumnError(
            f"candidates table lacks {', '.join(missing)}: it needs the optical ra, dec (deg) "
            "of each candidate (run `xrbid counterparts` first)"
        )
    if not images_by_filter:
        raise InputError("no images given: pass at least one FILTER=IMAGE")
    system = system.lower()
    images = {str(f).upper(): as_image(img) for f, img in images_by_filter.items()}
    for filt, img in images.items():
        check_filter(filt, img)
    order = sorted(images, key=lambda f: _pivot(images[f]))
    if system == "vega":
        given = {str(f).upper() for f in (zeropoints or {})}
        system = _vega_fallback(images, given)
    out = candidates.reset_index(drop=True).copy()
    positions = out[["ra", "dec"]]
    info: dict[str, Any] = {}
    for filt in order:
        img = images[filt]
        key = filt.lower()
        apc = apcorr.get(filt, apcorr.get(key, "auto")) if isinstance(apcorr, Mapping) else apcorr
        zp = None if zeropoints is None else zeropoints.get(filt, zeropoints.get(key))
        with warnings.catch_warnings():
            # said once above, for all filters
            warnings.simplefilter("ignore", UnknownVegaFilterWarning)
            m = measure_magnitudes(
                img,
                positions,
                radius=radius,
                annulus=annulus,
                apcorr=apc,
                zeropoint=zp,
                fwhm=fwhm,
                use_sky=True,
            )
        mag_col = "mag" if zp is not None else f"mag_{system}"
        if mag_col not in m:
            raise InputError(f"unknown magnitude system {system!r}; use vega, ab or st")
        out[f"{key}_x"] = m["x"].to_numpy(float)
        out[f"{key}_y"] = m["y"].to_numpy(float)
        out[f"{key}_flux"] = m["rate"].to_numpy(float)
        out[f"{key}_flux_err"] = m["rate_err"].to_numpy(float)
        out[f"{key}_mag"] = m[mag_col].to_numpy(float)
        out[f"{key}_mag_err"] = m["mag_err"].to_numpy(float)
        for flag in FLAGS:
            out[f"{key}_{flag}"] = m[flag].to_numpy(bool)
        if distance_modulus is not None:
            out[f"{key}_abs_mag"] = out[f"{key}_mag"] - float(distance_modulus)
        # the system travels with the table in every file format (df.attrs do not)
        out[f"{key}_mag_system"] = "user" if zp is not None else system
        info[filt] = {
            "image": img.label,
            "system": "user" if zp is not None else system,
            **{k: m.attrs[k] for k in ("zeropoints", "apcorr", "radius_pix", "annulus_pix")},
        }
        if progress is not None:
            progress(1)
    for blue, red in color_columns([f.lower() for f in order]):
        out[f"{blue}_{red}"] = out[f"{blue}_mag"] - out[f"{red}_mag"]
        out[f"{blue}_{red}_err"] = np.hypot(out[f"{blue}_mag_err"], out[f"{red}_mag_err"])
    out.attrs["photometry"] = info
    out.attrs["filters"] = order
    return out
