"""Point-source detection on the background-subtracted image (DAOFIND or IRAF starfind)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u
from photutils.background import Background2D
from photutils.detection import DAOStarFinder, IRAFStarFinder
from photutils.utils.exceptions import NoDetectionsWarning

from xrbid.errors import InputError

from .background import estimate_background
from .images import HSTImage, as_image

__all__ = [
    "REGION_RADIUS_ARCSEC",
    "REGION_RADIUS_PIX",
    "detect_sources",
    "length_in_pixels",
    "write_detection_regions",
]

REGION_RADIUS_ARCSEC = 0.15
"""Radius of the circles of `write_detection_regions` on an image with a WCS (arcsec)."""
REGION_RADIUS_PIX = 3.0
"""Radius of the circles of `write_detection_regions` on a pixel-only image (pixels)."""

#: photutils defaults per finder, spelled out so the table documents what was used.
DEFAULT_SHARPNESS = {"dao": (0.2, 1.0), "iraf": (0.5, 2.0)}
DEFAULT_ROUNDNESS = {"dao": (-1.0, 1.0), "iraf": (0.0, 0.2)}

Progress = Callable[[int], None]


def length_in_pixels(length: float | u.Quantity, image: HSTImage, what: str = "fwhm") -> float:
    """A length on the image in pixels: floats are pixels, angles use the WCS pixel scale.

    Examples
    --------
    >>> length_in_pixels(0.2 * u.arcsec, load_image("a478hst-cutout.fits"))  # doctest: +SKIP
    2.0
    """
    if isinstance(length, u.Quantity):
        if length.unit.physical_type == "angle":
            scale = image.pixel_scale
            if scale is None:
                raise InputError(
                    f"{image.label} has no WCS, so an angular {what} cannot be turned into "
                    f"pixels; give the {what} in pixels"
                )
            value = float(length.to_value(u.arcsec) / scale)
        else:
            value = float(length.to_value(u.pix))
    else:
        value = float(length)
    if not value > 0:
        raise InputError(f"{what} must be positive, got {length}")
    return value


def _tiles(
    shape: tuple[int, int], size: int, margin: int
) -> Iterator[tuple[slice, slice, slice, slice]]:
    """(read_y, read_x, core_y, core_x) slices covering the image in tiles with margins."""
    ny, nx = shape
    for y0 in range(0, ny, size):
        for x0 in range(0, nx, size):
            y1, x1 = min(y0 + size, ny), min(x0 + size, nx)
            yield (
                slice(max(0, y0 - margin), min(ny, y1 + margin)),
                slice(max(0, x0 - margin), min(nx, x1 + margin)),
                slice(y0, y1),
                slice(x0, x1),
            )


def detect_sources(
    image: HSTImage | np.ndarray | str | os.PathLike,
    *,
    fwhm: float | u.Quantity,
    threshold_sigma: float = 3.0,
    finder: str = "dao",
    sharpness_range: tuple[float, float] | None = None,
    roundness_range: tuple[float, float] | None = None,
    mask: np.ndarray | None = None,
    box_size: int = 64,
    tile_size: int = 2048,
    background: Background2D | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Find point sources after subtracting a sigma-clipped 2-D background.

    The threshold is ``threshold_sigma`` times the local background RMS map. Pixel positions
    are 0-based (numpy/photutils: the centre of the first pixel is 0.0; DS9 and FITS call it
    1.0) and sky positions are computed from them with origin 0, so there is no 1-pixel shift.

    Parameters
    ----------
    image : HSTImage, numpy.ndarray or path
        The image (a path is read with `load_image`).
    fwhm : float or astropy.units.Quantity
        PSF FWHM in pixels, or as an angle (``0.1 * u.arcsec``) converted with the WCS.
    threshold_sigma : float
        Detection threshold in units of the background RMS.
    finder : {"dao", "iraf"}
        `photutils.detection.DAOStarFinder` or `~photutils.detection.IRAFStarFinder`.
    sharpness_range, roundness_range : (float, float), optional
        Inclusive bounds passed to the finder (defaults in ``DEFAULT_SHARPNESS`` /
        ``DEFAULT_ROUNDNESS``).
    mask : numpy.ndarray of bool, optional
        Pixels to ignore (NaN/inf are always ignored).
    box_size : int
        Background box size in pixels.
    tile_size : int
        Images larger than this are searched tile by tile (same result, progress reported).
    background : photutils.background.Background2D, optional
        A background already estimated on this image (`estimate_background`), to reuse.
    progress : callable, optional
        Called with the number of pixels rows-x-columns finished after each tile.

    Returns
    -------
    pandas.DataFrame
        One row per source: ``id``, ``x``, ``y`` (0-based pixels), ``ra``, ``dec`` (deg; NaN
        without WCS), ``sharpness``, roundness column(s), ``peak`` and ``finder_flux`` (background-
        subtracted, data units), ``background`` and ``background_rms`` at the source.
        ``df.attrs`` holds the parameters used.

    Examples
    --------
    >>> df = detect_sources("testdata/hst-wfpc2-hdfs/HST-HDFS.fits", fwhm=2.5)  # doctest: +SKIP
    >>> df[["x", "y", "ra", "dec"]].head()  # doctest: +SKIP
    """
    img = as_image(image)
    finder = finder.lower()
    if finder not in ("dao", "iraf"):
        raise InputError(f"finder must be 'dao' or 'iraf', got {finder!r}")
    fwhm_pix = length_in_pixels(fwhm, img)
    if not threshold_sigma > 0:
        raise InputError(f"threshold_sigma must be positive, got {threshold_sigma}")
    if not 2 * fwhm_pix <= min(img.shape):
        raise InputError(
            f"fwhm of {fwhm_pix:g} pix does not fit in the {img.shape[1]}x{img.shape[0]} pix "
            f"image {img.label} (at most {min(img.shape) / 2:g} pix); give the stars' FWHM, "
            "e.g. 2.5pix or 0.1arcsec"
        )
    sharp = DEFAULT_SHARPNESS[finder] if sharpness_range is None else tuple(sharpness_range)
    rnd = DEFAULT_ROUNDNESS[finder] if roundness_range is None else tuple(roundness_range)
    for what, (lo, hi) in (("sharpness", sharp), ("roundness", rnd)):
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InputError(
                f"{what} range must be two finite numbers LO < HI, got {lo:g} {hi:g}"
                + ("; swap them" if hi < lo else "")
            )

    bad = img.bad_pixels(mask)
    bkg = background or estimate_background(img.data, box_size=box_size, mask=bad)
    # Background2D interpolates its maps on every access: fetch each once.
    sky, rms = bkg.background, bkg.background_rms
    residual = img.data - sky
    residual[bad] = 0.0
    threshold = threshold_sigma * rms

    margin = int(np.ceil(3 * fwhm_pix)) + 4
    tables = []
    for ry, rx, cy, cx in _tiles(img.shape, tile_size, margin):
        kwargs: dict[str, Any] = {
            "threshold": threshold[ry, rx],
            "fwhm": fwhm_pix,
            "sharpness_range": sharp,
            "roundness_range": rnd,
        }
        cls = DAOStarFinder if finder == "dao" else IRAFStarFinder
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoDetectionsWarning)
            found = cls(**kwargs).find_stars(residual[ry, rx], mask=bad[ry, rx])
        if found is not None and len(found):
            t = found.to_pandas()
            t["x_centroid"] += rx.start
            t["y_centroid"] += ry.start
            keep = (
                (t["x_centroid"] >= cx.start - 0.5)
                & (t["x_centroid"] < cx.stop - 0.5)
                & (t["y_centroid"] >= cy.start - 0.5)
                & (t["y_centroid"] < cy.stop - 0.5)
            )
            tables.append(t[keep])
        if progress is not None:
            progress((cy.stop - cy.start) * (cx.stop - cx.start))

    columns = ["x_centroid", "y_centroid", "sharpness", "peak", "flux"]
    if tables:
        found_all = pd.concat(tables, ignore_index=True)
    else:
        found_all = pd.DataFrame(columns=[*columns, "roundness1", "roundness2", "roundness"])
    out = pd.DataFrame(
        {
            "id": np.arange(1, len(found_all) + 1),
            "x": found_all["x_centroid"].to_numpy(float),
            "y": found_all["y_centroid"].to_numpy(float),
        }
    )
    out["ra"], out["dec"] = img.pixel_to_sky(out["x"].to_numpy(), out["y"].to_numpy())
    out["sharpness"] = found_all["sharpness"].to_numpy(float)
    for name in ("roundness1", "roundness2", "roundness", "fwhm"):
        if name in found_all:
            out[name] = found_all[name].to_numpy(float)
    out["peak"] = found_all["peak"].to_numpy(float)
    out["finder_flux"] = found_all["flux"].to_numpy(float)
    ix = np.clip(np.rint(out["x"].to_numpy()).astype(int), 0, img.shape[1] - 1)
    iy = np.clip(np.rint(out["y"].to_numpy()).astype(int), 0, img.shape[0] - 1)
    out["background"] = sky[iy, ix]
    out["background_rms"] = rms[iy, ix]
    out.attrs.update(
        {
            "image": img.label,
            "finder": finder,
            "fwhm_pix": fwhm_pix,
            "threshold_sigma": threshold_sigma,
            "sharpness_range": list(sharp),
            "roundness_range": list(rnd),
            "background_median": float(bkg.background_median),
            "background_rms_median": float(bkg.background_rms_median),
            "pixel_origin": 0,
        }
    )
    return out


def write_detection_regions(
    sources: pd.DataFrame,
    image: HSTImage,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    color: str = "cyan",
) -> os.PathLike:
    """Write the detected sources as a DS9 region file, labelled with their ``id``.

    In fk5 at ``ra``/``dec`` with `REGION_RADIUS_ARCSEC` circles when the image has a WCS;
    otherwise in image pixels at ``x``/``y`` (0-based) with `REGION_RADIUS_PIX` circles.

    Parameters
    ----------
    sources : pandas.DataFrame
        Output of `detect_sources` (``id``, ``x``, ``y``, ``ra``, ``dec``).
    image : HSTImage
        The image they were found on.
    path : path-like
        Output ``.reg`` file.
    overwrite : bool
        Replace an existing file.
    color : str
        DS9 colour of the circles.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from xrbid.regions import write_regions

    if image.wcs is not None:
        return write_regions(
            sources,
            path,
            overwrite=overwrite,
            radius=REGION_RADIUS_ARCSEC,
            label_column="id",
            color=color,
        )
    return write_regions(
        sources,
        path,
        overwrite=overwrite,
        system="image",
        radius=REGION_RADIUS_PIX,
        label_column="id",
        color=color,
        pixel_origin=0,
    )
