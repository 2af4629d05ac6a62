"""Sigma-clipped 2-D background and background RMS (photutils ``Background2D``)."""

from __future__ import annotations

import warnings

import numpy as np
from astropy.stats import SigmaClip
from photutils.background import Background2D, MedianBackground, StdBackgroundRMS

from xrbid.errors import InputError

__all__ = ["bad_pixel_mask", "estimate_background"]


def bad_pixel_mask(data: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """True where a pixel is NaN/inf or masked by the user."""
    bad = ~np.isfinite(data)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != data.shape:
            raise InputError(f"mask shape {mask.shape} differs from image shape {data.shape}")
        bad |= mask
    return bad


def estimate_background(
    data: np.ndarray,
    *,
    box_size: int = 64,
    filter_size: int = 3,
    sigma: float = 3.0,
    mask: np.ndarray | None = None,
) -> Background2D:
    """Estimate the sky and its RMS on a grid of boxes, sigma-clipped, median-filtered.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image. NaN/inf pixels are masked automatically.
    box_size : int
        Box size in pixels (shrunk to a quarter of the smaller image side for small images).
    filter_size : int
        Median filter size applied to the grid of box values.
    sigma : float
        Sigma-clipping threshold for the box statistics.
    mask : numpy.ndarray of bool, optional
        Pixels to ignore (True = ignore).

    Returns
    -------
    photutils.background.Background2D
        ``.background`` and ``.background_rms`` are full-size maps.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> bkg = estimate_background(rng.normal(10.0, 2.0, (128, 128)), box_size=32)
    >>> round(float(bkg.background_median), 0), round(float(bkg.background_rms_median), 0)
    (10.0, 2.0)
    """
    bad = bad_pixel_mask(data, mask)
    if bad.all():
        raise InputError("the image has no finite, unmasked pixels; nothing to measure")
    box = int(max(8, min(box_size, min(data.shape) // 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return Background2D(
            data,
            box,
            mask=bad,
            filter_size=(filter_size, filter_size),
            sigma_clip=SigmaClip(sigma=sigma, maxiters=10),
            bkg_estimator=MedianBackground(),
            bkg_rms_estimator=StdBackgroundRMS(),
            exclude_percentile=50.0,
        )
