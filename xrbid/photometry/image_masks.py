"""Which pixels of an image to ignore: outside the drizzled footprint, or in a user mask."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from astropy.io import fits

from xrbid.errors import InputError

if TYPE_CHECKING:
    from .images import HSTImage

__all__ = ["footprint_mask", "read_mask"]


def footprint_mask(data: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Pixels outside the exposed footprint of a drizzled image (True = no data).

    Drizzled HST products fill pixels that no exposure covered with exactly 0 (and give them
    weight 0 in the ``WHT`` extension); some tools write NaN. Here a pixel is outside when its
    weight is 0 (weight map given), or when it is exactly 0 or NaN and connected to the image
    border through such pixels. An isolated zero inside the footprint is data, not a hole.

    Parameters
    ----------
    data : numpy.ndarray, shape (ny, nx)
        The science pixels.
    weight : numpy.ndarray, shape (ny, nx), optional
        The drizzle weight map.

    Returns
    -------
    numpy.ndarray of bool, shape (ny, nx)
    """
    from scipy import ndimage

    empty = (data == 0) | np.isnan(data)
    outside = np.zeros(data.shape, dtype=bool)
    if weight is not None:
        outside |= ~(np.asarray(weight) > 0)
    if empty.any():
        labels, n = ndimage.label(empty)
        if n:
            border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
            border = border[border > 0]
            if border.size:
                outside |= np.isin(labels, border)
    return outside


def _weight_map(hdul: fits.HDUList, index: int) -> np.ndarray | None:
    """The ``WHT`` (or ``WEIGHT``) extension of the same version as the science extension."""
    hdu = hdul[index]
    version = hdu.ver if hdu.name in ("SCI", "") else None
    for other in hdul:
        if other.name in ("WHT", "WEIGHT") and (version is None or other.ver == version):
            if other.data is not None and other.data.shape == hdu.data.shape:
                return np.asarray(other.data)
    return None


def read_mask(path: str | os.PathLike, image: HSTImage) -> np.ndarray:
    """A user mask for ``image`` (True = ignore) from a FITS image or a DS9 region file.

    A FITS mask has the image's shape; every non-zero pixel is masked. A region file masks
    the pixels whose centres lie inside its regions, in file order: an exclude region
    (``-circle(...)``) takes its pixels out again. Sky regions are placed with the image WCS.

    Raises
    ------
    InputError
        Unreadable file, shape mismatch, sky regions on an image without WCS.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"mask {path}: no such file; check the path")
    if path.suffix.lower() == ".reg":
        return _region_mask(path, image)
    try:
        with fits.open(path, memmap=False) as hdul:
            data = next(
                (h.data for h in hdul if h.is_image and h.data is not None and h.data.ndim == 2),
                None,
            )
    except OSError as exc:
        raise InputError(f"mask {path}: not a FITS image or a .reg region file ({exc})") from exc
    if data is None:
        raise InputError(f"mask {path}: no 2-D image in the file")
    if data.shape != image.shape:
        raise InputError(
            f"mask {path} is {data.shape[1]}x{data.shape[0]} pixels but {image.label} is "
            f"{image.shape[1]}x{image.shape[0]}; make the mask on the same pixel grid"
        )
    return np.asarray(data != 0) | ~np.isfinite(data)


def _region_mask(path: Path, image: HSTImage) -> np.ndarray:
    from regions import PixelRegion, Regions

    try:
        found = Regions.read(str(path), format="ds9")
    except Exception as exc:  # regions raises several types for a malformed file
        raise InputError(f"mask {path}: not a readable DS9 region file ({exc})") from exc
    mask = np.zeros(image.shape, dtype=bool)
    for region in found:
        include = region.meta.get("include", True) not in (False, 0, "0")
        if not isinstance(region, PixelRegion):
            if image.wcs is None:
                raise InputError(
                    f"mask {path} has sky regions but {image.label} has no WCS; use image "
                    "coordinates"
                )
            region = region.to_pixel(image.wcs)
        inside = region.to_mask(mode="center").to_image(image.shape, dtype=bool).astype(bool)
        if include:
            mask |= inside
        else:  # an exclude region (``-circle``) takes its pixels out of the mask again
            mask &= ~inside
    return mask
