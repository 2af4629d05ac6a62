"""Image stamps for finder charts: pixels around a position, one band or an RGB of several.

Every band is resampled onto the pixel grid of the first (reference) image, so the stamp's
pixel coordinates are the reference image's 0-based pixels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xrbid.errors import InputError
from xrbid.photometry.images import HSTImage, as_image

__all__ = ["Stamp", "make_stamp"]


@dataclass(frozen=True)
class Stamp:
    """Pixels around one position, on the pixel grid of a reference image.

    Attributes
    ----------
    data : numpy.ndarray
        ``(ny, nx)`` single band or ``(ny, nx, 3)`` RGB (0-1) pixels; NaN/black off the image.
    x0, y0 : int
        0-based reference-image pixel of ``data[0, 0]``.
    image : HSTImage
        The reference image (its WCS maps sky to the stamp's pixel coordinates).
    bands : tuple of str
        The filters, blue to red for RGB (drawn as B, G, R).
    """

    data: np.ndarray
    x0: int
    y0: int
    image: HSTImage
    bands: tuple[str, ...]

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``imshow`` extent in reference pixels (pixel centres at integers)."""
        ny, nx = self.data.shape[:2]
        return (self.x0 - 0.5, self.x0 + nx - 0.5, self.y0 - 0.5, self.y0 + ny - 0.5)


def _pivot(img: HSTImage) -> float:
    value = img.header.get("PHOTPLAM")
    return float(value) if isinstance(value, int | float) else math.nan


def _as_images(images: Any) -> dict[str, HSTImage]:
    if isinstance(images, Mapping):
        out = {str(k).upper(): as_image(v) for k, v in images.items()}
    elif isinstance(images, HSTImage | str | os.PathLike):
        img = as_image(images)
        out = {img.filter or "image": img}
    else:
        out = {}
        for v in images:
            img = as_image(v)
            out[img.filter or f"image {len(out) + 1}"] = img
    if len(out) not in (1, 3):
        raise InputError(
            f"a finder chart needs one image (grey scale) or three (colour), not {len(out)}"
        )
    for name, img in out.items():
        if img.wcs is None:
            raise InputError(
                f"{img.label} ({name}) has no celestial WCS: a finder chart places sources by "
                "RA/Dec; use an image with a WCS (e.g. a drizzled _drz/_drc file)"
            )
    if len(out) == 3:
        pivots = [_pivot(img) for img in out.values()]
        if all(np.isfinite(pivots)):  # blue to red; otherwise as given
            out = dict(sorted(out.items(), key=lambda kv: _pivot(kv[1])))
    return out


def _same_grid(a: HSTImage, b: HSTImage) -> bool:
    return a.shape == b.shape and a.wcs.wcs.compare(b.wcs.wcs) and a.wcs.sip is None is b.wcs.sip


def _resample(
    ref: HSTImage, other: HSTImage, x0: int, y0: int, shape: tuple[int, int]
) -> np.ndarray:
    """``other``'s pixels on ``ref``'s grid (bilinear), NaN outside ``other``."""
    from scipy.ndimage import map_coordinates

    yy, xx = np.mgrid[y0 : y0 + shape[0], x0 : x0 + shape[1]]
    ra, dec = ref.pixel_to_sky(xx.ravel(), yy.ravel())
    ox, oy = other.sky_to_pixel(ra, dec)
    values = map_coordinates(other.data, [oy, ox], order=1, mode="constant", cval=np.nan)
    return values.reshape(shape)


def _extract(data: np.ndarray, x0: int, y0: int, shape: tuple[int, int]) -> np.ndarray:
    out = np.full(shape, np.nan)
    ny, nx = data.shape
    xs, ys = max(x0, 0), max(y0, 0)
    xe, ye = min(x0 + shape[1], nx), min(y0 + shape[0], ny)
    if xe > xs and ye > ys:
        out[ys - y0 : ye - y0, xs - x0 : xe - x0] = data[ys:ye, xs:xe]
    return out


def _scaled(band: np.ndarray) -> np.ndarray:
    """Background to 0 and a bright level to 1, robustly (sigma-clipped median, 99.5th pct)."""
    from astropy.stats import sigma_clipped_stats

    finite = band[np.isfinite(band)]
    if finite.size == 0:
        return np.zeros_like(band)
    _, median, _ = sigma_clipped_stats(finite, sigma=3.0, maxiters=5)
    top = np.percentile(finite, 99.5) - median
    return np.nan_to_num((band - median) / (top if top > 0 else 1.0), nan=0.0)


def make_stamp(
    images: Mapping[str, HSTImage | str | os.PathLike] | HSTImage | str | os.PathLike,
    ra: float,
    dec: float,
    size: float,
) -> Stamp:
    """Cut a square stamp of side ``size`` arcsec centred on (``ra``, ``dec``).

    Parameters
    ----------
    images : mapping of str to image, or one image
        One image (grey scale) or three (RGB, made with
        `astropy.visualization.make_lupton_rgb`; Lupton et al. 2004, PASP 116, 133). Images
        are paths or `~xrbid.photometry.HSTImage`; they need a celestial WCS. Three images
        are ordered blue to red by their pivot wavelength (``PHOTPLAM``) when all headers
        give one, else taken blue, green, red as given.
    ra, dec : float
        Centre (deg).
    size : float
        Side of the stamp (arcsec).

    Returns
    -------
    Stamp
        On the pixel grid of the bluest image (the first given); the others are resampled
        onto it (bilinear) unless they share its grid.

    Raises
    ------
    InputError
        If an image has no WCS, the number of images is not 1 or 3, or the position is not
        on the first image.
    """
    imgs = _as_images(images)
    bands = tuple(imgs)
    ref = imgs[bands[0]]
    x, y = ref.sky_to_pixel(np.array([ra]), np.array([dec]))
    half = max(math.ceil(0.5 * size / ref.pixel_scale), 2)
    xc, yc = int(np.rint(x[0])), int(np.rint(y[0]))
    ny, nx = ref.shape
    if not (np.isfinite(x[0]) and -0.5 <= x[0] < nx - 0.5 and -0.5 <= y[0] < ny - 0.5):
        raise InputError(
            f"RA {ra:.6f}, Dec {dec:+.6f} is not on {ref.label}; give an image that covers it"
        )
    x0, y0, shape = xc - half, yc - half, (2 * half + 1, 2 * half + 1)
    planes = []
    for name in bands:
        img = imgs[name]
        if img is ref or _same_grid(ref, img):
            planes.append(_extract(img.data, x0, y0, shape))
        else:
            planes.append(_resample(ref, img, x0, y0, shape))
    if len(planes) == 1:
        data = planes[0]
    else:
        from astropy.visualization import make_lupton_rgb

        b, g, r = (_scaled(p) for p in planes)
        with np.errstate(invalid="ignore", divide="ignore"):  # black (0/0) where all are 0
            data = make_lupton_rgb(r, g, b, minimum=0.0, stretch=0.5, Q=8) / 255.0
    return Stamp(data=data, x0=x0, y0=y0, image=ref, bands=bands)
